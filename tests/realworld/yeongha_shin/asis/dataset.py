import os

import torch
from PIL import Image
from datasets import load_dataset
from torch.utils.data import DataLoader


class VQADataset(torch.utils.data.Dataset):
    """Icon domain VQA dataset (IconQA fill in the blank)."""

    def __init__(self, records, processor, image_dir, question_max_length=32, answer_max_length=8):
        self.dataset = records
        self.processor = processor
        self.image_dir = image_dir

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, idx):
        # get image + text
        question = self.dataset[idx]['question']
        answer = self.dataset[idx]['answer']
        image_id = self.dataset[idx]['pid']
        image_path = f"{self.image_dir}/{image_id}/image.png"
        image = Image.open(image_path).convert("RGB")
        text = question

        encoding = self.processor(image, text, padding="max_length", truncation=True, return_tensors="pt")
        labels = self.processor.tokenizer.encode(
            answer, max_length= 8, pad_to_max_length=True, return_tensors='pt'
        )
        encoding["labels"] = labels
        # remove batch dimension
        for k, v in encoding.items():  encoding[k] = v.squeeze()
        return encoding


def load_splits(data_dir, valid_fraction=0.1, seed=42):
    data_file = os.path.join(data_dir, "train.jsonl")
    cut = int(round((1 - valid_fraction) * 100))
    training_dataset = load_dataset("json", data_files=data_file, split=f"train[:{cut}%]")
    valid_dataset = load_dataset("json", data_files=data_file, split=f"train[{cut}%:]")
    print("Training sets: {} - Validating set: {}".format(len(training_dataset), len(valid_dataset)))
    return training_dataset, valid_dataset


def build_dataloaders(train_dataset, valid_dataset, batch_size=8, num_workers=0, seed=0):
    train_dataloader = DataLoader(train_dataset, batch_size=batch_size, shuffle=False, pin_memory=True, num_workers=num_workers)
    valid_dataloader = DataLoader(valid_dataset, batch_size=batch_size, shuffle=False, pin_memory=True, num_workers=num_workers)
    return train_dataloader, valid_dataloader
