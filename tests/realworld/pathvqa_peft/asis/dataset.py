"""Dataset exercise, ported from the PathVQA LoRA notebook (blip_peft.ipynb, "Preparing data" cell).

The notebook reads its rows from a pandas DataFrame (Hugging Face ``datasets`` -> ``to_pandas()``),
encodes image + question with the BLIP processor and tokenizes the answer with 8 tokens.
"""

from __future__ import annotations

import json
import os
import random

import pandas as pd
import torch
from datasets import load_dataset
from PIL import Image
from torch.utils.data import DataLoader


# Custom dataset class
class VQADataset(torch.utils.data.Dataset):
    """VQA dataset."""

    def __init__(self, records, processor, image_dir, question_max_length=32, answer_max_length=8):
        # keep the rows as a DataFrame, like train_df / val_df in the notebook
        self.dataframe = pd.DataFrame(list(records)).reset_index(drop=True)
        self.processor = processor
        self.image_dir = image_dir
        self.question_max_length = question_max_length
        self.answer_max_length = answer_max_length

    def __len__(self):
        return len(self.dataframe)

    def __getitem__(self, idx):
        # Get question and answer
        question = self.dataframe.iloc[idx]['question']
        answer = self.dataframe.iloc[idx]['answer']
        pid = str(self.dataframe.iloc[idx]['pid'])
        image = Image.open(os.path.join(self.image_dir, pid, "image.png")).convert("RGB")

        # Process the image and question
        encoding = self.processor(image, question, padding="max_length", truncation=True, return_tensors="pt")

        # Tokenize the answer
        labels = self.processor.tokenizer.encode(
            answer, max_length=8, padding="max_length", truncation=True, return_tensors='pt'
        )
        encoding["labels"] = labels
        encoding["attention_mask"] = encoding["attention_mask"]

        # Remove batch dimension
        for k, v in encoding.items():
            encoding[k] = v.squeeze()

        return encoding


def load_splits(data_dir, valid_fraction=0.1, seed=42):
    # Load the dataset, then convert it to a pandas DataFrame
    dataset = load_dataset("json", data_files=os.path.join(str(data_dir), "train.jsonl"))
    df = dataset['train'].to_pandas()

    # hold out a validation frame (PathVQA ships its own 'validation' split)
    val_df = df.sample(frac=valid_fraction, random_state=seed)
    train_df = df.drop(val_df.index)

    train_df = train_df.reset_index(drop=True)
    val_df = val_df.reset_index(drop=True)
    print(f"Train rows: {len(train_df)} - Validation rows: {len(val_df)}")
    return train_df.to_dict("records"), val_df.to_dict("records")


def build_dataloaders(train_dataset, valid_dataset, batch_size=8, num_workers=0, seed=0):
    torch.manual_seed(42)

    # Create DataLoaders
    train_dataloader = DataLoader(train_dataset, batch_size=batch_size, shuffle=True, pin_memory=True,
                                  num_workers=num_workers)
    valid_dataloader = DataLoader(valid_dataset, batch_size=batch_size, shuffle=False, pin_memory=True,
                                  num_workers=num_workers)
    return train_dataloader, valid_dataloader
