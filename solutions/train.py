"""Exercise "train" (lab section 2.4): the training loop, on GPU (fp16 autocast + GradScaler) and on CPU.

Bài tập "train" (mục 2.4): vòng lặp huấn luyện, chạy được trên GPU (fp16 autocast + GradScaler) và CPU.
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
    """Train one pass over ``loader`` and return the mean batch loss (a float).

    TODO: model.train(); for each batch move input_ids, attention_mask, pixel_values and labels to
    ``device`` and pass all four to the model (the original lab forgot attention_mask in training); run the forward
    pass under torch.autocast(device_type=device.type, dtype=amp_dtype) when amp_dtype is given (never a
    hard-coded 'cuda'); optimizer.zero_grad() every step; with a scaler: scaler.scale(loss).backward(),
    scaler.step(optimizer), scaler.update(); without: loss.backward(), optimizer.step().
    TODO: model.train(); đưa input_ids, attention_mask, pixel_values, labels lên ``device`` và truyền cả bốn
    vào mô hình (bản gốc quên attention_mask khi train); dùng torch.autocast(device_type=device.type,
    dtype=amp_dtype) khi có amp_dtype (đừng cố định 'cuda'); zero_grad mỗi bước; có scaler thì
    scaler.scale(loss).backward(), scaler.step(optimizer), scaler.update(); không có thì backward + step.
    """
    # BEGIN SOLUTION
    device = torch.device(device)
    model.train()
    losses = []
    for batch in tqdm(loader, desc="train", leave=False):
        inputs = {key: batch[key].to(device) for key in BATCH_KEYS}
        with _autocast(device, amp_dtype):
            loss = model(**inputs).loss
        optimizer.zero_grad()
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        losses.append(loss.item())
    return sum(losses) / len(losses)
    # END SOLUTION


def evaluate(model, loader, device, amp_dtype=None):
    """Return the mean validation loss, without changing any weight.

    TODO: model.eval(); run under torch.no_grad() (the original lab computed gradients during validation);
    pass the same four inputs as in training; autocast as in train_one_epoch.
    TODO: model.eval(); chạy trong torch.no_grad() (bản gốc vẫn tính gradient khi validate); truyền đủ
    bốn đầu vào như khi train; autocast như trong train_one_epoch.
    """
    # BEGIN SOLUTION
    device = torch.device(device)
    model.eval()
    losses = []
    with torch.no_grad():
        for batch in tqdm(loader, desc="valid", leave=False):
            inputs = {key: batch[key].to(device) for key in BATCH_KEYS}
            with _autocast(device, amp_dtype):
                losses.append(model(**inputs).loss.item())
    return sum(losses) / len(losses)
    # END SOLUTION


def fit(model, train_loader, valid_loader, out_dir, device, epochs=1, lr=4e-5, gamma=0.9):
    """Train for ``epochs``, keep the best model in ``out_dir``, and return one dict per epoch.

    Each dict: {"epoch": 1-based, "train_loss", "valid_loss", "lr": the rate used this epoch, "saved": bool}.

    TODO: AdamW over the trainable parameters only, lr=lr; ExponentialLR(optimizer, gamma) stepped once per
    epoch (no verbose=: removed in torch 2.7); on CUDA use fp16 autocast and torch.amp.GradScaler("cuda")
    (torch.cuda.amp.GradScaler is deprecated), on CPU neither; model.save_pretrained(out_dir) only when the
    validation loss beats the best so far — store the number, not the list (the original lab's bug).
    TODO: AdamW chỉ trên tham số trainable, lr=lr; ExponentialLR(optimizer, gamma) mỗi epoch một lần (không
    có verbose=); trên CUDA dùng fp16 autocast và torch.amp.GradScaler("cuda"), trên CPU thì không;
    chỉ save_pretrained(out_dir) khi valid loss tốt hơn trước — lưu con số, không lưu cả list (lỗi bản gốc).
    """
    # BEGIN SOLUTION
    device = torch.device(device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=gamma)
    on_cuda = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda") if on_cuda else None
    amp_dtype = torch.float16 if on_cuda else None
    best = float("inf")
    history = []
    for epoch in range(1, epochs + 1):
        current_lr = optimizer.param_groups[0]["lr"]
        train_loss = train_one_epoch(model, train_loader, optimizer, device, scaler=scaler, amp_dtype=amp_dtype)
        valid_loss = evaluate(model, valid_loader, device, amp_dtype=amp_dtype)
        scheduler.step()
        saved = valid_loss < best
        if saved:
            best = valid_loss
            model.save_pretrained(out_dir)
        history.append(
            {"epoch": epoch, "train_loss": train_loss, "valid_loss": valid_loss, "lr": current_lr, "saved": saved}
        )
    return history
    # END SOLUTION
