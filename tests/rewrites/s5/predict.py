"""Exercise "predict"."""

from __future__ import annotations

import json
import os

import torch
from PIL import Image
from transformers import BlipForQuestionAnswering, BlipProcessor

QUESTION_MAX_LENGTH = 32  # the length VQADataset pads questions to in training


def load_for_inference(model_dir, device):
    """Return (model, processor) from a folder the pipeline wrote, the model in eval mode on ``device``."""
    device = torch.device(device)
    model = BlipForQuestionAnswering.from_pretrained(model_dir).to(device)
    model.eval()
    return model, BlipProcessor.from_pretrained(model_dir)


def answer_question(model, processor, image, question, device, max_new_tokens=10):
    """Answer one question about one PIL image; return the decoded text without special tokens."""
    device = torch.device(device)
    rgb = image.convert("RGB")
    batch = processor(images=rgb, text=question, padding="max_length", max_length=QUESTION_MAX_LENGTH,
                      truncation=True, return_tensors="pt").to(device)
    batch["pixel_values"] = batch["pixel_values"].to(model.dtype)
    with torch.no_grad():
        generated_ids = model.generate(**batch, max_new_tokens=max_new_tokens)
    answer = processor.batch_decode(generated_ids, skip_special_tokens=True)[0]
    return answer.strip()


def predict_folder(model, processor, test_dir, device):
    """Answer every test item: test_dir/<id>/{data.json, image.png} -> {id: answer}."""
    result = {}
    for item_id in os.listdir(test_dir):
        item_path = os.path.join(test_dir, item_id)
        if not os.path.isdir(item_path):
            continue
        with open(os.path.join(item_path, "data.json"), "r") as f:
            item = json.load(f)
        image = Image.open(os.path.join(item_path, "image.png"))
        result[item_id] = answer_question(model, processor, image, item["question"], device)
    return result
