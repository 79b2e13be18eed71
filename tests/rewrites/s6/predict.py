"""Exercise "predict" (seed 2.5)."""

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
    model = BlipForQuestionAnswering.from_pretrained(str(model_dir))
    model.eval()
    model = model.to(device)
    processor = BlipProcessor.from_pretrained(str(model_dir))
    return model, processor


def answer_question(model, processor, image, question, device, max_new_tokens=10):
    """Answer one question about one PIL image; return the decoded text without special tokens."""
    enc = processor(images=image.convert("RGB"), text=question, padding="max_length", truncation=True,
                    max_length=QUESTION_MAX_LENGTH, return_tensors="pt")
    dtype = next(model.parameters()).dtype
    enc = {k: (v.to(device, dtype) if v.is_floating_point() else v.to(device)) for k, v in enc.items()}
    with torch.no_grad():
        ids = model.generate(**enc, max_new_tokens=max_new_tokens)
    return processor.decode(ids[0], skip_special_tokens=True)


def predict_folder(model, processor, test_dir, device):
    """Answer every test item: test_dir/<id>/{data.json, image.png} -> {id: answer}."""
    entries = sorted((e for e in os.scandir(test_dir) if e.is_dir()), key=lambda e: e.name)
    answers = {}
    for entry in entries:
        folder = Path(entry.path)
        question = json.loads(folder.joinpath("data.json").read_text(encoding="utf-8"))["question"]
        with Image.open(folder / "image.png") as image:
            answers[entry.name] = answer_question(model, processor, image, question, device)
    return answers
