"""Exercise "dataset" (seed 2.1 and 2.3)."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pandas as pd
import torch
from PIL import Image


class VQADataset(torch.utils.data.Dataset):
    """Icon VQA samples: a question and its image in, the answer's token ids out (labels)."""

    def __init__(self, records, processor, image_dir, question_max_length=32, answer_max_length=8):
        self.records = records
        self.processor = processor
        self.image_dir = Path(image_dir)
        self.q_len = question_max_length
        self.a_len = answer_max_length

    def __len__(self):
        return len(self.records)

    def __getitem__(self, idx):
        r = self.records[idx]
        with Image.open(self.image_dir / f"{r['pid']}" / "image.png") as raw:
            image = raw.convert("RGB")
        q = self.processor(images=image, text=r["question"], padding="max_length",
                           max_length=self.q_len, truncation=True, return_tensors="pt")
        a = self.processor(text=str(r["answer"]), padding="max_length", max_length=self.a_len,
                           truncation=True, return_tensors="pt")
        return {
            "input_ids": q.input_ids.squeeze(0),
            "attention_mask": q.attention_mask.squeeze(0),
            "pixel_values": q.pixel_values.squeeze(0),
            "labels": a.input_ids.squeeze(0),
        }


def load_splits(data_dir, valid_fraction=0.1, seed=42):
    """Read data_dir/train.jsonl and split it into (train, valid) lists of records."""
    frame = pd.read_json(Path(data_dir) / "train.jsonl", lines=True, dtype=str)
    records = [{key: str(value) for key, value in row.items()} for row in frame.to_dict("records")]
    n = len(records)
    print("a random record:", random.choice(records))

    order = list(range(n))
    random.Random(seed).shuffle(order)
    n_valid = max(1, round(n * valid_fraction))
    n_train = n - n_valid
    train = [records[i] for i in order[:n_train]]
    valid = [records[i] for i in order[n_train:]]
    return train, valid


def build_dataloaders(train_dataset, valid_dataset, batch_size=8, num_workers=0, seed=0):
    """Return (train_loader, valid_loader)."""
    generator = torch.Generator()
    generator.manual_seed(seed)
    return (
        torch.utils.data.DataLoader(train_dataset, batch_size=batch_size, shuffle=True,
                                    num_workers=num_workers, generator=generator),
        torch.utils.data.DataLoader(valid_dataset, batch_size=batch_size, shuffle=False,
                                    num_workers=num_workers),
    )
