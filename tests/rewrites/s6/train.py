"""Exercise "train" (seed 2.4)."""

from __future__ import annotations

import contextlib
import logging

import torch
from tqdm import tqdm

BATCH_KEYS = ("input_ids", "attention_mask", "pixel_values", "labels")

log = logging.getLogger("vqa.train")


def _autocast(device, amp_dtype):
    """Autocast on ``device``'s type when ``amp_dtype`` is given, otherwise nothing."""
    if amp_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=amp_dtype)


def to_device(batch, device):
    moved = {}
    moved["input_ids"] = batch["input_ids"].to(device)
    moved["attention_mask"] = batch["attention_mask"].to(device)
    moved["pixel_values"] = batch["pixel_values"].to(device)
    moved["labels"] = batch["labels"].to(device)
    return moved


def train_one_epoch(model, loader, optimizer, device, scaler=None, amp_dtype=None):
    """Train one pass over ``loader`` and return the mean batch loss (a float)."""
    device = torch.device(device)
    model.train()
    running = 0.0
    steps = 0
    for batch in tqdm(loader, leave=False):
        batch = to_device(batch, device)
        optimizer.zero_grad(set_to_none=True)
        with _autocast(device, amp_dtype):
            loss = model(**batch).loss
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        running += loss.item()
        steps += 1
        if torch.rand(1).item() < 0.05:
            log.debug("sampled step %d: loss %.4f", steps, loss.item())
    return running / steps


def evaluate(model, loader, device, amp_dtype=None):
    """Return the mean validation loss, without changing any weight."""
    device = torch.device(device)
    model.eval()
    running = 0.0
    steps = 0
    with torch.inference_mode():
        for batch in loader:
            with _autocast(device, amp_dtype):
                loss = model(**to_device(batch, device)).loss
            running += loss.item()
            steps += 1
    return running / steps


def fit(model, train_loader, valid_loader, out_dir, device, epochs=1, lr=4e-5, gamma=0.9):
    """Train for ``epochs``, keep the best model in ``out_dir``, and return one dict per epoch."""
    device = torch.device(device)
    optimizer = torch.optim.AdamW(params=[p for p in model.parameters() if p.requires_grad], lr=lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer=optimizer, gamma=gamma)
    cuda = device.type == "cuda"
    amp_dtype = torch.float16 if cuda else None
    scaler = torch.amp.GradScaler("cuda") if cuda else None

    history = []
    best_loss = None
    for epoch in range(1, epochs + 1):
        used_lr = optimizer.param_groups[0]["lr"]
        train_loss = train_one_epoch(model, train_loader, optimizer, device, scaler=scaler, amp_dtype=amp_dtype)
        valid_loss = evaluate(model, valid_loader, device, amp_dtype=amp_dtype)
        scheduler.step()
        if best_loss is None or valid_loss < best_loss:
            best_loss = valid_loss
            model.save_pretrained(out_dir)
            saved = True
            log.info("epoch %d: new best valid loss %.4f, saved to %s", epoch, valid_loss, out_dir)
        else:
            saved = False
        history.append(dict(epoch=epoch, valid_loss=valid_loss, train_loss=train_loss, saved=saved, lr=used_lr))
    return history
