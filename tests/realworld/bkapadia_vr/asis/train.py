"""Exercise "train", ported from BKAPADIA04/VR_Project (lora-final-model.ipynb), as written.

The notebook's loop: pixel values cast to float16, ``torch.cuda.amp.autocast()`` and a
``torch.cuda.amp.GradScaler()`` always, AdamW over ``model.parameters()``, a cosine schedule with 100
warmup steps stepped every batch, a print every 10 steps, and one ``save_pretrained`` after training.
Its validation loop (from the author's earlier blip-final-2.ipynb) averages ``outputs.loss.item()``
under ``torch.no_grad()``.
"""

from __future__ import annotations

import contextlib

import torch
from transformers import get_scheduler

BATCH_KEYS = ("input_ids", "attention_mask", "pixel_values", "labels")


def _autocast(device, amp_dtype):
    """Autocast on ``device``'s type when ``amp_dtype`` is given, otherwise nothing."""
    if amp_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=amp_dtype)


def train_one_epoch(model, loader, optimizer, device, scaler=None, amp_dtype=None, lr_scheduler=None, epoch=0):
    """Train one pass over ``loader`` and return the mean batch loss (a float)."""
    model.train()
    total_loss = 0
    for step, batch in enumerate(loader):
        pixel_values = batch["pixel_values"].to(device, dtype=torch.float16)
        input_ids = batch["input_ids"].to(device)
        attention_mask = batch["attention_mask"].to(device)
        labels = batch["labels"].to(device)

        optimizer.zero_grad()
        with torch.cuda.amp.autocast():
            # Correct forward pass without 'inputs_embeds'
            outputs = model(
                pixel_values=pixel_values,  # Image features
                input_ids=input_ids,        # Text input (question)
                attention_mask=attention_mask,  # Attention mask
                labels=labels               # Labels for the answer
            )
            loss = outputs.loss

        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if lr_scheduler is not None:
            lr_scheduler.step()

        total_loss += loss.item()
        if step % 10 == 0:
            print(f"Epoch {epoch+1}, Step {step}, Loss: {loss.item():.4f}")

    avg_loss = total_loss / len(loader)
    print(f"Epoch {epoch+1} complete. Avg Loss: {avg_loss:.4f}")
    return avg_loss


def evaluate(model, loader, device, amp_dtype=None):
    """Return the mean validation loss, without changing any weight."""
    model.eval()
    val_loss = 0.0
    with torch.no_grad():
        for batch in loader:
            pixel_values = batch["pixel_values"].to(device, torch.float16)
            input_ids = batch["input_ids"].to(device)
            attention_mask = batch["attention_mask"].to(device)
            labels = batch["labels"].to(device)

            with torch.cuda.amp.autocast():
                outputs = model(
                    pixel_values=pixel_values,
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    labels=labels
                )
            val_loss += outputs.loss.item()
    val_loss /= len(loader)
    return val_loss


def fit(model, train_loader, valid_loader, out_dir, device, epochs=1, lr=4e-5, gamma=0.9):
    """Train for ``epochs``, keep the best model in ``out_dir``, and return one dict per epoch."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    lr_scheduler = get_scheduler("cosine", optimizer=optimizer, num_warmup_steps=100, num_training_steps=len(train_loader)*3)

    scaler = torch.cuda.amp.GradScaler()

    history = []
    for epoch in range(epochs):
        current_lr = optimizer.param_groups[0]["lr"]
        avg_loss = train_one_epoch(model, train_loader, optimizer, device, scaler=scaler,
                                   lr_scheduler=lr_scheduler, epoch=epoch)

        val_loss = evaluate(model, valid_loader, device)
        print(f"Epoch {epoch}: validation loss = {val_loss}")
        history.append({"epoch": epoch + 1, "train_loss": avg_loss, "valid_loss": val_loss,
                        "lr": current_lr, "saved": False})

    save_path = out_dir
    model.save_pretrained(save_path)
    print(f"LoRA adapter saved at: {save_path}")
    if history:
        history[-1]["saved"] = True
    return history
