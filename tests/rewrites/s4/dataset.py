"""Exercise "dataset"."""

from __future__ import annotations

import json
import os
import random

import torch
from PIL import Image


def read_jsonl(path):
    with open(path, "r", encoding="utf-8") as f:
        return [json.loads(line) for line in f.readlines() if line.strip() != ""]


class VQADataset(torch.utils.data.Dataset):
    """Icon VQA samples: a question and its image in, the answer's token ids out (labels)."""

    def __init__(self, records, processor, image_dir, question_max_length=32, answer_max_length=8):
        self.records = records
        self.processor = processor
        self.image_dir = str(image_dir)
        self.question_max_length = question_max_length
        self.answer_max_length = answer_max_length

    def __len__(self):
        return len(self.records)

    def __getitem__(self, idx):
        question = self.records[idx]["question"]
        answer = self.records[idx]["answer"]
        pid = self.records[idx]["pid"]

        image = Image.open(os.path.join(self.image_dir, str(pid), "image.png")).convert("RGB")
        encoding = self.processor(image, question, padding="max_length", truncation=True,
                                  max_length=self.question_max_length, return_tensors="pt")
        labels = self.processor.tokenizer(answer, padding="max_length", truncation=True,
                                          max_length=self.answer_max_length, return_tensors="pt").input_ids

        encoding = {k: v.squeeze(0) for k, v in encoding.items()}
        encoding["labels"] = labels.squeeze(0)
        return encoding


def load_splits(data_dir, valid_fraction=0.1, seed=42):
    """Read data_dir/train.jsonl and split it into (train, valid) lists of records."""
    records = read_jsonl(os.path.join(data_dir, "train.jsonl"))
    data = records[:]
    random.Random(seed).shuffle(data)
    n_valid = max(round(len(data) * valid_fraction), 1)
    valid = data[:n_valid]
    train = data[n_valid:]
    print(f"train: {len(train)}, valid: {len(valid)}")
    return train, valid


def build_dataloaders(train_dataset, valid_dataset, batch_size=8, num_workers=0, seed=0):
    """Return (train_loader, valid_loader)."""
    g = torch.Generator()
    g.manual_seed(seed)
    train_sampler = torch.utils.data.RandomSampler(train_dataset, generator=g)
    train_loader = torch.utils.data.DataLoader(train_dataset, batch_size=batch_size, sampler=train_sampler,
                                               num_workers=num_workers, generator=g)
    valid_loader = torch.utils.data.DataLoader(valid_dataset, batch_size=batch_size, shuffle=False,
                                               num_workers=num_workers)
    return train_loader, valid_loader
