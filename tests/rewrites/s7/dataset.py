"""Exercise "dataset"."""

from __future__ import annotations

import json
import os
import random

import torch
from PIL import Image
from torch.utils.data import DataLoader, RandomSampler


class VQADataset(torch.utils.data.Dataset):
    """Icon VQA samples: a question and its image in, the answer's token ids out (labels)."""

    def __init__(self, records, processor, image_dir, question_max_length=32, answer_max_length=8):
        self.records = records
        self.processor = processor
        self.image_dir = str(image_dir).rstrip("/")
        self.question_max_length = question_max_length
        self.answer_max_length = answer_max_length

    def __len__(self):
        return len(self.records)

    def __getitem__(self, idx):
        record = self.records[idx]
        path = f"{self.image_dir}/{record['pid']}/image.png"
        with Image.open(path) as f:
            image = f.convert("RGB")

        features = self.processor(images=image, text=record["question"], padding="max_length",
                                  max_length=self.question_max_length, truncation=True, return_tensors="pt")
        answer_ids = self.processor(text=record["answer"], padding="max_length",
                                    max_length=self.answer_max_length, truncation=True,
                                    return_tensors="pt")["input_ids"]
        return {
            "input_ids": features["input_ids"].squeeze(0),
            "attention_mask": features["attention_mask"].squeeze(0),
            "pixel_values": features["pixel_values"].squeeze(0),
            "labels": answer_ids.squeeze(0),
        }


def load_splits(data_dir, valid_fraction=0.1, seed=42):
    """Read data_dir/train.jsonl and split it into (train, valid) lists of records."""
    records = []
    with open(f"{data_dir}/train.jsonl") as f:
        for line in f:
            if not line.strip():
                continue
            records.append(json.loads(line))

    idx = list(range(len(records)))
    random.Random(seed).shuffle(idx)
    k = max(1, round(len(records) * valid_fraction))
    valid = [records[i] for i in idx[:k]]
    train = [records[i] for i in idx[k:]]
    return train, valid


def build_dataloaders(train_dataset, valid_dataset, batch_size=8, num_workers=0, seed=0):
    """Return (train_loader, valid_loader)."""
    _ = torch.rand(1)  # warm up the global RNG (harmless)
    g = torch.Generator()
    g.manual_seed(seed)
    train_loader = DataLoader(train_dataset, batch_size=batch_size, num_workers=num_workers,
                              sampler=RandomSampler(train_dataset, generator=g))
    valid_loader = DataLoader(valid_dataset, batch_size=batch_size, num_workers=num_workers, shuffle=False)
    return train_loader, valid_loader
