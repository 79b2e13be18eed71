"""Exercise "dataset": IconQA items -> (image, question, answer, meta), image-level split, collate_blip loaders (medvqa-vqarad style, as written)."""

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
from transformers import BlipProcessor

MAX_TRAIN_SAMPLES = 200  # the script's --max_train_samples default
MAX_VAL_SAMPLES = 200    # the script's --max_val_samples default


def set_seed(seed: int = 42) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)


def read_jsonl(path: str) -> List[Dict[str, Any]]:
    with open(path, "r", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def collate_blip(processor: BlipProcessor, batch):
    images, questions, answers, metas = [], [], [], []
    for img, q, a, meta in batch:
        images.append(img)
        questions.append(q)
        answers.append(a)
        metas.append(meta)

    inputs = processor(images=images, text=questions, return_tensors="pt", padding=True)
    labels = processor(text=answers, return_tensors="pt", padding=True).input_ids
    inputs["labels"] = labels
    return inputs, metas


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
        return img, d.get("question", ""), str(d.get("answer", "")), {"ques_type": d.get("ques_type", "")}


def image_level_split(items: List[Dict], seed: int, train_ratio: float = 0.8, val_ratio: float = 0.1):
    imgs = sorted({str(d["pid"]) for d in items})
    rng = random.Random(seed)
    rng.shuffle(imgs)
    n = len(imgs)
    n_train = int(n * train_ratio)
    n_val = int(n * val_ratio)
    train_imgs = set(imgs[:n_train])
    val_imgs = set(imgs[n_train:n_train + n_val])
    test_imgs = set(imgs[n_train + n_val:])
    train = [d for d in items if str(d["pid"]) in train_imgs]
    val = [d for d in items if str(d["pid"]) in val_imgs]
    test = [d for d in items if str(d["pid"]) in test_imgs]
    return train, val, test


def load_splits(data_dir, valid_fraction=0.1, seed=42):
    data_dir = Path(data_dir)
    items = read_jsonl(str(data_dir / "train.jsonl"))
    train_items, val_items, _ = image_level_split(items, seed=seed, train_ratio=1 - valid_fraction,
                                                  val_ratio=valid_fraction)
    train_items = train_items[:MAX_TRAIN_SAMPLES]
    val_items = val_items[:MAX_VAL_SAMPLES]
    print(f"Train/Val: {len(train_items)}/{len(val_items)}")
    return train_items, val_items


def build_dataloaders(train_dataset, valid_dataset, batch_size=8, num_workers=0, seed=0):
    set_seed(seed)
    processor = train_dataset.processor
    train_loader = DataLoader(
        train_dataset,
        batch_size=batch_size,
        shuffle=True,
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
