"""Exercise "predict": load the saved model and answer questions about images."""

from __future__ import annotations

import json
import os

import torch
from PIL import Image
from transformers import BlipForQuestionAnswering, BlipProcessor

QUESTION_MAX_LENGTH = 32  # the length VQADataset pads questions to in training


def load_for_inference(model_dir, device):
    """Return (model, processor) from a folder the pipeline wrote, the model in eval mode on ``device``."""
    model = BlipForQuestionAnswering.from_pretrained(model_dir)
    model = model.to(device).eval()
    processor = BlipProcessor.from_pretrained(model_dir)
    return model, processor


def answer_question(model, processor, image, question, device, max_new_tokens=10):
    """Answer one question about one PIL image; return the decoded text without special tokens."""
    inputs = processor(
        images=image.convert("RGB"),
        text=question,
        padding="max_length",
        max_length=QUESTION_MAX_LENGTH,
        truncation=True,
        return_tensors="pt",
    )
    inputs = {k: v.to(device) for k, v in inputs.items()}
    inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)
    with torch.no_grad():
        output_ids = model.generate(**inputs, max_new_tokens=max_new_tokens)
    return processor.batch_decode(output_ids, skip_special_tokens=True)[0].strip()


def predict_folder(model, processor, test_dir, device):
    """Answer every test item: test_dir/<id>/{data.json, image.png} -> {id: answer}."""
    results = {}
    for name in sorted(os.listdir(test_dir)):
        folder = os.path.join(test_dir, name)
        if not os.path.isdir(folder):
            continue
        with open(os.path.join(folder, "data.json"), encoding="utf-8") as f:
            data = json.load(f)
        with Image.open(os.path.join(folder, "image.png")) as image:
            results[name] = answer_question(model, processor, image, data["question"], device)
    return results
