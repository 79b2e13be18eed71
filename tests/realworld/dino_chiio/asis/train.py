import pickle

import torch
from tqdm import tqdm


def train_one_epoch(model, loader, optimizer, device, scaler=None, amp_dtype=None):
    epoch_loss = 0
    model.train()
    for idx, batch in zip(tqdm(range(len(loader)), desc='Training batch: ...'), loader):
        input_ids = batch.pop('input_ids').to(device)
        pixel_values = batch.pop('pixel_values').to(device)
        attention_masked = batch.pop('attention_mask').to(device)
        labels = batch.pop('labels').to(device)

        with torch.amp.autocast(device_type='cuda', dtype=torch.float16):
            outputs = model(input_ids=input_ids,
                            pixel_values=pixel_values,
                            # attention_mask=attention_masked,
                            labels=labels)

        loss = outputs.loss
        epoch_loss += loss.item()
        # loss.backward()
        # optimizer.step()
        optimizer.zero_grad()

        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
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
    torch.cuda.empty_cache()
    torch.manual_seed(42)

    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=gamma, last_epoch=-1, verbose=False)

    num_epochs = epochs
    patience = 10
    min_eval_loss = float("inf")
    early_stopping_hook = 0
    tracking_information = []
    history = []
    scaler = torch.cuda.amp.GradScaler()

    for epoch in range(num_epochs):
        epoch_loss = train_one_epoch(model, train_loader, optimizer, device, scaler=scaler)
        eval_loss = evaluate(model, valid_loader, device)
        current_lr = optimizer.param_groups[0]["lr"]

        tracking_information.append((epoch_loss, eval_loss, current_lr))
        print("Epoch: {} - Training loss: {} - Eval Loss: {} - LR: {}".format(epoch+1, epoch_loss, eval_loss, current_lr))
        scheduler.step()
        saved = False
        if eval_loss < min_eval_loss:
            model.save_pretrained(out_dir, from_pt=True)
            print("Saved model to {}".format(out_dir))
            min_eval_loss = eval_loss
            early_stopping_hook = 0
            saved = True
        history.append({"epoch": epoch + 1, "train_loss": epoch_loss, "valid_loss": eval_loss,
                        "lr": current_lr, "saved": saved})
        if not saved:
            early_stopping_hook += 1
            if early_stopping_hook > patience:
                break

    pickle.dump(tracking_information, open("tracking_information.pkl", "wb"))
    print("The finetuning process has done!")
    return history
