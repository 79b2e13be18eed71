"""Exercise "dataset" (seed 2.1, 2.3)."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import datasets
import torch
from PIL import Image


class VQADataset(torch.utils.data.Dataset):
    """Icon VQA samples: a question and its image in, the answer's token ids out (labels)."""

    def __init__(self, records, processor, image_dir, question_max_length=32, answer_max_length=8):
        super().__init__()
        self.records = records
        self.processor = processor
        self.image_dir = Path(image_dir)
        self.question_max_length = question_max_length
        self.answer_max_length = answer_max_length

    def __len__(self):
        return len(self.records)

    def _image(self, pid):
        return Image.open(self.image_dir.joinpath(str(pid), "image.png")).convert("RGB")

    def __getitem__(self, idx):
        rec = self.records[idx]
        image = self._image(rec["pid"])
        question_enc = self.processor(
            images=image,
            text=rec["question"],
            return_tensors="pt",
            padding="max_length",
            truncation=True,
            max_length=self.question_max_length,
        )
        answer_enc = self.processor.tokenizer(
            text=rec["answer"],
            return_tensors="pt",
            padding="max_length",
            truncation=True,
            max_length=self.answer_max_length,
        )
        out = {}
        for key in ("input_ids", "attention_mask", "pixel_values"):
            out[key] = question_enc[key].squeeze(0)
        out["labels"] = answer_enc["input_ids"].squeeze(0)
        return out


def load_splits(data_dir, valid_fraction=0.1, seed=42):
    """Read data_dir/train.jsonl and split it into (train, valid) lists of records."""
    jsonl = Path(data_dir) / "train.jsonl"
    hf = datasets.load_dataset("json", data_files=str(jsonl))["train"]
    records = hf.to_list()

    rng = random.Random(seed)
    shuffled = rng.sample(records, k=len(records))
    n_valid = max(1, round(valid_fraction * len(records)))
    valid, train = shuffled[:n_valid], shuffled[n_valid:]
    return train, valid


def build_dataloaders(train_dataset, valid_dataset, batch_size=8, num_workers=0, seed=0):
    """Return (train_loader, valid_loader)."""
    g = torch.Generator().manual_seed(seed)
    train_loader = torch.utils.data.DataLoader(
        dataset=train_dataset,
        batch_size=batch_size,
        shuffle=True,
        generator=g,
        num_workers=num_workers,
    )
    valid_loader = torch.utils.data.DataLoader(
        dataset=valid_dataset,
        batch_size=batch_size,
        num_workers=num_workers,
    )
    return train_loader, valid_loader
