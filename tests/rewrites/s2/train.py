"""Exercise "train": training loop with tqdm progress bars."""

from __future__ import annotations

import contextlib
import math

import torch
from tqdm import tqdm

BATCH_KEYS = ("input_ids", "attention_mask", "pixel_values", "labels")


def _autocast(device, amp_dtype):
    """Autocast on ``device``'s type when ``amp_dtype`` is given, otherwise nothing."""
    if amp_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=amp_dtype)


def _device_type(device) -> str:
    if isinstance(device, torch.device):
        return device.type
    return str(device).split(":")[0]


def train_one_epoch(model, loader, optimizer, device, scaler=None, amp_dtype=None) -> float:
    """Train one pass over ``loader`` and return the mean batch loss (a float)."""
    model.train()
    device_type = _device_type(device)
    total_loss = 0.0
    num_batches = 0
    progress = tqdm(loader, desc="train", leave=False)
    for batch in progress:
        input_ids = batch["input_ids"].to(device)
        attention_mask = batch["attention_mask"].to(device)
        pixel_values = batch["pixel_values"].to(device)
        labels = batch["labels"].to(device)

        if amp_dtype is not None:
            with torch.autocast(device_type=device_type, dtype=amp_dtype):
                outputs = model(input_ids=input_ids, attention_mask=attention_mask,
                                pixel_values=pixel_values, labels=labels)
        else:
            outputs = model(input_ids=input_ids, attention_mask=attention_mask,
                            pixel_values=pixel_values, labels=labels)
        loss = outputs.loss

        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()

        total_loss += loss.item()
        num_batches += 1
        progress.set_postfix(loss=loss.item())
    return total_loss / num_batches


@torch.no_grad()
def evaluate(model, loader, device, amp_dtype=None) -> float:
    """Return the mean validation loss, without changing any weight."""
    model.eval()
    device_type = _device_type(device)
    total_loss = 0.0
    num_batches = 0
    for batch in tqdm(loader, desc="valid", leave=False):
        input_ids = batch["input_ids"].to(device)
        attention_mask = batch["attention_mask"].to(device)
        pixel_values = batch["pixel_values"].to(device)
        labels = batch["labels"].to(device)
        if amp_dtype is not None:
            with torch.autocast(device_type=device_type, dtype=amp_dtype):
                outputs = model(input_ids=input_ids, attention_mask=attention_mask,
                                pixel_values=pixel_values, labels=labels)
        else:
            outputs = model(input_ids=input_ids, attention_mask=attention_mask,
                            pixel_values=pixel_values, labels=labels)
        total_loss += outputs.loss.item()
        num_batches += 1
    return total_loss / num_batches


def fit(model, train_loader, valid_loader, out_dir, device, epochs=1, lr=4e-5, gamma=0.9) -> list[dict]:
    """Train for ``epochs``, keep the best model in ``out_dir``, and return one dict per epoch."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=gamma)

    use_cuda = _device_type(device) == "cuda"
    amp_dtype = torch.float16 if use_cuda else None
    scaler = torch.amp.GradScaler("cuda") if use_cuda else None

    best_valid = math.inf
    history: list[dict] = []
    for epoch in range(epochs):
        lr_now = scheduler.get_last_lr()[0]
        train_loss = train_one_epoch(model, train_loader, optimizer, device, scaler, amp_dtype)
        valid_loss = evaluate(model, valid_loader, device, amp_dtype)
        scheduler.step()

        improved = valid_loss < best_valid
        if improved:
            best_valid = valid_loss
            model.save_pretrained(out_dir)
        print(f"Epoch {epoch + 1}/{epochs}: train {train_loss:.4f} valid {valid_loss:.4f} lr {lr_now:.2e}"
              + (" (saved)" if improved else ""))
        history.append({"epoch": epoch + 1, "lr": lr_now, "train_loss": train_loss,
                        "valid_loss": valid_loss, "saved": improved})
    return history
