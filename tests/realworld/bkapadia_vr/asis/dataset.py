"""Exercise "dataset", ported from BKAPADIA04/VR_Project (lora-final-model.ipynb, DataCuration/train_test.py), as written.

The notebook keeps the data in pandas DataFrames (read from CSV, split 80/20 with a fixed random_state),
reads rows with ``df.iloc``, encodes question and answer with hard-coded lengths (128 and 32) and
stacks batches in its own collate_fn.
"""

from __future__ import annotations

import os

import pandas as pd
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset


class VQADataset(Dataset):
    """Icon VQA samples: a question and its image in, the answer's token ids out (labels)."""

    def __init__(self, records, processor, image_dir, question_max_length=32, answer_max_length=8):
        self.df = pd.DataFrame(records).reset_index(drop=True)
        self.image_dir = image_dir
        self.processor = processor

    def __len__(self):
        return len(self.df)

    def __getitem__(self, idx):
        row = self.df.iloc[idx]
        image_path = os.path.join(self.image_dir, str(row["pid"]), "image.png")
        image = Image.open(image_path).convert("RGB")
        question = str(row["question"])
        answer = str(row["answer"])

        inputs = self.processor(images=image, text=question, return_tensors="pt", padding='max_length', max_length=128, truncation=True)
        inputs = {k: v.squeeze(0) for k, v in inputs.items()}
        inputs["labels"] = self.processor.tokenizer(answer, return_tensors="pt", padding='max_length', max_length=32, truncation=True).input_ids.squeeze(0)
        return inputs


def load_splits(data_dir, valid_fraction=0.1, seed=42):
    """Read data_dir/train.jsonl and split it into (train, valid) lists of records."""
    final_df = pd.read_json(os.path.join(data_dir, "train.jsonl"), lines=True)
    print('Final Dataframe Length: ', len(final_df))

    # Split the dataframe
    test_df = final_df.sample(frac=valid_fraction, random_state=seed)
    train_df = final_df.drop(test_df.index)

    print(f"Train dataset with {len(train_df)} entries")
    print(f"Test dataset with {len(test_df)} entries")
    return train_df, test_df


def collate_fn(batch):
    pixel_values = torch.stack([item["pixel_values"] for item in batch])
    input_ids = torch.stack([item["input_ids"] for item in batch])
    attention_mask = torch.stack([item["attention_mask"] for item in batch])
    labels = torch.nn.utils.rnn.pad_sequence(
        [item["labels"] for item in batch], batch_first=True, padding_value=-100
    )
    return {
        "pixel_values": pixel_values,
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "labels": labels
    }


def build_dataloaders(train_dataset, valid_dataset, batch_size=8, num_workers=0, seed=0):
    """Return (train_loader, valid_loader)."""
    train_dataloader = DataLoader(train_dataset, batch_size=batch_size, shuffle=True, collate_fn=collate_fn, num_workers=num_workers)
    valid_dataloader = DataLoader(valid_dataset, batch_size=batch_size, shuffle=False, collate_fn=collate_fn, num_workers=num_workers)
    return train_dataloader, valid_dataloader
