"""Exercise "train", ported from BKAPADIA04/VR_Project (lora-final-model.ipynb), contract fixed.

The notebook's loop: each input moved by name (pixel values cast for the model), ``zero_grad`` before the
forward, autocast + GradScaler, a print every 10 steps and the epoch's average loss; validation averages
``outputs.loss.item()`` under ``torch.no_grad()``; the adapter is saved with ``save_pretrained``.
"""

from __future__ import annotations

import contextlib

import torch

BATCH_KEYS = ("input_ids", "attention_mask", "pixel_values", "labels")


def _autocast(device, amp_dtype):
    """Autocast on ``device``'s type when ``amp_dtype`` is given, otherwise nothing."""
    if amp_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=amp_dtype)


def _model_dtype(model):
    dtype = getattr(model, "dtype", None)
    if isinstance(dtype, torch.dtype):
        return dtype
    for param in model.parameters():
        if param.is_floating_point():
            return param.dtype
    return torch.float32


def train_one_epoch(model, loader, optimizer, device, scaler=None, amp_dtype=None, epoch=0):
    """Train one pass over ``loader`` and return the mean batch loss (a float)."""
    model.train()
    total_loss = 0
    dtype = _model_dtype(model)
    for step, batch in enumerate(loader):
        pixel_values = batch["pixel_values"].to(device, dtype=dtype)
        input_ids = batch["input_ids"].to(device)
        attention_mask = batch["attention_mask"].to(device)
        labels = batch["labels"].to(device)

        optimizer.zero_grad()
        with _autocast(device, amp_dtype):
            outputs = model(
                pixel_values=pixel_values,  # Image features
                input_ids=input_ids,        # Text input (question)
                attention_mask=attention_mask,  # Attention mask
                labels=labels               # Labels for the answer
            )
            loss = outputs.loss

        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()

        total_loss += loss.item()
        if step % 10 == 0:
            print(f"Epoch {epoch+1}, Step {step}, Loss: {loss.item():.4f}")

    avg_loss = total_loss / max(len(loader), 1)
    print(f"Epoch {epoch+1} complete. Avg Loss: {avg_loss:.4f}")
    return avg_loss


def evaluate(model, loader, device, amp_dtype=None):
    """Return the mean validation loss, without changing any weight."""
    model.eval()
    val_loss = 0.0
    dtype = _model_dtype(model)
    with torch.no_grad():
        for batch in loader:
            pixel_values = batch["pixel_values"].to(device, dtype)
            input_ids = batch["input_ids"].to(device)
            attention_mask = batch["attention_mask"].to(device)
            labels = batch["labels"].to(device)

            with _autocast(device, amp_dtype):
                outputs = model(
                    pixel_values=pixel_values,
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    labels=labels
                )
            val_loss += outputs.loss.item()
    val_loss /= max(len(loader), 1)
    return val_loss


def fit(model, train_loader, valid_loader, out_dir, device, epochs=1, lr=4e-5, gamma=0.9):
    """Train for ``epochs``, keep the best model in ``out_dir``, and return one dict per epoch."""
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    lr_scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=gamma)

    use_amp = torch.device(device).type == "cuda"
    scaler = torch.amp.GradScaler("cuda") if use_amp else None
    amp_dtype = torch.float16 if use_amp else None

    best_val_loss = float("inf")
    history = []
    for epoch in range(epochs):
        current_lr = optimizer.param_groups[0]["lr"]
        avg_loss = train_one_epoch(model, train_loader, optimizer, device, scaler=scaler,
                                   amp_dtype=amp_dtype, epoch=epoch)

        val_loss = evaluate(model, valid_loader, device, amp_dtype=amp_dtype)
        print(f"Epoch {epoch}: validation loss = {val_loss}")
        lr_scheduler.step()

        saved = False
        if val_loss < best_val_loss:
            best_val_loss = val_loss
            save_path = out_dir
            model.save_pretrained(save_path)
            print(f"LoRA adapter saved at: {save_path}")
            saved = True

        history.append({"epoch": epoch + 1, "train_loss": avg_loss, "valid_loss": val_loss,
                        "lr": current_lr, "saved": saved})
    return history
