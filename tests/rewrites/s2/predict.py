"""Exercise "predict"."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from PIL import Image
from transformers import BlipForQuestionAnswering, BlipProcessor

QUESTION_MAX_LENGTH = 32  # the length VQADataset pads questions to in training


def load_for_inference(model_dir, device):
    """Return (model, processor) from a folder the pipeline wrote, the model in eval mode on ``device``."""
    device = torch.device(device)
    processor = BlipProcessor.from_pretrained(model_dir)
    model = BlipForQuestionAnswering.from_pretrained(model_dir)
    model.eval()
    model.to(device)
    return model, processor


def answer_question(model, processor, image, question, device, max_new_tokens=10):
    """Answer one question about one PIL image; return the decoded text without special tokens."""
    device = torch.device(device)
    dtype = next(model.parameters()).dtype
    image = image.convert("RGB")
    enc = processor(images=image, text=question, return_tensors="pt", padding="max_length",
                    max_length=QUESTION_MAX_LENGTH, truncation=True)
    input_ids = enc["input_ids"].to(device)
    attention_mask = enc["attention_mask"].to(device)
    pixel_values = enc["pixel_values"].to(device, dtype=dtype)
    with torch.inference_mode():
        out = model.generate(input_ids=input_ids, pixel_values=pixel_values, attention_mask=attention_mask,
                             max_new_tokens=max_new_tokens)
    return processor.decode(out[0], skip_special_tokens=True)


def predict_folder(model, processor, test_dir, device):
    """Answer every test item: test_dir/<id>/{data.json, image.png} -> {id: answer}."""
    answers = {}
    for item_dir in Path(test_dir).iterdir():
        if not item_dir.is_dir():
            continue
        meta = json.loads((item_dir / "data.json").read_text(encoding="utf-8"))
        image = Image.open(item_dir / "image.png")
        answers[item_dir.name] = answer_question(model, processor, image, meta["question"], device)
    return answers
