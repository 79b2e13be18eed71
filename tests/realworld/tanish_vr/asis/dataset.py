"""Exercise "dataset", ported from Tanish-pat/vr_project (finetuning/Updated_Finetuning_with_LORA.py), as written.

The source keeps every knob in a Config class, seeds everything once at import, logs with log_info,
wraps each file/sample in try/except, augments training images with a random horizontal flip and pads
questions per batch in its own collate_fn (the processor call itself does not pad the question).
"""

from __future__ import annotations

import functools
import json
import os
import random

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm


# Configuration
class Config:
    # Data preprocessing
    IMAGE_SIZE = 384
    MAX_LENGTH = 32

    # Loader
    NUM_WORKERS = 2
    PREFETCH_FACTOR = 2

    # Reproducibility
    SEED = 42


config = Config()


def set_seed(seed):
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    np.random.seed(seed)
    random.seed(seed)
    if torch.cuda.is_available():
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


set_seed(config.SEED)


def log_info(message):
    """Log information to console"""
    print(f"[INFO] {message}")


class VQADataset(Dataset):
    """Icon VQA samples: a question and its image in, the answer's token ids out (labels)."""

    def __init__(self, records, processor, image_dir, question_max_length=32, answer_max_length=8,
                 image_size=config.IMAGE_SIZE, is_training=True):
        self.processor = processor
        self.image_dir = image_dir
        self.max_length = answer_max_length
        self.image_size = image_size
        self.is_training = is_training
        self.samples = []
        self.unique_image_paths = set()  # Track unique images for counting

        for rec in records:
            try:
                # Validate required keys
                if not isinstance(rec, dict) or "question" not in rec or "answer" not in rec or "pid" not in rec:
                    raise ValueError(f"Malformed QA entry: {rec}")

                image_path = os.path.join(self.image_dir, str(rec["pid"]), "image.png")
                self.unique_image_paths.add(image_path)
                self.samples.append((image_path, rec["question"], rec["answer"]))
            except Exception as e:
                log_info(f"Error loading record: {e}")

        self.num_unique_images = len(self.unique_image_paths)
        log_info(f"Loaded {len(self.samples)} QA pairs from {self.num_unique_images} unique images")

    def __len__(self):
        return len(self.samples)

    def preprocess_image(self, image_path):
        image = Image.open(image_path).convert("RGB")

        if self.is_training:
            # Simple data augmentation for training
            if random.random() > 0.5:
                image = image.transpose(Image.FLIP_LEFT_RIGHT)

        return image

    def __getitem__(self, idx):
        img_path, question, answer = self.samples[idx]
        try:
            # Process image
            image = self.preprocess_image(img_path)

            # Process question with processor
            encoded_question = self.processor(
                text=question,
                images=image,
                return_tensors="pt"
            )

            # Process answer with consistent padding
            encoded_answer = self.processor.tokenizer(
                answer,
                padding="max_length",
                max_length=self.max_length,
                truncation=True,
                return_tensors="pt"
            )

            # Flatten batch dimension
            inputs = {
                "input_ids": encoded_question.input_ids.squeeze(),
                "attention_mask": encoded_question.attention_mask.squeeze(),
                "pixel_values": encoded_question.pixel_values.squeeze(),
                "labels": encoded_answer.input_ids.squeeze()
            }

            return inputs

        except Exception as e:
            print(f"Error processing sample {idx}: {str(e)}")
            return self._get_dummy_sample()

    def _get_dummy_sample(self):
        dummy = {}
        dummy["input_ids"] = torch.zeros(1, dtype=torch.long)
        dummy["attention_mask"] = torch.zeros(1, dtype=torch.long)
        dummy["pixel_values"] = torch.zeros((3, self.image_size, self.image_size), dtype=torch.float)
        dummy["labels"] = torch.zeros(1, dtype=torch.long)
        return dummy


def load_splits(data_dir, valid_fraction=0.1, seed=42):
    """Read data_dir/train.jsonl and split it into (train, valid) lists of records."""
    json_fp = os.path.join(data_dir, "train.jsonl")
    log_info(f"Loading samples from {json_fp}...")
    records = []

    # Skip empty files
    if os.path.getsize(json_fp) == 0:
        log_info(f"Skipping empty file {json_fp}")
        return [], []

    with open(json_fp, "r") as f:
        for line_no, line in enumerate(tqdm(f, desc="Loading dataset"), start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)

                # Validate required keys
                if not isinstance(rec, dict) or "question" not in rec or "answer" not in rec:
                    raise ValueError(f"Missing 'question' or 'answer' keys")

                records.append(rec)
            except json.JSONDecodeError as jde:
                log_info(f"JSON decode error in {json_fp}:{line_no}: {jde}")
            except Exception as e:
                log_info(f"Error loading {json_fp}:{line_no}: {e}")

    # Shuffle (seeded once by set_seed at the top) and hold out a validation part
    random.shuffle(records)
    num_val = int(len(records) * valid_fraction)
    val_records = records[:num_val]
    train_records = records[num_val:]

    log_info(f"Training dataset: {len(train_records)} samples")
    log_info(f"Validation dataset: {len(val_records)} samples")
    return train_records, val_records


def collate_fn(batch, pad_token_id=0):
    valid_batch = [item for item in batch if item["input_ids"].numel() > 0 and item["pixel_values"].shape[0] == 3]

    if not valid_batch:
        return dummy_batch()

    # Stack pixel values
    pixel_values = torch.stack([item["pixel_values"] for item in valid_batch])

    # Determine max lengths
    max_q_len = max([item["input_ids"].shape[0] for item in valid_batch])
    max_a_len = max([item["labels"].shape[0] for item in valid_batch])

    batch_size = len(valid_batch)

    # Initialize tensors
    input_ids = torch.full((batch_size, max_q_len), pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((batch_size, max_q_len), dtype=torch.long)
    labels = torch.full((batch_size, max_a_len), pad_token_id, dtype=torch.long)

    # Fill tensors
    for i, item in enumerate(valid_batch):
        q_len = item["input_ids"].shape[0]
        input_ids[i, :q_len] = item["input_ids"]
        attention_mask[i, :q_len] = item["attention_mask"]

        a_len = item["labels"].shape[0]
        labels[i, :a_len] = item["labels"]

    # Create batch
    batch_dict = {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "pixel_values": pixel_values,
        "labels": labels
    }

    return batch_dict


def dummy_batch():
    # Create a minimal dummy batch when collation fails
    batch_dict = {
        "input_ids": torch.zeros((1, 1), dtype=torch.long),
        "attention_mask": torch.zeros((1, 1), dtype=torch.long),
        "pixel_values": torch.zeros((1, 3, config.IMAGE_SIZE, config.IMAGE_SIZE), dtype=torch.float),
        "labels": torch.zeros((1, 1), dtype=torch.long)
    }
    return batch_dict


def _pad_token_id(dataset):
    try:
        return dataset.processor.tokenizer.pad_token_id
    except AttributeError:
        return 0


def build_dataloaders(train_dataset, valid_dataset, batch_size=8, num_workers=0, seed=0):
    """Return (train_loader, valid_loader)."""
    collate = functools.partial(collate_fn, pad_token_id=_pad_token_id(train_dataset))

    train_loader = DataLoader(
        train_dataset,
        batch_size=batch_size,
        shuffle=True,
        num_workers=num_workers,
        pin_memory=True,
        prefetch_factor=config.PREFETCH_FACTOR if num_workers > 0 else None,
        persistent_workers=True if num_workers > 0 else False,
        collate_fn=collate,
        drop_last=True
    )
    val_loader = DataLoader(
        valid_dataset,
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        pin_memory=True,
        collate_fn=collate
    )
    return train_loader, val_loader
