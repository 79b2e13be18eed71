"""Exercise "dataset": IconQA records -> BLIP encodings, pandas splits, loaders (vlip_vqa style, fixed)."""

from __future__ import annotations

import json
import os
import random

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset


def set_random_seed(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


class VQADataset(Dataset):
    def __init__(self, records, processor, image_dir, question_max_length=32, answer_max_length=8):
        self.csv_dataset = pd.DataFrame(list(records))
        self.csv_dataset = self.csv_dataset[pd.notnull(self.csv_dataset["answer"])]
        self.images_path = image_dir
        self.processor = processor
        self.question_max_length = question_max_length
        self.answer_max_length = answer_max_length

    def __len__(self):
        self.total_len = len(self.csv_dataset)
        return self.total_len

    def __getitem__(self, idx):
        # get image + text
        question = self.csv_dataset.iloc[idx]["question"]
        answer = self.csv_dataset.iloc[idx]["answer"]
        image_id_str = str(self.csv_dataset.iloc[idx]["pid"])
        image_path = f"{self.images_path}/{image_id_str}/image.png"
        image = Image.open(image_path).convert("RGB")
        text = question

        encoding = self.processor(image, text, padding="max_length", max_length=self.question_max_length,
                                  truncation=True, return_tensors="pt")
        labels = self.processor.tokenizer.encode(
            answer, max_length=self.answer_max_length, padding="max_length", truncation=True, return_tensors="pt"
        )
        encoding["labels"] = labels
        # remove batch dimension
        for k, v in encoding.items():  encoding[k] = v.squeeze()
        return encoding


def load_splits(data_dir, valid_fraction=0.1, seed=42):
    dataset = pd.read_json(os.path.join(data_dir, "train.jsonl"), lines=True, dtype=False)
    dataset = dataset[pd.notnull(dataset["answer"])]
    # shuffle with its own RandomState: the same seed always gives the same split
    dataset = dataset.sample(frac=1, random_state=seed).reset_index(drop=True)
    total_len = len(dataset)
    valid_len = max(1, round(total_len * valid_fraction))
    train_part = dataset.iloc[:total_len - valid_len]
    valid_part = dataset.iloc[total_len - valid_len:]
    print("Training sets: {} - Validating set: {}".format(len(train_part), len(valid_part)))
    return train_part.to_dict("records"), valid_part.to_dict("records")


def build_dataloaders(train_dataset, valid_dataset, batch_size=8, num_workers=0, seed=0):
    set_random_seed(seed)
    generator = torch.Generator()
    generator.manual_seed(seed)
    train_dataloader = DataLoader(train_dataset, batch_size=batch_size, shuffle=True, generator=generator,
                                  pin_memory=True)
    valid_dataloader = DataLoader(valid_dataset, batch_size=batch_size, shuffle=False, pin_memory=True)
    return train_dataloader, valid_dataloader
