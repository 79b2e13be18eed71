"""Train exercise, ported from SpatialMQA's Code/finetune/blip-vqa-base.py.

The script accumulates the loss over ``cal_num`` batches before each GradScaler step, runs the forward
pass under fp16 autocast on 'cuda', validates every epoch, steps ExponentialLR once per epoch, saves
an ``epoch-{epoch}`` folder whenever the summed eval loss improves, stops early after ``patience``
epochs without improvement and pickles (train loss, eval loss, lr) per epoch.
"""

from __future__ import annotations

import contextlib
import os
import pickle

import torch
from tqdm.auto import tqdm

BATCH_KEYS = ("input_ids", "attention_mask", "pixel_values", "labels")

cal_num = 2


def _autocast(device, amp_dtype):
    """Autocast on ``device``'s type when ``amp_dtype`` is given, otherwise nothing."""
    if amp_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=amp_dtype)


def train_one_epoch(model, loader, optimizer, device, scaler=None, amp_dtype=None):
    if scaler is None:
        scaler = torch.cuda.amp.GradScaler()
    epoch_loss = 0
    model.train()
    cal_loss = 0
    for idx, batch in zip(tqdm(range(len(loader)), desc='Training batch: ...'), loader):
        input_ids = batch.pop('input_ids').to(device)
        pixel_values = batch.pop('pixel_values').to(device)
        attention_masked = batch.pop('attention_mask').to(device)
        labels = batch.pop('labels').to(device)

        with torch.amp.autocast(device_type='cuda', dtype=torch.float16):
            outputs = model(input_ids=input_ids,
                            pixel_values=pixel_values,
                            attention_mask=attention_masked,
                            labels=labels)
        optimizer.zero_grad()
        loss = outputs.loss
        cal_loss += loss

        epoch_loss += loss.item()

        if (idx + 1) % cal_num == 0 or idx == len(loader) - 1:
            if (idx + 1) % cal_num == 0:
                cal_loss = cal_loss / cal_num
            else:
                cal_loss = cal_loss / ((idx + 1) % cal_num)
            scaler.scale(cal_loss).backward()
            scaler.step(optimizer)
            scaler.update()
            cal_loss = 0

    return epoch_loss / len(loader)


def evaluate(model, loader, device, amp_dtype=None):
    model.eval()
    eval_loss = 0
    for idx, batch in zip(tqdm(range(len(loader)), desc='Validating batch: ...'), loader):
        input_ids = batch.pop('input_ids').to(device)
        pixel_values = batch.pop('pixel_values').to(device)
        attention_masked = batch.pop('attention_mask').to(device)
        labels = batch.pop('labels').to(device)

        with torch.amp.autocast(device_type='cuda', dtype=torch.float16):
            outputs = model(input_ids=input_ids,
                            pixel_values=pixel_values,
                            attention_mask=attention_masked,
                            labels=labels)

        loss = outputs.loss
        eval_loss += loss.item()

    return eval_loss / len(loader)


def fit(model, train_loader, valid_loader, out_dir, device, epochs=1, lr=4e-5, gamma=0.9):
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=gamma, last_epoch=-1, verbose=False)

    num_epochs = epochs
    patience = 5
    min_eval_loss = float("inf")
    early_stopping_hook = 0
    tracking_information = []
    history = []
    scaler = torch.cuda.amp.GradScaler()

    for epoch in range(num_epochs):
        epoch_lr = optimizer.param_groups[0]["lr"]
        train_loss = train_one_epoch(model, train_loader, optimizer, device, scaler=scaler)
        eval_loss = evaluate(model, valid_loader, device)

        tracking_information.append((train_loss, eval_loss, optimizer.param_groups[0]["lr"]))
        print("Epoch: {} - Training loss: {} - Eval Loss: {} - LR: {}".format(epoch + 1, train_loss, eval_loss,
                                                                              optimizer.param_groups[0]["lr"]))
        scheduler.step()
        saved = False
        if eval_loss < min_eval_loss:
            model.save_pretrained(os.path.join(out_dir, f"epoch-{epoch}"), from_pt=True)
            print(f"Saved model to {os.path.join(out_dir, f'epoch-{epoch}')}")
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
