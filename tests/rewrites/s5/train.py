"""Exercise "train"."""

from __future__ import annotations

import contextlib
import math

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
    dev = torch.device(device)
    model.train()
    losses: list[float] = []
    bar = tqdm(loader, desc="Training")
    for batch in bar:
        batch = {k: v.to(dev) for k, v in batch.items() if k in BATCH_KEYS}
        use_amp = amp_dtype is not None
        with torch.autocast(device_type=dev.type, dtype=amp_dtype, enabled=use_amp):
            out = model(
                input_ids=batch["input_ids"],
                attention_mask=batch["attention_mask"],
                pixel_values=batch["pixel_values"],
                labels=batch["labels"],
            )
        loss = out.loss
        optimizer.zero_grad()
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        losses.append(loss.item())
        bar.set_postfix(loss=f"{loss.item():.4f}")
    return sum(losses) / len(losses)


@torch.no_grad()
def evaluate(model, loader, device, amp_dtype=None) -> float:
    """Return the mean validation loss, without changing any weight."""
    dev = torch.device(device)
    model.eval()
    losses: list[float] = []
    for batch in tqdm(loader, desc="Validating"):
        batch = {k: v.to(dev) for k, v in batch.items() if k in BATCH_KEYS}
        with _autocast(dev, amp_dtype):
            out = model(
                input_ids=batch["input_ids"],
                attention_mask=batch["attention_mask"],
                pixel_values=batch["pixel_values"],
                labels=batch["labels"],
            )
        losses.append(out.loss.item())
    return sum(losses) / len(losses)


def fit(model, train_loader, valid_loader, out_dir, device, epochs=1, lr=4e-5, gamma=0.9) -> list[dict]:
    """Train for ``epochs``, keep the best model in ``out_dir``, and return one dict per epoch."""
    dev = torch.device(device)
    optimizer = torch.optim.AdamW((p for p in model.parameters() if p.requires_grad), lr=lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma)
    if dev.type == "cuda":
        scaler, amp_dtype = torch.amp.GradScaler("cuda"), torch.float16
    else:
        scaler, amp_dtype = None, None

    best = math.inf
    history: list[dict] = []
    for epoch in range(1, epochs + 1):
        lr_this_epoch = scheduler.get_last_lr()[0]
        train_loss = train_one_epoch(model, train_loader, optimizer, dev, scaler=scaler, amp_dtype=amp_dtype)
        valid_loss = evaluate(model, valid_loader, dev, amp_dtype=amp_dtype)
        scheduler.step()
        saved = valid_loss < best
        if saved:
            best = valid_loss
            model.save_pretrained(out_dir)
        history.append({"epoch": epoch, "train_loss": train_loss, "valid_loss": valid_loss,
                        "lr": lr_this_epoch, "saved": saved})
    return history
