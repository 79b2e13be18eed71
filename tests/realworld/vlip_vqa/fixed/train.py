"""Exercise "train": the vlip_vqa fine-tuning loop (Config dataclass, clip_grad_norm_, ExponentialLR, early stopping), fixed."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from torch.nn.utils import clip_grad_norm_
from tqdm import tqdm

try:
    import wandb
except ImportError:
    wandb = None

BATCH_KEYS = ("input_ids", "attention_mask", "pixel_values", "labels")


@dataclass
class Config:
    wandb_project: str = "vlip_vqa"
    model: str = "Salesforce/blip-vqa-base"
    processor: str = "Salesforce/blip-vqa-base"
    device: str = "cuda" if torch.cuda.is_available() else "cpu"
    train_seed: int = 1
    lr: float = 4e-5
    grad_clip: int = 1
    scheduler_gamma: int = 0.9
    batch_size: int = 4
    num_epochs: int = 10
    patience: int = 5
    seed: int = 1


config = Config()


def _autocast(device, amp_dtype):
    if amp_dtype is None:
        return contextlib.nullcontext()
    return torch.amp.autocast(device_type=torch.device(device).type, dtype=amp_dtype)


def train_one_epoch(model, loader, optimizer, device, scaler=None, amp_dtype=None):
    train_loss = 0
    model.train()
    for idx, batch in zip(tqdm(range(len(loader)), desc="Training batch: ..."), loader):
        input_ids = batch.pop("input_ids").to(device)
        pixel_values = batch.pop("pixel_values").to(device)
        attention_masked = batch.pop("attention_mask").to(device)
        labels = batch.pop("labels").to(device)

        with _autocast(device, amp_dtype):
            outputs = model(input_ids=input_ids,
                            pixel_values=pixel_values,
                            attention_mask=attention_masked,
                            labels=labels)

        loss = outputs.loss
        train_loss += loss.item()
        optimizer.zero_grad()
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            clip_grad_norm_(model.parameters(), max_norm=config.grad_clip)
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            clip_grad_norm_(model.parameters(), max_norm=config.grad_clip)
            optimizer.step()
    return train_loss / max(1, len(loader))


def evaluate(model, loader, device, amp_dtype=None):
    model.eval()
    eval_loss = 0
    with torch.no_grad():
        for idx, batch in zip(tqdm(range(len(loader)), desc="Validating batch: ..."), loader):
            input_ids = batch.pop("input_ids").to(device)
            pixel_values = batch.pop("pixel_values").to(device)
            attention_masked = batch.pop("attention_mask").to(device)
            labels = batch.pop("labels").to(device)

            with _autocast(device, amp_dtype):
                outputs = model(input_ids=input_ids,
                                pixel_values=pixel_values,
                                attention_mask=attention_masked,
                                labels=labels)

            loss = outputs.loss
            eval_loss += loss.item()
    return eval_loss / max(1, len(loader))


def fit(model, train_loader, valid_loader, out_dir, device, epochs=1, lr=4e-5, gamma=0.9):
    config = Config(lr=lr, scheduler_gamma=gamma, num_epochs=epochs)
    if wandb is not None:
        wandb.init(project=config.wandb_project, mode="disabled")

    model.to(device)
    torch.cuda.empty_cache()

    use_amp = torch.device(device).type == "cuda"
    amp_dtype = torch.float16 if use_amp else None
    scaler = torch.amp.GradScaler("cuda") if use_amp else None

    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=config.scheduler_gamma)

    num_epochs = config.num_epochs
    patience = config.patience
    min_eval_loss = float("inf")
    early_stopping_hook = 0
    history = []

    for epoch in tqdm(range(num_epochs)):
        current_lr = optimizer.param_groups[0]["lr"]
        train_loss = train_one_epoch(model, train_loader, optimizer, device, scaler=scaler, amp_dtype=amp_dtype)
        if wandb is not None:
            wandb.log({"train_loss": train_loss})

        eval_loss = evaluate(model, valid_loader, device, amp_dtype=amp_dtype)
        if wandb is not None:
            wandb.log({"eval_loss": eval_loss})

        scheduler.step()
        saved = False
        if eval_loss < min_eval_loss:
            model.save_pretrained(out_dir)
            print("Saved model checkpoint")
            min_eval_loss = eval_loss
            early_stopping_hook = 0
            saved = True
        else:
            early_stopping_hook += 1
        history.append({"epoch": epoch + 1, "train_loss": train_loss, "valid_loss": eval_loss,
                        "lr": current_lr, "saved": saved})
        if early_stopping_hook > patience:
            break

    print("The finetuning process has done!")
    return history
