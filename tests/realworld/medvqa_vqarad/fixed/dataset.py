"""Exercise "dataset": IconQA items -> BLIP encodings, image-level split, collate_blip loaders (medvqa-vqarad style, fixed)."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader

MAX_TRAIN_SAMPLES = None  # the script's --max_train_samples (None: every record)
MAX_VAL_SAMPLES = None    # the script's --max_val_samples


def set_seed(seed: int = 42) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)


def read_jsonl(path: str) -> List[Dict[str, Any]]:
    with open(path, "r", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def collate_blip(processor, batch):
    # items are already encoded by VQADataset: stack them key by key
    inputs = {}
    for k in batch[0].keys():
        inputs[k] = torch.stack([b[k] for b in batch])
    return inputs


class VQADataset(torch.utils.data.Dataset):
    def __init__(self, records, processor, image_dir, question_max_length=32, answer_max_length=8):
        self.items = list(records)
        self.processor = processor
        self.images_dir = Path(image_dir)
        self.question_max_length = question_max_length
        self.answer_max_length = answer_max_length

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        d = self.items[i]
        img = Image.open(self.images_dir / str(d["pid"]) / "image.png").convert("RGB")
        q = d.get("question", "")
        a = str(d.get("answer", ""))

        inputs = self.processor(images=img, text=q, return_tensors="pt", padding="max_length",
                                max_length=self.question_max_length, truncation=True)
        labels = self.processor(text=a, return_tensors="pt", padding="max_length",
                                max_length=self.answer_max_length, truncation=True).input_ids
        inputs["labels"] = labels
        return {k: v.squeeze(0) for k, v in inputs.items()}


def image_level_split(items: List[Dict], seed: int, val_ratio: float = 0.1):
    imgs = sorted({str(d["pid"]) for d in items})
    rng = random.Random(seed)
    rng.shuffle(imgs)
    order = {img: n for n, img in enumerate(imgs)}
    ordered = sorted(items, key=lambda d: order[str(d["pid"])])
    n = len(ordered)
    n_val = max(1, round(n * val_ratio))
    n_train = n - n_val
    train = ordered[:n_train]
    val = ordered[n_train:]
    return train, val


def load_splits(data_dir, valid_fraction=0.1, seed=42):
    data_dir = Path(data_dir)
    items = read_jsonl(str(data_dir / "train.jsonl"))
    train_items, val_items = image_level_split(items, seed=seed, val_ratio=valid_fraction)
    train_items = train_items[:MAX_TRAIN_SAMPLES]
    val_items = val_items[:MAX_VAL_SAMPLES]
    print(f"Train/Val: {len(train_items)}/{len(val_items)}")
    return train_items, val_items


def build_dataloaders(train_dataset, valid_dataset, batch_size=8, num_workers=0, seed=0):
    set_seed(seed)
    processor = getattr(train_dataset, "processor", None)
    g = torch.Generator()
    g.manual_seed(seed)
    train_loader = DataLoader(
        train_dataset,
        batch_size=batch_size,
        shuffle=True,
        generator=g,
        num_workers=num_workers,
        collate_fn=lambda b: collate_blip(processor, b),
    )
    val_loader = DataLoader(
        valid_dataset,
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        collate_fn=lambda b: collate_blip(processor, b),
    )
    return train_loader, val_loader
