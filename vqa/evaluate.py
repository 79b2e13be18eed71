"""Held-out accuracy of a model on a data folder's test split, batched, the same way before and after training."""

from __future__ import annotations

from pathlib import Path

from vqa import data, metrics


def predict_batched(
    model,
    processor,
    data_dir: str | Path,
    device,
    batch_size: int = 32,
    max_new_tokens: int = 10,
    question_max_length: int = 32,
    progress: bool = False,
) -> dict[str, str]:
    """{id: answer} for every test item, generated in batches without gradients."""
    import torch
    from PIL import Image

    from vqa.progress import bar

    items = data.read_test_items(data_dir)
    root = Path(data_dir) / data.TEST_DIR
    ids = list(items)
    answers: dict[str, str] = {}
    dtype = next(model.parameters()).dtype
    model.eval()
    for start in bar(
        range(0, len(ids), batch_size), desc="answering", disable=not progress, leave=False
    ):
        chunk = ids[start : start + batch_size]
        images = []
        for item_id in chunk:
            with Image.open(root / item_id / "image.png") as image:
                images.append(image.convert("RGB"))
        enc = processor(
            images=images,
            text=[items[i]["question"] for i in chunk],
            padding="max_length",
            max_length=question_max_length,
            truncation=True,
            return_tensors="pt",
        )
        enc = {k: v.to(device) for k, v in enc.items() if k != "token_type_ids"}
        enc["pixel_values"] = enc["pixel_values"].to(dtype)
        with torch.no_grad():
            out = model.generate(**enc, max_new_tokens=max_new_tokens)
        for item_id, tokens in zip(chunk, out):
            answers[item_id] = processor.decode(tokens, skip_special_tokens=True).strip()
    return answers


def accuracy(model, processor, data_dir: str | Path, device, progress: bool = False) -> dict | None:
    """Exact and normalised accuracy on the test split, or None when the folder has no test answers."""
    answers = data.read_test_answers(data_dir)
    if answers is None:
        return None
    predictions = predict_batched(model, processor, data_dir, device, progress=progress)
    return metrics.score(predictions, answers)
