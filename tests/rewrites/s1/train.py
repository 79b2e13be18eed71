"""Exercise "train": the training loop (GPU with fp16 autocast + GradScaler, or CPU)."""

from __future__ import annotations

import contextlib

import torch
from tqdm.auto import tqdm

BATCH_KEYS = ("input_ids", "attention_mask", "pixel_values", "labels")


def _autocast(device, amp_dtype):
    """Autocast on ``device``'s type when ``amp_dtype`` is given, otherwise nothing."""
    if amp_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=amp_dtype)


def train_one_epoch(model, loader, optimizer, device, scaler=None, amp_dtype=None):
    """Train one pass over ``loader`` and return the mean batch loss (a float)."""
    device = torch.device(device)
    model.train()
    losses = []
    for batch in loader:
        batch = {k: batch[k].to(device) for k in BATCH_KEYS}
        optimizer.zero_grad()
        with _autocast(device, amp_dtype):
            outputs = model(**batch)
            loss = outputs.loss
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        losses.append(loss.item())
    return sum(losses) / len(losses)


def evaluate(model, loader, device, amp_dtype=None):
    """Return the mean validation loss, without changing any weight."""
    device = torch.device(device)
    model.eval()
    losses = []
    with torch.no_grad():
        for batch in loader:
            batch = {k: batch[k].to(device) for k in BATCH_KEYS}
            with _autocast(device, amp_dtype):
                outputs = model(**batch)
            losses.append(outputs.loss.item())
    return sum(losses) / len(losses)


def fit(model, train_loader, valid_loader, out_dir, device, epochs=1, lr=4e-5, gamma=0.9):
    """Train for ``epochs``, keep the best model in ``out_dir``, and return one dict per epoch."""
    device = torch.device(device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma)

    if device.type == "cuda":
        amp_dtype = torch.float16
        scaler = torch.amp.GradScaler("cuda")
    else:
        amp_dtype = None
        scaler = None

    best_loss = float("inf")
    history = []
    for epoch in range(1, epochs + 1):
        current_lr = optimizer.param_groups[0]["lr"]
        train_loss = train_one_epoch(model, train_loader, optimizer, device, scaler=scaler, amp_dtype=amp_dtype)
        valid_loss = evaluate(model, valid_loader, device, amp_dtype=amp_dtype)
        scheduler.step()

        saved = False
        if valid_loss < best_loss:
            best_loss = valid_loss
            model.save_pretrained(out_dir)
            saved = True

        history.append({
            "epoch": epoch,
            "train_loss": train_loss,
            "valid_loss": valid_loss,
            "lr": current_lr,
            "saved": saved,
        })
    return history
