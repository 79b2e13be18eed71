"""Exercise "train": the medvqa-vqarad BLIP loop (tqdm, mean losses, history records, best-loss checkpoint), fixed."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import torch
from torch.optim import AdamW
from tqdm.auto import tqdm

BATCH_KEYS = ("input_ids", "attention_mask", "pixel_values", "labels")


def _autocast(device, amp_dtype):
    """Autocast on ``device``'s type when ``amp_dtype`` is given, otherwise nothing."""
    if amp_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=amp_dtype)


def write_json(obj: Any, path: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)


def train_one_epoch(model, loader, optimizer, device, scaler=None, amp_dtype=None):
    model.train()
    tr_loss = 0.0
    for inputs in tqdm(loader, desc="train"):
        inputs = {k: v.to(device) for k, v in inputs.items() if k in BATCH_KEYS}
        with _autocast(device, amp_dtype):
            out = model(**inputs)
        loss = out.loss
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
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
        for inputs in tqdm(loader, desc="val"):
            inputs = {k: v.to(device) for k, v in inputs.items() if k in BATCH_KEYS}
            with _autocast(device, amp_dtype):
                out = model(**inputs)
            va_loss += float(out.loss.item())
    va_loss /= max(1, len(loader))
    return va_loss


def fit(model, train_loader, valid_loader, out_dir, device, epochs=1, lr=4e-5, gamma=0.9):
    print(f"Using device: {device}")
    on_cuda = torch.device(device).type == "cuda"
    amp_dtype = torch.float16 if on_cuda else None
    scaler = torch.amp.GradScaler("cuda") if on_cuda else None

    opt = AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=gamma)

    Path(out_dir).mkdir(parents=True, exist_ok=True)

    history = []
    best = 1e9
    for epoch in range(1, epochs + 1):
        cur_lr = opt.param_groups[0]["lr"]
        tr_loss = train_one_epoch(model, train_loader, opt, device, scaler=scaler, amp_dtype=amp_dtype)
        va_loss = evaluate(model, valid_loader, device, amp_dtype=amp_dtype)
        scheduler.step()

        saved = False
        if va_loss < best:
            best = va_loss
            model.save_pretrained(out_dir)
            saved = True

        rec = {"epoch": epoch, "train_loss": tr_loss, "valid_loss": va_loss, "lr": cur_lr, "saved": saved,
               "device": str(device)}
        history.append(rec)
        print(rec)

    write_json(history, str(Path(out_dir) / "blip_history.json"))
    print(f"Saved best BLIP to {out_dir}")
    return history
