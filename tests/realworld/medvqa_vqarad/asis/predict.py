"""Exercise "predict": load the saved model and answer the test folders (medvqa-vqarad style, as written)."""

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
    inputs = processor(images=images, text=questions, return_tensors="pt", padding=True).to(device)
    out_ids = model.generate(**inputs, max_new_tokens=max_new_tokens)
    return processor.batch_decode(out_ids, skip_special_tokens=True)


def answer_question(model, processor, image, question, device, max_new_tokens=10):
    return blip_generate(processor, model, [image], [question], device=device, max_new_tokens=max_new_tokens)


def predict_folder(model, processor, test_dir, device):
    test_dir = Path(test_dir)
    names = sorted(p.name for p in test_dir.iterdir() if p.is_dir())
    preds = {}
    bs = 4
    for i in tqdm(range(0, len(names), bs), desc="blip predict"):
        batch = names[i:i + bs]
        images = [Image.open(test_dir / name / "image.png").convert("RGB") for name in batch]
        questions = [read_json(str(test_dir / name / "data.json")).get("question", "") for name in batch]
        answers = blip_generate(processor, model, images, questions, device=device, max_new_tokens=10)
        for name, pred in zip(batch, answers):
            preds[name] = pred
    return preds
