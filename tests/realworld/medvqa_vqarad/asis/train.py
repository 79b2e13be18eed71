"""Exercise "train": the medvqa-vqarad BLIP loop (tqdm, mean losses, history records, best-loss checkpoint), as written."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import torch
from torch.optim import AdamW
from tqdm.auto import tqdm

BATCH_KEYS = ("input_ids", "attention_mask", "pixel_values", "labels")


def write_json(obj: Any, path: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)


def train_one_epoch(model, loader, optimizer, device, scaler=None, amp_dtype=None):
    model.train()
    tr_loss = 0.0
    for inputs, _ in tqdm(loader, desc="train"):
        inputs = {k: v.to(device) for k, v in inputs.items()}
        out = model(**inputs)
        loss = out.loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        tr_loss += float(loss.item())
    tr_loss /= max(1, len(loader))
    return tr_loss


def evaluate(model, loader, device, amp_dtype=None):
    model.eval()
    va_loss = 0.0
    with torch.no_grad():
        for inputs, _ in tqdm(loader, desc="val"):
            inputs = {k: v.to(device) for k, v in inputs.items()}
            out = model(**inputs)
            va_loss += float(out.loss.item())
    va_loss /= max(1, len(loader))
    return va_loss


def fit(model, train_loader, valid_loader, out_dir, device, epochs=1, lr=4e-5, gamma=0.9):
    print(f"Using device: {device}")
    opt = AdamW(model.parameters(), lr=lr)

    Path(out_dir).mkdir(parents=True, exist_ok=True)

    history = []
    best = 1e9
    for epoch in range(1, epochs + 1):
        tr_loss = train_one_epoch(model, train_loader, opt, device)
        va_loss = evaluate(model, valid_loader, device)

        rec = {"epoch": epoch, "train_loss": tr_loss, "val_loss": va_loss, "device": str(device)}
        history.append(rec)
        print(rec)

        if va_loss < best:
            best = va_loss
            torch.save(model.state_dict(), str(Path(out_dir) / "blip.pt"))

    write_json(history, str(Path(out_dir) / "blip_history.json"))
    print(f"Saved best BLIP to {Path(out_dir) / 'blip.pt'}")
    return history
