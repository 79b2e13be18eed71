"""Exercise "train", ported from Tanish-pat/vr_project (finetuning/Updated_Finetuning_with_LORA.py), contract fixed.

The source's loop, with its gradient clipping, AdamW with weight decay off for biases and LayerNorms,
tensor loss accumulation, tqdm postfix, periodic log_info lines, JSON metadata beside the best checkpoint,
memory cleanup after each epoch and one try/except around the whole loop.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import time
import traceback
from datetime import datetime, timedelta

import torch
from tqdm.auto import tqdm

BATCH_KEYS = ("input_ids", "attention_mask", "pixel_values", "labels")


# Configuration
class Config:
    # Training parameters
    LEARNING_RATE = 2e-4
    WEIGHT_DECAY = 0.01

    # Optimization and logging
    FP16 = True
    LOG_EVERY = 100


config = Config()


def log_info(message):
    """Log information to console"""
    print(f"[INFO] {message}")


def _autocast(device, amp_dtype):
    """Autocast on ``device``'s type when ``amp_dtype`` is given, otherwise nothing."""
    if amp_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=amp_dtype)


def save_checkpoint_metadata(checkpoint_path, epoch, global_step, datapoints_processed,
                             train_loss, val_loss=None, lr=None):
    """Save metadata about the checkpoint to a JSON file inside the checkpoint folder"""
    metadata = {
        "timestamp": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        "checkpoint_path": checkpoint_path,
        "epoch": epoch + 1,
        "global_step": global_step,
        "datapoints_processed": datapoints_processed,
        "train_loss": train_loss,
        "learning_rate": lr,
        "val_loss": val_loss,
    }

    metadata_path = os.path.join(checkpoint_path, "checkpoint_metadata.json")

    with open(metadata_path, "w") as f:
        json.dump(metadata, f, indent=2)

    log_info(f"Checkpoint metadata saved to {metadata_path}")
    return metadata_path


def train_one_epoch(model, loader, optimizer, device, scaler=None, amp_dtype=None):
    """Train one pass over ``loader`` and return the mean batch loss (a float)."""
    model.train()
    train_loss = torch.tensor(0.0, device=device)
    global_step = 0
    datapoints_processed = 0
    start_time = time.time()

    # Setup progress bar
    progress_bar = tqdm(enumerate(loader), total=len(loader), desc="Training")

    for step, batch in progress_bar:
        # Only the needed inputs, on the device
        batch = {k: batch[k].to(device) for k in BATCH_KEYS}

        optimizer.zero_grad()

        # Forward pass
        with _autocast(device, amp_dtype):
            outputs = model(**batch)
            loss = outputs.loss

        # Backward pass, clipping and optimizer step
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()

        # Track loss without in-place operations
        train_loss = train_loss + loss.detach().float()
        datapoints_processed += batch["input_ids"].shape[0]
        global_step += 1

        progress_bar.set_postfix({
            "loss": f"{loss.item():.4f}",
            "datapoints": f"{datapoints_processed}"
        })

        if global_step % config.LOG_EVERY == 0:
            current_lr = optimizer.param_groups[0]["lr"]
            elapsed = time.time() - start_time
            log_info(
                f"Step {global_step} | "
                f"Loss: {loss.item():.4f} | "
                f"LR: {current_lr:.7f} | "
                f"Data points: {datapoints_processed} | "
                f"Time: {timedelta(seconds=int(elapsed))}"
            )

    return train_loss.item() / max(len(loader), 1)


def evaluate(model, loader, device, amp_dtype=None):
    """Return the mean validation loss, without changing any weight."""
    model.eval()
    val_loss = torch.tensor(0.0, device=device)

    with torch.no_grad():
        for batch in tqdm(loader, desc="Validation"):
            batch = {k: batch[k].to(device) for k in BATCH_KEYS}
            with _autocast(device, amp_dtype):
                outputs = model(**batch)
            val_loss = val_loss + outputs.loss.float()

    avg_val_loss = val_loss.item() / max(len(loader), 1)
    print(f"Validation loss: {avg_val_loss:.4f}")
    return avg_val_loss


def fit(model, train_loader, valid_loader, out_dir, device, epochs=1, lr=4e-5, gamma=0.9):
    """Train for ``epochs``, keep the best model in ``out_dir``, and return one dict per epoch."""
    os.makedirs(out_dir, exist_ok=True)
    log_info("Using standard AdamW optimizer")

    no_decay = ["bias", "LayerNorm.weight", "layer_norm.weight"]
    optimizer_grouped_parameters = [
        {
            "params": [p for n, p in model.named_parameters()
                       if p.requires_grad and not any(nd in n for nd in no_decay)],
            "weight_decay": config.WEIGHT_DECAY,
        },
        {
            "params": [p for n, p in model.named_parameters()
                       if p.requires_grad and any(nd in n for nd in no_decay)],
            "weight_decay": 0.0,
        },
    ]
    optimizer = torch.optim.AdamW(optimizer_grouped_parameters, lr=lr)

    # One decay per epoch
    lr_scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=gamma)

    # fp16 autocast + GradScaler on CUDA, full precision on CPU
    use_amp = torch.device(device).type == "cuda"
    scaler = torch.amp.GradScaler("cuda") if use_amp else None
    amp_dtype = torch.float16 if use_amp else None
    log_info(f"Mixed precision: {'fp16' if use_amp else None}")

    # Initialize counters
    global_step = 0
    datapoints_processed = 0
    best_val_loss = float("inf")
    start_time = time.time()
    history = []

    try:
        for epoch in range(epochs):
            epoch_start = time.time()
            current_lr = lr_scheduler.get_last_lr()[0]

            # Training phase
            avg_train_loss = train_one_epoch(model, train_loader, optimizer, device,
                                             scaler=scaler, amp_dtype=amp_dtype)
            global_step += len(train_loader)
            datapoints_processed += len(getattr(train_loader, "dataset", ()))
            print(f"Epoch {epoch+1} completed, Avg. train loss: {avg_train_loss:.4f}")

            # Validation phase
            avg_val_loss = evaluate(model, valid_loader, device, amp_dtype=amp_dtype)
            lr_scheduler.step()

            epoch_time = time.time() - epoch_start
            log_info(
                f"Epoch {epoch+1}/{epochs} completed in {timedelta(seconds=int(epoch_time))} | "
                f"Train Loss: {avg_train_loss:.4f} | Val Loss: {avg_val_loss:.4f}"
            )

            # Save best model if val loss improved
            saved = False
            if avg_val_loss < best_val_loss:
                best_val_loss = avg_val_loss
                model.save_pretrained(out_dir)

                save_checkpoint_metadata(
                    checkpoint_path=out_dir,
                    epoch=epoch,
                    global_step=global_step,
                    datapoints_processed=datapoints_processed,
                    train_loss=avg_train_loss,
                    val_loss=avg_val_loss,
                    lr=current_lr
                )
                saved = True
                log_info(f"New best model saved with validation loss: {best_val_loss:.4f}")

            history.append({"epoch": epoch + 1, "train_loss": avg_train_loss, "valid_loss": avg_val_loss,
                            "lr": current_lr, "saved": saved})

            # Memory cleanup
            gc.collect()
            torch.cuda.empty_cache()

        # Training complete
        total_time = time.time() - start_time
        log_info(f"Training completed in {timedelta(seconds=int(total_time))}")
        log_info(f"Best validation loss: {best_val_loss:.4f}")

    except Exception as e:
        log_info(f"Training failed: {str(e)}")
        traceback.print_exc()
    finally:
        log_info("Training script finished.")

    return history
