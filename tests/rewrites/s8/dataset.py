"""Exercise "dataset" (seed 2.1 and 2.3)."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import torch
from PIL import Image


class VQADataset(torch.utils.data.Dataset):
    """Icon VQA samples: a question and its image in, the answer's token ids out (labels)."""

    def __init__(self, records, processor, image_dir, question_max_length=32, answer_max_length=8):
        self.records = records
        self.processor = processor
        self.image_dir = image_dir
        self.question_max_length = question_max_length
        self.answer_max_length = answer_max_length

    def __len__(self):
        return len(self.records)

    def __getitem__(self, idx):
        sample = self.records[idx]
        image_file = os.path.join(self.image_dir, str(sample["pid"]), "image.png")
        with Image.open(image_file) as image:
            image = image.convert("RGB")
            encoding = self.processor(
                images=image,
                text=sample["question"],
                padding="max_length",
                max_length=self.question_max_length,
                truncation=True,
                return_tensors="pt",
            )
        tokenizer = self.processor.tokenizer
        answer = tokenizer(
            str(sample["answer"]),
            padding="max_length",
            max_length=self.answer_max_length,
            truncation=True,
            return_tensors="pt",
        )
        item = {name: encoding[name].squeeze(0) for name in ("input_ids", "attention_mask", "pixel_values")}
        item["labels"] = answer["input_ids"].squeeze(0)
        return item


def load_splits(data_dir, valid_fraction=0.1, seed=42):
    """Read data_dir/train.jsonl and split it into (train, valid) lists of records."""
    text = Path(os.path.join(data_dir, "train.jsonl")).read_text(encoding="utf-8")
    records = [json.loads(line) for line in text.splitlines() if line.strip()]

    shuffled = list(records)
    random.Random(seed).shuffle(shuffled)
    valid_size = max(1, round(len(shuffled) * valid_fraction))
    return shuffled[valid_size:], shuffled[:valid_size]


def build_dataloaders(train_dataset, valid_dataset, batch_size=8, num_workers=0, seed=0):
    """Return (train_loader, valid_loader)."""
    generator = torch.Generator()
    generator.manual_seed(seed)
    train_loader = torch.utils.data.DataLoader(train_dataset, batch_size, shuffle=True,
                                               num_workers=num_workers, generator=generator)
    valid_loader = torch.utils.data.DataLoader(valid_dataset, batch_size, shuffle=False,
                                               num_workers=num_workers)
    return train_loader, valid_loader
