"""Dataset exercise, ported from SpatialMQA's Code/finetune/blip-vqa-base.py.

The script reads json lines with ``datasets.load_dataset("json", ..., split="train[:100%]")``, opens each
record's image as RGB, encodes it with the question and encodes the answer as labels.
"""

from __future__ import annotations

import json
import os
import random

import torch
from datasets import load_dataset
from PIL import Image
from torch.utils.data import DataLoader


class VQADataset(torch.utils.data.Dataset):
    """VQA (v2) dataset."""

    def __init__(self, records, processor, image_dir, question_max_length=32, answer_max_length=8):
        self.dataset = records
        self.processor = processor
        self.image_dir = image_dir
        self.question_max_length = question_max_length
        self.answer_max_length = answer_max_length

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, idx):
        # get image + text
        question = self.dataset[idx]['question']
        answer = str(self.dataset[idx]['answer'])
        image_id = self.dataset[idx]['pid']
        image_path = os.path.join(self.image_dir, str(image_id), "image.png")
        image = Image.open(image_path).convert("RGB")
        text = question

        encoding = self.processor(image, text, padding="max_length", max_length=self.question_max_length,
                                  truncation=True, return_tensors="pt")
        labels = self.processor.tokenizer.encode(
            answer, max_length=self.answer_max_length, padding="max_length", truncation=True, return_tensors='pt'
        )
        encoding["labels"] = labels
        # remove batch dimension
        for k, v in encoding.items():  encoding[k] = v.squeeze()
        return encoding


def load_splits(data_dir, valid_fraction=0.1, seed=42):
    data_file = os.path.join(str(data_dir), "train.jsonl")
    dataset = load_dataset("json", data_files=data_file, split="train[:100%]")
    # datasets shuffles with its own generator seeded from ``seed``
    dataset = dataset.shuffle(seed=seed)
    val_size = max(1, round(len(dataset) * valid_fraction))
    valid_dataset = dataset.select(range(val_size))
    training_dataset = dataset.select(range(val_size, len(dataset)))
    print("Training sets: {} - Validating set: {}".format(len(training_dataset), len(valid_dataset)))
    return training_dataset.to_list(), valid_dataset.to_list()


def build_dataloaders(train_dataset, valid_dataset, batch_size=8, num_workers=0, seed=0):
    torch.manual_seed(42)
    generator = torch.Generator()
    generator.manual_seed(seed)
    train_dataloader = DataLoader(train_dataset, batch_size=batch_size, shuffle=True, pin_memory=True,
                                  num_workers=num_workers, generator=generator)
    valid_dataloader = DataLoader(valid_dataset, batch_size=batch_size, shuffle=False, pin_memory=True,
                                  num_workers=num_workers)
    return train_dataloader, valid_dataloader
