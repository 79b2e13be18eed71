"""Train exercise, ported from SpatialMQA's Code/finetune/blip-vqa-base.py.

The script runs the forward pass under fp16 autocast with a GradScaler on the GPU, validates every epoch,
steps ExponentialLR once per epoch, saves the model whenever the eval loss improves, stops early after
``patience`` epochs without improvement and pickles (train loss, eval loss, lr) per epoch.
"""

from __future__ import annotations

import contextlib
import os
import pickle

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
    for idx, batch in zip(tqdm(range(len(loader)), desc='Training batch: ...'), loader):
        input_ids = batch.pop('input_ids').to(device)
        pixel_values = batch.pop('pixel_values').to(device)
        attention_masked = batch.pop('attention_mask').to(device)
        labels = batch.pop('labels').to(device)

        with _autocast(device, amp_dtype):
            outputs = model(input_ids=input_ids,
                            pixel_values=pixel_values,
                            attention_mask=attention_masked,
                            labels=labels)
        optimizer.zero_grad()
        loss = outputs.loss

        epoch_loss += loss.item()

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
        for idx, batch in zip(tqdm(range(len(loader)), desc='Validating batch: ...'), loader):
            input_ids = batch.pop('input_ids').to(device)
            pixel_values = batch.pop('pixel_values').to(device)
            attention_masked = batch.pop('attention_mask').to(device)
            labels = batch.pop('labels').to(device)

            with _autocast(device, amp_dtype):
                outputs = model(input_ids=input_ids,
                                pixel_values=pixel_values,
                                attention_mask=attention_masked,
                                labels=labels)

            loss = outputs.loss
            eval_loss += loss.item()

    return eval_loss / len(loader)


def fit(model, train_loader, valid_loader, out_dir, device, epochs=1, lr=4e-5, gamma=0.9):
    device = torch.device(device)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=gamma, last_epoch=-1)

    num_epochs = epochs
    patience = 5
    min_eval_loss = float("inf")
    early_stopping_hook = 0
    tracking_information = []
    history = []
    if device.type == "cuda":
        scaler = torch.amp.GradScaler("cuda")
        amp_dtype = torch.float16
    else:
        scaler = None
        amp_dtype = None

    for epoch in range(num_epochs):
        epoch_lr = optimizer.param_groups[0]["lr"]
        train_loss = train_one_epoch(model, train_loader, optimizer, device, scaler=scaler, amp_dtype=amp_dtype)
        eval_loss = evaluate(model, valid_loader, device, amp_dtype=amp_dtype)

        tracking_information.append((train_loss, eval_loss, optimizer.param_groups[0]["lr"]))
        print("Epoch: {} - Training loss: {} - Eval Loss: {} - LR: {}".format(epoch + 1, train_loss, eval_loss,
                                                                              optimizer.param_groups[0]["lr"]))
        scheduler.step()
        saved = False
        if eval_loss < min_eval_loss:
            model.save_pretrained(out_dir, from_pt=True)
            print(f"Saved model to {out_dir}")
            min_eval_loss = eval_loss
            early_stopping_hook = 0
            saved = True
        else:
            early_stopping_hook += 1
        history.append({"epoch": epoch + 1, "train_loss": train_loss, "valid_loss": eval_loss,
                        "lr": epoch_lr, "saved": saved})
        if early_stopping_hook > patience:
            break

    os.makedirs(out_dir, exist_ok=True)
    pickle.dump(tracking_information, open(os.path.join(out_dir, "tracking_information.pkl"), "wb"))
    print("The finetuning process has done!")
    return history
