"""Exercise "predict": load the saved model and answer the test folders (medvqa-vqarad style, fixed)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, List

import torch
from PIL import Image
from tqdm.auto import tqdm
from transformers import BlipForQuestionAnswering, BlipProcessor

QUESTION_MAX_LENGTH = 32  # the length VQADataset pads questions to in training


def read_json(path: str) -> Any:
    with open(path, "r", encoding="utf-8") as f:
        return json.load(f)


def load_blip(model_name: str, device: str = "cpu"):
    processor = BlipProcessor.from_pretrained(model_name)
    model = BlipForQuestionAnswering.from_pretrained(model_name)
    model.to(device)
    return processor, model


def load_for_inference(model_dir, device):
    processor, model = load_blip(str(model_dir), device=device)
    model.eval()
    return model, processor


@torch.no_grad()
def blip_generate(processor, model, images, questions: List[str], device="cpu", max_new_tokens: int = 10):
    inputs = processor(images=images, text=questions, return_tensors="pt", padding="max_length",
                       max_length=QUESTION_MAX_LENGTH, truncation=True).to(device)
    inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)
    out_ids = model.generate(**inputs, max_new_tokens=max_new_tokens)
    return processor.batch_decode(out_ids, skip_special_tokens=True)


def answer_question(model, processor, image, question, device, max_new_tokens=10):
    preds = blip_generate(processor, model, [image.convert("RGB")], [question], device=device,
                          max_new_tokens=max_new_tokens)
    return preds[0]


def predict_folder(model, processor, test_dir, device):
    test_dir = Path(test_dir)
    names = sorted(p.name for p in test_dir.iterdir() if p.is_dir())
    preds = {}
    for name in tqdm(names, desc="blip predict"):
        d = read_json(str(test_dir / name / "data.json"))
        img = Image.open(test_dir / name / "image.png").convert("RGB")
        preds[name] = answer_question(model, processor, img, d.get("question", ""), device)
    return preds
