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
    model = BlipForQuestionAnswering.from_pretrained(model_dir)
    model.to(torch.device(device))
    model.eval()
    return model, processor


def answer_question(model, processor, image, question, device, max_new_tokens=10):
    """Answer one question about one PIL image; return the decoded text without special tokens."""
    image = image.convert("RGB")
    inputs = processor(images=image, text=question, return_tensors="pt", padding="max_length",
                       max_length=QUESTION_MAX_LENGTH, truncation=True)
    pixel_values = inputs["pixel_values"].to(device, dtype=model.dtype)
    input_ids = inputs["input_ids"].to(device)
    attention_mask = inputs["attention_mask"].to(device)
    with torch.no_grad():
        output = model.generate(pixel_values=pixel_values, input_ids=input_ids, attention_mask=attention_mask,
                                max_new_tokens=max_new_tokens)
    return processor.decode(output[0], skip_special_tokens=True).strip()


def predict_folder(model, processor, test_dir, device):
    """Answer every test item: test_dir/<id>/{data.json, image.png} -> {id: answer}."""
    answers = {}
    for name in sorted(os.listdir(test_dir)):
        path = Path(test_dir) / name
        if not path.is_dir():
            continue
        data = json.loads(path.joinpath("data.json").read_text())
        with Image.open(path / "image.png") as image:
            answers[name] = answer_question(model, processor, image, data["question"], device)
    return answers
