"""Exercise "train"."""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from tqdm.auto import tqdm

BATCH_KEYS = ("input_ids", "attention_mask", "pixel_values", "labels")


def _autocast(device, amp_dtype):
    """Autocast on ``device``'s type when ``amp_dtype`` is given, otherwise nothing."""
    if amp_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=amp_dtype)


def forward_batch(model, batch, device, amp_dtype):
    input_ids = batch["input_ids"].to(device)
    attention_mask = batch["attention_mask"].to(device)
    pixel_values = batch["pixel_values"].to(device)
    labels = batch["labels"].to(device)
    with _autocast(device, amp_dtype):
        outputs = model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            pixel_values=pixel_values,
            labels=labels,
        )
    return outputs.loss


def backward_and_step(loss, optimizer, scaler):
    if scaler:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        optimizer.step()


def train_one_epoch(model, loader, optimizer, device, scaler=None, amp_dtype=None):
    """Train one pass over ``loader`` and return the mean batch loss (a float)."""
    device = torch.device(device)
    model.train()
    batch_losses = []
    for batch in loader:
        optimizer.zero_grad(set_to_none=False)
        loss = forward_batch(model, batch, device, amp_dtype)
        backward_and_step(loss, optimizer, scaler)
        batch_losses.append(loss.item())
    return float(np.mean(batch_losses))


def evaluate(model, loader, device, amp_dtype=None):
    """Return the mean validation loss, without changing any weight."""
    device = torch.device(device)
    model.eval()
    batch_losses = []
    with torch.no_grad():
        for batch in loader:
            batch_losses.append(forward_batch(model, batch, device, amp_dtype).item())
    return float(np.mean(batch_losses))


def fit(model, train_loader, valid_loader, out_dir, device, epochs=1, lr=4e-5, gamma=0.9):
    """Train for ``epochs``, keep the best model in ``out_dir``, and return one dict per epoch."""
    device = torch.device(device)
    model.to(device)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=gamma)
    scaler = None
    amp_dtype = None
    if device.type == "cuda":
        scaler = torch.amp.GradScaler("cuda")
        amp_dtype = torch.float16

    best_valid_loss = float("inf")
    history = []
    for epoch in range(epochs):
        if torch.rand(1).item() < 0.5:
            print("starting epoch", epoch + 1)
        epoch_lr = optimizer.param_groups[0]["lr"]
        train_loss = train_one_epoch(model, train_loader, optimizer, device, scaler, amp_dtype)
        valid_loss = evaluate(model, valid_loader, device, amp_dtype)
        print(f"epoch {epoch + 1}: train_loss={train_loss:.4f} valid_loss={valid_loss:.4f}")
        saved = bool(valid_loss < best_valid_loss)
        if saved:
            best_valid_loss = valid_loss
            model.save_pretrained(out_dir)
            print("  -> saved to", out_dir)
        scheduler.step()
        history.append({"epoch": epoch + 1, "train_loss": train_loss, "lr": epoch_lr,
                        "valid_loss": valid_loss, "saved": saved})
    return history
