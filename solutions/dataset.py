"""Exercise "dataset" (lab section 2.1 and 2.3): turn IconQA records into model-ready tensors, split, and batch them.

Bài tập "dataset" (mục 2.1 và 2.3): biến các bản ghi IconQA thành tensor cho mô hình, chia tập và tạo batch.
"""

from __future__ import annotations

import json
import os
import random

import torch
from PIL import Image


class VQADataset(torch.utils.data.Dataset):
    """Icon VQA samples: a question and its image in, the answer's token ids out (labels)."""

    def __init__(self, records, processor, image_dir, question_max_length=32, answer_max_length=8):
        """Keep the records (dicts with question, answer, pid), the BlipProcessor and the image folder.

        ``image_dir`` holds one folder per pid with ``image.png`` inside.
        """
        # BEGIN SOLUTION
        self.records = list(records)
        self.processor = processor
        self.image_dir = str(image_dir)
        self.question_max_length = question_max_length
        self.answer_max_length = answer_max_length
        # END SOLUTION

    def __len__(self):
        """The number of records."""
        # BEGIN SOLUTION
        return len(self.records)
        # END SOLUTION

    def __getitem__(self, idx):
        """One sample as a dict of 1-D tensors (no batch dimension).

        TODO: open image_dir/<pid>/image.png as RGB; encode image + question with the processor, padded
        and truncated to question_max_length (not to the tokenizer's 512: set max_length); encode the answer
        with the tokenizer, padded and truncated to answer_max_length, as "labels"; squeeze the batch dim.
        TODO: mở ảnh image_dir/<pid>/image.png dạng RGB; mã hoá ảnh + câu hỏi bằng processor, pad và cắt
        về question_max_length (đặt max_length, đừng để 512); mã hoá câu trả lời bằng tokenizer, pad và cắt
        về answer_max_length, làm "labels"; bỏ chiều batch.
        """
        # BEGIN SOLUTION
        record = self.records[idx]
        image_path = os.path.join(self.image_dir, str(record["pid"]), "image.png")
        image = Image.open(image_path).convert("RGB")
        encoding = self.processor(
            images=image,
            text=record["question"],
            padding="max_length",
            max_length=self.question_max_length,
            truncation=True,
            return_tensors="pt",
        )
        labels = self.processor.tokenizer(
            str(record["answer"]),
            padding="max_length",
            max_length=self.answer_max_length,
            truncation=True,
            return_tensors="pt",
        ).input_ids
        item = {key: value.squeeze(0) for key, value in encoding.items() if key != "token_type_ids"}
        item["labels"] = labels.squeeze(0)
        return item
        # END SOLUTION


def load_splits(data_dir, valid_fraction=0.1, seed=42):
    """Read data_dir/train.jsonl and split it into (train, valid) lists of records.

    TODO: the two splits must be disjoint and together hold every record; valid gets round(n * valid_fraction)
    records (at least one); shuffle with a generator seeded with ``seed`` (e.g. random.Random(seed)) so the
    same seed gives the same split, whatever the global random state.
    The original lab used ds['test'] twice: training and validation were the same data.
    TODO: hai tập phải rời nhau và gộp lại đủ mọi bản ghi; valid có round(n * valid_fraction) bản ghi (ít nhất
    một); xáo trộn bằng bộ sinh số ngẫu nhiên khởi tạo từ ``seed`` (ví dụ random.Random(seed)) để cùng seed cho
    cùng cách chia, bất kể trạng thái ngẫu nhiên toàn cục. Bản gốc dùng ds['test'] hai lần.
    """
    # BEGIN SOLUTION
    path = os.path.join(str(data_dir), "train.jsonl")
    with open(path, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    n_valid = max(1, round(len(records) * valid_fraction))
    valid = [records[i] for i in order[:n_valid]]
    train = [records[i] for i in order[n_valid:]]
    return train, valid
    # END SOLUTION


def build_dataloaders(train_dataset, valid_dataset, batch_size=8, num_workers=0, seed=0):
    """Return (train_loader, valid_loader).

    TODO: shuffle the training data with a torch.Generator seeded with ``seed`` (reproducible order);
    keep validation in order. The original lab used train_dataloader / valid_dataloader without ever building them.
    TODO: xáo trộn dữ liệu train bằng torch.Generator với ``seed`` (thứ tự lặp lại được); giữ nguyên thứ tự
    tập valid. Bản gốc dùng train_dataloader / valid_dataloader mà chưa hề tạo.
    """
    # BEGIN SOLUTION
    generator = torch.Generator()
    generator.manual_seed(seed)
    train_loader = torch.utils.data.DataLoader(
        train_dataset, batch_size=batch_size, shuffle=True, num_workers=num_workers, generator=generator
    )
    valid_loader = torch.utils.data.DataLoader(
        valid_dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers
    )
    return train_loader, valid_loader
    # END SOLUTION
