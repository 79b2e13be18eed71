"""Train exercise, ported from the PathVQA LoRA notebook (blip_peft.ipynb, optimizer cell + training cell).

The notebook trains with fp16 autocast and a GradScaler, validates every epoch, steps an ExponentialLR
once per epoch and saves the adapter when the eval loss improves, with early stopping after
``patience`` epochs without improvement.
"""

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
    device = torch.device(device)
    epoch_loss = 0
    model.train()

    for batch in tqdm(loader, desc='Training Epoch'):
        input_ids = batch.pop('input_ids').to(device)
        pixel_values = batch.pop('pixel_values').to(device)
        attention_mask = batch.pop('attention_mask').to(device)
        labels = batch.pop('labels').to(device)

        with _autocast(device, amp_dtype):
            outputs = model(input_ids=input_ids,
                            pixel_values=pixel_values,
                            attention_mask=attention_mask,
                            labels=labels)

        loss = outputs.loss
        epoch_loss += loss.item()
        optimizer.zero_grad()

        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()

    return epoch_loss / len(loader)


def evaluate(model, loader, device, amp_dtype=None):
    device = torch.device(device)
    model.eval()
    eval_loss = 0

    with torch.no_grad():
        for batch in tqdm(loader, desc='Validating Epoch'):
            input_ids = batch.pop('input_ids').to(device)
            pixel_values = batch.pop('pixel_values').to(device)
            attention_mask = batch.pop('attention_mask').to(device)
            labels = batch.pop('labels').to(device)

            with _autocast(device, amp_dtype):
                outputs = model(input_ids=input_ids,
                                pixel_values=pixel_values,
                                attention_mask=attention_mask,
                                labels=labels)

            loss = outputs.loss
            eval_loss += loss.item()

    return eval_loss / len(loader)


def fit(model, train_loader, valid_loader, out_dir, device, epochs=1, lr=4e-5, gamma=0.9):
    device = torch.device(device)

    # Define optimizer (only the LoRA weights are trainable)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)

    # Learning rate scheduler
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=gamma, last_epoch=-1)

    # Training settings
    patience = 5
    min_eval_loss = float("inf")
    early_stopping_hook = 0
    if device.type == "cuda":
        scaler = torch.amp.GradScaler("cuda")
        amp_dtype = torch.float16
    else:
        scaler = None
        amp_dtype = None
    history = []

    for epoch in range(epochs):
        epoch_lr = optimizer.param_groups[0]["lr"]
        train_loss = train_one_epoch(model, train_loader, optimizer, device, scaler=scaler, amp_dtype=amp_dtype)
        eval_loss = evaluate(model, valid_loader, device, amp_dtype=amp_dtype)

        print(f"Epoch {epoch+1} - Train Loss: {train_loss:.4f} - Eval Loss: {eval_loss:.4f}")
        scheduler.step()

        # Save best model
        saved = False
        if eval_loss < min_eval_loss:
            model.save_pretrained(out_dir)
            print("Saved best peft-tuned model!")
            min_eval_loss = eval_loss
            early_stopping_hook = 0
            saved = True
        else:
            early_stopping_hook += 1

        history.append({"epoch": epoch + 1, "train_loss": train_loss, "valid_loss": eval_loss,
                        "lr": epoch_lr, "saved": saved})
        if early_stopping_hook > patience:
            break

    return history
