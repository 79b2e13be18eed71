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
    processor = BlipProcessor.from_pretrained(model_dir)
    model = BlipForQuestionAnswering.from_pretrained(model_dir).eval().to(device)
    return model, processor


def answer_question(model, processor, image, question, device, max_new_tokens=10):
    """Answer one question about one PIL image; return the decoded text without special tokens."""
    inputs = processor(images=image.convert("RGB"), text=question, padding="max_length",
                       max_length=QUESTION_MAX_LENGTH, truncation=True, return_tensors="pt")
    input_ids = inputs["input_ids"].to(device)
    attention_mask = inputs["attention_mask"].to(device)
    pixel_values = inputs["pixel_values"].to(device=device, dtype=model.dtype)
    with torch.inference_mode():
        ids = model.generate(input_ids=input_ids, attention_mask=attention_mask, pixel_values=pixel_values,
                             max_new_tokens=max_new_tokens)
    return processor.decode(ids[0], skip_special_tokens=True).strip()


def predict_folder(model, processor, test_dir, device):
    """Answer every test item: test_dir/<id>/{data.json, image.png} -> {id: answer}."""
    out = {}
    for folder in sorted(Path(test_dir).iterdir()):
        if folder.is_dir():
            info = json.loads((folder / "data.json").read_text())
            img = Image.open(folder / "image.png")
            out[folder.name] = answer_question(model, processor, img, info["question"], device)
    return out
