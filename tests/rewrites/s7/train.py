"""Exercise "train"."""

from __future__ import annotations

import contextlib
import random
import statistics

import torch
from tqdm.auto import tqdm

BATCH_KEYS = ("input_ids", "attention_mask", "pixel_values", "labels")


def _autocast(device, amp_dtype):
    """Autocast on ``device``'s type when ``amp_dtype`` is given, otherwise nothing."""
    if amp_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=amp_dtype)


def train_one_epoch(model, loader, optimizer, device, scaler=None, amp_dtype=None) -> float:
    """Train one pass over ``loader`` and return the mean batch loss (a float)."""
    device_type = device.type if isinstance(device, torch.device) else torch.device(device).type
    model.train()
    losses = []
    for i, batch in enumerate(loader):
        batch = {key: batch[key].to(device) for key in BATCH_KEYS}
        ctx = torch.autocast(device_type=device_type, dtype=amp_dtype) if amp_dtype else contextlib.nullcontext()
        with ctx:
            outputs = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                            pixel_values=batch["pixel_values"], labels=batch["labels"])
        loss = outputs.loss
        model.zero_grad()
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        losses.append(float(loss.detach()))
    return statistics.mean(losses)


def evaluate(model, loader, device, amp_dtype=None) -> float:
    """Return the mean validation loss, without changing any weight."""
    device_type = device.type if isinstance(device, torch.device) else torch.device(device).type
    model.eval()
    losses = []
    with torch.no_grad():
        for batch in loader:
            batch = {key: batch[key].to(device) for key in BATCH_KEYS}
            ctx = torch.autocast(device_type=device_type, dtype=amp_dtype) if amp_dtype else contextlib.nullcontext()
            with ctx:
                outputs = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                pixel_values=batch["pixel_values"], labels=batch["labels"])
            losses.append(float(outputs.loss))
    return statistics.mean(losses)


def fit(model, train_loader, valid_loader, out_dir, device, epochs=1, lr=4e-5, gamma=0.9) -> list[dict]:
    """Train for ``epochs``, keep the best model in ``out_dir``, and return one dict per epoch."""
    is_cuda = (device.type if isinstance(device, torch.device) else str(device)).startswith("cuda")
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma)
    scaler = torch.amp.GradScaler("cuda") if is_cuda else None
    amp_dtype = torch.float16 if is_cuda else None

    history = []
    best = float("inf")
    for epoch in range(epochs):
        current_lr = float(optimizer.param_groups[0]["lr"])
        tr = train_one_epoch(model, train_loader, optimizer, device, scaler, amp_dtype)
        va = evaluate(model, valid_loader, device, amp_dtype)
        scheduler.step()
        saved = False
        if va < best:
            best = va
            model.save_pretrained(out_dir)
            saved = True
        if random.random() < 0.5:
            print(f"[epoch {epoch + 1}] train={tr:.4f} valid={va:.4f} lr={current_lr:g} saved={saved}")
        history.append({"train_loss": tr, "valid_loss": va, "epoch": epoch + 1, "saved": saved, "lr": current_lr})
    return history
