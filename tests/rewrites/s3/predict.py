"""Exercise "predict" (seed 2.5)."""

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
    model.to(device)
    model.eval()
    processor = BlipProcessor.from_pretrained(model_dir)
    return model, processor


def answer_question(model, processor, image, question, device, max_new_tokens=10):
    """Answer one question about one PIL image; return the decoded text without special tokens."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    encoding = processor(image, question, padding="max_length", max_length=QUESTION_MAX_LENGTH,
                         truncation=True, return_tensors="pt")
    encoding = {name: tensor.to(device) for name, tensor in encoding.items()}
    encoding["pixel_values"] = encoding["pixel_values"].to(dtype=model.dtype)
    with torch.no_grad():
        generated = model.generate(**encoding, max_new_tokens=max_new_tokens)
    texts = processor.batch_decode(generated, skip_special_tokens=True)
    return texts[0]


def predict_folder(model, processor, test_dir, device):
    """Answer every test item: test_dir/<id>/{data.json, image.png} -> {id: answer}."""
    predictions = {}
    with os.scandir(test_dir) as it:
        for entry in it:
            if not entry.is_dir():
                continue
            with open(os.path.join(entry.path, "data.json")) as fh:
                question = json.load(fh)["question"]
            with Image.open(os.path.join(entry.path, "image.png")) as image:
                predictions[entry.name] = answer_question(model, processor, image, question, device)
    return predictions
