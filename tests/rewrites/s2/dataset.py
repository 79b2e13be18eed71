"""Exercise "dataset" - my version with pandas."""

from __future__ import annotations

import json
import os
import random

import pandas as pd
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, RandomSampler


class VQADataset(Dataset):
    """Icon VQA samples: a question and its image in, the answer's token ids out (labels)."""

    def __init__(self, records, processor, image_dir, question_max_length=32, answer_max_length=8):
        self.records = list(records)
        self.processor = processor
        self.image_dir = image_dir
        self.question_max_length = question_max_length
        self.answer_max_length = answer_max_length

    def __len__(self):
        return len(self.records)

    def __getitem__(self, idx):
        rec = self.records[idx]
        img_path = os.path.join(self.image_dir, str(rec["pid"]), "image.png")
        image = Image.open(img_path).convert("RGB")

        enc = self.processor(
            images=image,
            text=rec["question"],
            max_length=self.question_max_length,
            padding="max_length",
            truncation=True,
            return_tensors="pt",
        )
        # the processor with only text= just runs the tokenizer
        ans = self.processor(
            text=str(rec["answer"]),
            max_length=self.answer_max_length,
            padding="max_length",
            truncation=True,
            return_tensors="pt",
        )
        item = {
            "pixel_values": enc["pixel_values"][0],
            "input_ids": enc["input_ids"][0],
            "attention_mask": enc["attention_mask"][0],
            "labels": ans["input_ids"][0],
        }
        return item


def load_splits(data_dir, valid_fraction=0.1, seed=42):
    """Read data_dir/train.jsonl and split it into (train, valid) lists of records."""
    path = os.path.join(data_dir, "train.jsonl")
    # dtype=False: otherwise pandas turns answers like "6" and pids into integers
    df = pd.read_json(path, lines=True, dtype=False)
    records = []
    for row in df.to_dict(orient="records"):
        row["question"] = str(row["question"])
        row["answer"] = str(row["answer"])
        row["pid"] = str(row["pid"])
        records.append(row)

    print("example record:", records[int(random.random() * len(records))])

    shuffled = records.copy()
    rng = random.Random(seed)
    rng.shuffle(shuffled)

    n_valid = max(1, round(len(shuffled) * valid_fraction))
    train_records = shuffled[:-n_valid]
    valid_records = shuffled[-n_valid:]
    return train_records, valid_records


def build_dataloaders(train_dataset, valid_dataset, batch_size=8, num_workers=0, seed=0):
    """Return (train_loader, valid_loader)."""
    generator = torch.Generator().manual_seed(seed)
    sampler = RandomSampler(train_dataset, generator=generator)
    train_loader = DataLoader(train_dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers)
    valid_loader = DataLoader(valid_dataset, batch_size=batch_size, num_workers=num_workers)
    return train_loader, valid_loader
