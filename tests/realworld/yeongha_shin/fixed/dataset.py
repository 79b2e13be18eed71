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
        self.question_max_length = question_max_length
        self.answer_max_length = answer_max_length

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
    data = load_dataset("json", data_files=os.path.join(data_dir, "train.jsonl"), split="train")
    n_valid = max(1, round(len(data) * valid_fraction))
    # shuffled with its own seeded generator inside datasets, then cut
    splits = data.train_test_split(test_size=n_valid, shuffle=True, seed=seed)
    training_dataset = splits["train"].to_list()
    valid_dataset = splits["test"].to_list()
    print("Training sets: {} - Validating set: {}".format(len(training_dataset), len(valid_dataset)))
    return training_dataset, valid_dataset


def build_dataloaders(train_dataset, valid_dataset, batch_size=8, num_workers=0, seed=0):
    generator = torch.Generator()
    generator.manual_seed(seed)
    train_dataloader = DataLoader(train_dataset, batch_size=batch_size, shuffle=True, generator=generator,
                                  pin_memory=True, num_workers=num_workers)
    valid_dataloader = DataLoader(valid_dataset, batch_size=batch_size, shuffle=False, pin_memory=True,
                                  num_workers=num_workers)
    return train_dataloader, valid_dataloader
