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
    model = BlipForQuestionAnswering.from_pretrained(model_dir)
    model.eval()
    model.to(device)
    processor = BlipProcessor.from_pretrained(model_dir)
    return model, processor


def answer_question(model, processor, image, question, device, max_new_tokens=10):
    """Answer one question about one PIL image; return the decoded text without special tokens."""
    inputs = processor(images=image.convert("RGB"), text=question, padding="max_length",
                       max_length=QUESTION_MAX_LENGTH, truncation=True, return_tensors="pt")
    inputs = {key: value.to(device) for key, value in inputs.items()}
    inputs["pixel_values"] = inputs["pixel_values"].to(next(model.parameters()).dtype)
    with torch.inference_mode():
        generated = model.generate(**inputs, max_new_tokens=max_new_tokens)
    return processor.batch_decode(generated, skip_special_tokens=True)[0]


def predict_folder(model, processor, test_dir, device):
    """Answer every test item: test_dir/<id>/{data.json, image.png} -> {id: answer}."""
    preds = {}
    for sub in Path(test_dir).iterdir():
        if not sub.is_dir():
            continue
        with open(sub / "data.json", encoding="utf-8") as fp:
            question = json.load(fp)["question"]
        with Image.open(sub / "image.png") as img:
            preds[sub.name] = answer_question(model, processor, img, question, device)
    return preds
