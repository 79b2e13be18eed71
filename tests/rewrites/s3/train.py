"""Exercise "train" (seed 2.4)."""

from __future__ import annotations

import contextlib
import logging
import random
import statistics
from typing import Optional

import torch
from tqdm.auto import tqdm

BATCH_KEYS = ("input_ids", "attention_mask", "pixel_values", "labels")

logger = logging.getLogger(__name__)


def _autocast(device, amp_dtype):
    """Autocast on ``device``'s type when ``amp_dtype`` is given, otherwise nothing."""
    if amp_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=amp_dtype)


def _move(batch: dict, device: torch.device) -> dict:
    return {key: batch[key].to(device) for key in BATCH_KEYS}


def train_one_epoch(model, loader, optimizer, device, scaler=None, amp_dtype: Optional[torch.dtype] = None) -> float:
    """Train one pass over ``loader`` and return the mean batch loss (a float)."""
    device = torch.device(device)
    model.train()
    losses: list[float] = []
    for step, batch in enumerate(tqdm(loader, desc="training", leave=False)):
        inputs = _move(batch, device)
        model.zero_grad()
        with _autocast(device, amp_dtype):
            loss = model(**inputs).loss
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        losses.append(loss.item())
        if random.random() < 0.1:  # log a random sample of steps
            logger.info("step %d loss %.4f", step, losses[-1])
    return statistics.mean(losses)


def evaluate(model, loader, device, amp_dtype: Optional[torch.dtype] = None) -> float:
    """Return the mean validation loss, without changing any weight."""
    device = torch.device(device)
    model.eval()
    losses: list[float] = []
    with torch.inference_mode():
        for batch in loader:
            with _autocast(device, amp_dtype):
                losses.append(model(**_move(batch, device)).loss.item())
    return statistics.mean(losses)


def fit(model, train_loader, valid_loader, out_dir, device, epochs=1, lr=4e-5, gamma=0.9) -> list[dict]:
    """Train for ``epochs``, keep the best model in ``out_dir``, and return one dict per epoch."""
    device = torch.device(device)
    optimizer = torch.optim.AdamW(filter(lambda p: p.requires_grad, model.parameters()), lr=lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma)
    on_cuda = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda") if on_cuda else None
    amp_dtype = torch.float16 if on_cuda else None

    best: Optional[float] = None
    history = []
    for epoch in range(1, epochs + 1):
        epoch_lr = optimizer.param_groups[0]["lr"]
        train_loss = train_one_epoch(model, train_loader, optimizer, device, scaler=scaler, amp_dtype=amp_dtype)
        valid_loss = evaluate(model, valid_loader, device, amp_dtype=amp_dtype)
        scheduler.step()
        saved = False
        if best is None or valid_loss < best:
            best = valid_loss
            model.save_pretrained(out_dir)
            saved = True
        logger.info("epoch %d train %.4f valid %.4f saved=%s", epoch, train_loss, valid_loss, saved)
        history.append({"saved": saved, "valid_loss": valid_loss, "train_loss": train_loss,
                        "lr": epoch_lr, "epoch": epoch})
    return history
