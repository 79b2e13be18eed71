"""Exercise "dataset" (seed 2.1, 2.3) - Hugging Face datasets version."""

from __future__ import annotations

import json
import os
import random

import torch
from datasets import load_dataset
from PIL import Image


class VQADataset(torch.utils.data.Dataset):
    """Icon VQA samples: a question and its image in, the answer's token ids out (labels)."""

    def __init__(self, records, processor, image_dir, question_max_length=32, answer_max_length=8):
        self.records = records
        self.processor = processor
        self.image_dir = os.fspath(image_dir)
        self.question_max_length = question_max_length
        self.answer_max_length = answer_max_length
        # index the image folders once (pid -> folder path)
        self.folders = {}
        if os.path.isdir(self.image_dir):
            with os.scandir(self.image_dir) as entries:
                for entry in entries:
                    if entry.is_dir():
                        self.folders[entry.name] = entry.path

    def __len__(self):
        return len(self.records)

    def __getitem__(self, idx):
        record = self.records[idx]
        pid = str(record["pid"])
        folder = self.folders.get(pid, f"{self.image_dir}/{pid}")
        with Image.open(f"{folder}/image.png") as im:
            image = im.convert("RGB")

        inputs = self.processor(
            images=image,
            text=record["question"],
            padding="max_length",
            truncation=True,
            max_length=self.question_max_length,
            return_tensors="pt",
        )
        labels = self.processor.tokenizer(
            record["answer"],
            padding="max_length",
            truncation=True,
            max_length=self.answer_max_length,
            return_tensors="pt",
        )["input_ids"]

        sample = {key: value.squeeze(0) for key, value in inputs.items()}
        sample["labels"] = labels.squeeze(0)
        return sample


def load_splits(data_dir, valid_fraction=0.1, seed=42):
    """Read data_dir/train.jsonl and split it into (train, valid) lists of records."""
    ds = load_dataset("json", data_files=f"{data_dir}/train.jsonl", split="train")
    records = [dict(row) for row in ds]

    n = len(records)
    n_valid = max(1, round(n * valid_fraction))
    rng = random.Random(seed)
    valid_ids = set(rng.sample(range(n), n_valid))

    train = [rec for i, rec in enumerate(records) if i not in valid_ids]
    valid = [rec for i, rec in enumerate(records) if i in valid_ids]
    return train, valid


def build_dataloaders(train_dataset, valid_dataset, batch_size=8, num_workers=0, seed=0):
    """Return (train_loader, valid_loader)."""
    if len(train_dataset) > 0:
        peek = int(torch.randint(len(train_dataset), (1,)))
        print(f"{len(train_dataset)} train / {len(valid_dataset)} valid samples (random peek index {peek})")
    gen = torch.Generator()
    gen.manual_seed(seed)
    train_loader = torch.utils.data.DataLoader(train_dataset, batch_size=batch_size, shuffle=True,
                                               generator=gen, num_workers=num_workers)
    valid_loader = torch.utils.data.DataLoader(valid_dataset, batch_size=batch_size, shuffle=False,
                                               num_workers=num_workers)
    return train_loader, valid_loader
