"""Exercise "train", ported from Tanish-pat/vr_project (finetuning/Updated_Finetuning_with_LORA.py), as written.

The source trains in full precision (MIXED_PRECISION = None, USE_AMP = False) with gradient accumulation,
gradient clipping, an 8-bit AdamW from bitsandbytes when available (weight decay off for biases and
LayerNorms), a linear warmup schedule stepped per optimizer step, a checkpoint every epoch plus a
best_model folder, JSON metadata beside each checkpoint, and one try/except around the whole loop.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import os
import time
import traceback
from datetime import datetime, timedelta

import torch
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup

BATCH_KEYS = ("input_ids", "attention_mask", "pixel_values", "labels")


# Configuration
class Config:
    # Training parameters
    LEARNING_RATE = 2e-4
    WARMUP_RATIO = 0.1
    WEIGHT_DECAY = 0.01
    GRADIENT_ACCUMULATION_STEPS = 4

    # Optimization and logging
    FP16 = True
    LOG_EVERY = 100
    MIXED_PRECISION = None
    USE_AMP = False


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
    """Save metadata about the checkpoint to a JSON file"""
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

    metadata_path = os.path.join(os.path.dirname(checkpoint_path),
                                 os.path.basename(checkpoint_path) + "_metadata.json")

    with open(metadata_path, "w") as f:
        json.dump(metadata, f, indent=2)

    log_info(f"Checkpoint metadata saved to {metadata_path}")
    return metadata_path


def train_one_epoch(model, loader, optimizer, device, scaler=None, amp_dtype=None, lr_scheduler=None):
    """Train one pass over ``loader`` and return the mean batch loss (a float)."""
    model.train()
    train_loss = torch.tensor(0.0, device=device)
    global_step = 0
    datapoints_processed = 0
    start_time = time.time()

    # Setup progress bar
    progress_bar = tqdm(enumerate(loader), total=len(loader), desc="Training")

    for step, batch in progress_bar:
        batch = {k: v.to(device) for k, v in batch.items()}

        # Forward pass
        outputs = model(**batch)
        loss = outputs.loss

        # Backward pass (non-in-place)
        scaled_loss = loss / config.GRADIENT_ACCUMULATION_STEPS
        scaled_loss.backward()

        # Track loss without in-place operations
        train_loss = train_loss + loss.detach()
        datapoints_processed += batch["input_ids"].shape[0]

        # Optimizer step
        if (step + 1) % config.GRADIENT_ACCUMULATION_STEPS == 0 or step == len(loader) - 1:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
            if lr_scheduler is not None:
                lr_scheduler.step()
            optimizer.zero_grad()

            global_step += 1

            progress_bar.set_postfix({
                "loss": f"{loss.item():.4f}",
                "datapoints": f"{datapoints_processed}"
            })

            if global_step % config.LOG_EVERY == 0:
                current_lr = lr_scheduler.get_last_lr()[0] if lr_scheduler else optimizer.param_groups[0]["lr"]
                elapsed = time.time() - start_time
                log_info(
                    f"Step {global_step} | "
                    f"Loss: {loss.item():.4f} | "
                    f"LR: {current_lr:.7f} | "
                    f"Data points: {datapoints_processed} | "
                    f"Time: {timedelta(seconds=int(elapsed))}"
                )

    return train_loss.item() / len(loader)


def evaluate(model, loader, device, amp_dtype=None):
    """Return the mean validation loss, without changing any weight."""
    model.eval()
    val_loss = torch.tensor(0.0, device=device)

    with torch.no_grad():
        for batch in tqdm(loader, desc="Validation"):
            batch = {k: v.to(device) for k, v in batch.items()}
            outputs = model(**batch)
            val_loss = val_loss + outputs.loss

    avg_val_loss = val_loss.item() / len(loader)
    print(f"Validation loss: {avg_val_loss:.4f}")
    return avg_val_loss


def fit(model, train_loader, valid_loader, out_dir, device, epochs=1, lr=4e-5, gamma=0.9):
    """Train for ``epochs``, keep the best model in ``out_dir``, and return one dict per epoch."""
    os.makedirs(out_dir, exist_ok=True)

    try:
        import bitsandbytes as bnb
        use_8bit_optimizer = hasattr(bnb, "optim") and hasattr(bnb.optim, "AdamW8bit")
    except Exception:
        bnb = None
        use_8bit_optimizer = False

    if use_8bit_optimizer:
        log_info("Using 8-bit AdamW optimizer")
    else:
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

    if use_8bit_optimizer:
        try:
            optimizer = bnb.optim.AdamW8bit(
                optimizer_grouped_parameters,
                lr=lr,
                betas=(0.9, 0.999),
                eps=1e-8
            )
        except Exception:
            log_info("8-bit optimizer failed, falling back to standard AdamW")
            optimizer = torch.optim.AdamW(optimizer_grouped_parameters, lr=lr)
    else:
        optimizer = torch.optim.AdamW(optimizer_grouped_parameters, lr=lr)

    total_steps = len(train_loader) * epochs // config.GRADIENT_ACCUMULATION_STEPS
    warmup_steps = int(total_steps * config.WARMUP_RATIO)

    lr_scheduler = get_linear_schedule_with_warmup(
        optimizer,
        num_warmup_steps=warmup_steps,
        num_training_steps=total_steps
    )

    log_info(f"Mixed precision: {config.MIXED_PRECISION}")

    # Initialize counters
    global_step = 0
    datapoints_processed = 0
    steps_per_epoch = math.ceil(len(train_loader) / config.GRADIENT_ACCUMULATION_STEPS)
    best_val_loss = float("inf")
    start_time = time.time()
    history = []

    try:
        for epoch in range(epochs):
            epoch_start = time.time()

            # Training phase
            avg_train_loss = train_one_epoch(model, train_loader, optimizer, device, lr_scheduler=lr_scheduler)
            global_step += steps_per_epoch
            datapoints_processed += len(getattr(train_loader, "dataset", ()))
            print(f"Epoch {epoch+1} completed, Avg. train loss: {avg_train_loss:.4f}")

            # Validation phase
            avg_val_loss = evaluate(model, valid_loader, device)

            epoch_time = time.time() - epoch_start
            log_info(
                f"Epoch {epoch+1}/{epochs} completed in {timedelta(seconds=int(epoch_time))} | "
                f"Train Loss: {avg_train_loss:.4f} | Val Loss: {avg_val_loss:.4f}"
            )

            # Save epoch checkpoint
            epoch_checkpoint_path = os.path.join(out_dir, f"checkpoint-epoch-{epoch+1}")
            model.save_pretrained(epoch_checkpoint_path)

            current_lr = lr_scheduler.get_last_lr()[0] if lr_scheduler else lr
            save_checkpoint_metadata(
                checkpoint_path=epoch_checkpoint_path,
                epoch=epoch,
                global_step=global_step,
                datapoints_processed=datapoints_processed,
                train_loss=avg_train_loss,
                val_loss=avg_val_loss,
                lr=current_lr
            )

            # Save best model if val loss improved
            saved = False
            if avg_val_loss < best_val_loss:
                best_val_loss = avg_val_loss
                best_checkpoint_path = os.path.join(out_dir, "best_model")
                model.save_pretrained(best_checkpoint_path)

                save_checkpoint_metadata(
                    checkpoint_path=best_checkpoint_path,
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
