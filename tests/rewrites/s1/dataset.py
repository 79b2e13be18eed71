"""Exercise "dataset": IconQA records -> tensors, split, and batch."""

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
        self.image_dir = Path(image_dir)
        self.question_max_length = question_max_length
        self.answer_max_length = answer_max_length

    def __len__(self):
        return len(self.records)

    def __getitem__(self, idx):
        record = self.records[idx]
        image_path = self.image_dir / str(record["pid"]) / "image.png"
        with Image.open(image_path) as img:
            image = img.convert("RGB")

        encoding = self.processor(
            images=image,
            text=record["question"],
            padding="max_length",
            max_length=self.question_max_length,
            truncation=True,
            return_tensors="pt",
        )
        labels = self.processor.tokenizer(
            str(record["answer"]),
            padding="max_length",
            max_length=self.answer_max_length,
            truncation=True,
            return_tensors="pt",
        ).input_ids

        return {
            "input_ids": encoding["input_ids"].squeeze(0),
            "attention_mask": encoding["attention_mask"].squeeze(0),
            "pixel_values": encoding["pixel_values"].squeeze(0),
            "labels": labels.squeeze(0),
        }


def load_splits(data_dir, valid_fraction=0.1, seed=42):
    """Read data_dir/train.jsonl and split it into (train, valid) lists of records."""
    records = []
    with open(Path(data_dir) / "train.jsonl", encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                records.append(json.loads(line))

    n = len(records)
    n_valid = max(1, round(n * valid_fraction))

    indices = list(range(n))
    random.Random(seed).shuffle(indices)
    valid_idx = indices[:n_valid]
    train_idx = indices[n_valid:]

    train = [records[i] for i in train_idx]
    valid = [records[i] for i in valid_idx]
    return train, valid


def build_dataloaders(train_dataset, valid_dataset, batch_size=8, num_workers=0, seed=0):
    """Return (train_loader, valid_loader)."""
    g = torch.Generator()
    g.manual_seed(seed)
    train_loader = torch.utils.data.DataLoader(
        train_dataset, batch_size=batch_size, shuffle=True, num_workers=num_workers, generator=g
    )
    valid_loader = torch.utils.data.DataLoader(
        valid_dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers
    )
    return train_loader, valid_loader
