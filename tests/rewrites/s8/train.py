"""Exercise "train"."""

from __future__ import annotations

import contextlib
import math
from typing import Any

import numpy
import torch
from tqdm.auto import tqdm

BATCH_KEYS = ("input_ids", "attention_mask", "pixel_values", "labels")


def _autocast(device, amp_dtype):
    """Autocast on ``device``'s type when ``amp_dtype`` is given, otherwise nothing."""
    if amp_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=amp_dtype)


def _batch_to(batch: dict[str, Any], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: batch[k].to(device, non_blocking=True) for k in BATCH_KEYS}


def _loss(model, batch: dict[str, torch.Tensor], device: torch.device, amp_dtype) -> torch.Tensor:
    with _autocast(device, amp_dtype):
        return model(**batch).loss


def train_one_epoch(model, loader, optimizer, device, scaler=None, amp_dtype=None) -> float:
    """Train one pass over ``loader`` and return the mean batch loss (a float)."""
    device = torch.device(device)
    model.train()
    epoch_losses: list[float] = []
    pbar = tqdm(loader, desc="train", dynamic_ncols=True)
    for batch in pbar:
        loss = _loss(model, _batch_to(batch, device), device, amp_dtype)
        optimizer.zero_grad(set_to_none=False)
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        epoch_losses.append(loss.item())
        pbar.set_postfix(loss=loss.item())
    return float(numpy.mean(epoch_losses))


def evaluate(model, loader, device, amp_dtype=None) -> float:
    """Return the mean validation loss, without changing any weight."""
    device = torch.device(device)
    model.eval()
    epoch_losses: list[float] = []
    with torch.no_grad():
        for batch in tqdm(loader, desc="valid", dynamic_ncols=True):
            epoch_losses.append(_loss(model, _batch_to(batch, device), device, amp_dtype).item())
    return float(numpy.mean(epoch_losses))


def fit(model, train_loader, valid_loader, out_dir, device, epochs=1, lr=4e-5, gamma=0.9) -> list[dict]:
    """Train for ``epochs``, keep the best model in ``out_dir``, and return one dict per epoch."""
    device = torch.device(device)
    trainable_params = [param for param in model.parameters() if param.requires_grad]
    optimizer = torch.optim.AdamW(trainable_params, lr=lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=gamma)

    amp_dtype = torch.float16 if device.type == "cuda" else None
    scaler = torch.amp.GradScaler("cuda") if device.type == "cuda" else None

    best_valid = math.inf
    history: list[dict] = []
    for epoch in range(1, epochs + 1):
        record = {"epoch": epoch, "lr": scheduler.get_last_lr()[0]}
        record["train_loss"] = train_one_epoch(model, train_loader, optimizer, device,
                                               scaler=scaler, amp_dtype=amp_dtype)
        record["valid_loss"] = evaluate(model, valid_loader, device, amp_dtype=amp_dtype)
        scheduler.step()
        record["saved"] = record["valid_loss"] < best_valid
        if record["saved"]:
            best_valid = record["valid_loss"]
            model.save_pretrained(out_dir)
        history.append(record)
    return history
