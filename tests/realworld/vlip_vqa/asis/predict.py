"""Exercise "predict": load the saved adapter and answer the test folders (vlip_vqa style, as written)."""

from __future__ import annotations

import json
import os

import torch
from PIL import Image
from tqdm import tqdm
from transformers import BlipForQuestionAnswering, BlipProcessor

QUESTION_MAX_LENGTH = 32  # the length VQADataset pads questions to in training


def load_for_inference(model_dir, device):
    model = BlipForQuestionAnswering.from_pretrained(model_dir)
    processor = BlipProcessor.from_pretrained(model_dir)
    model.to(device)
    model.eval()
    return model, processor


def answer_question(model, processor, image, question, device, max_new_tokens=10):
    image = image.convert("RGB")
    text = question
    encoding = processor(image, text, padding="max_length", truncation=True, return_tensors="pt")
    for k, v in encoding.items():  encoding[k] = v.to(device)
    with torch.no_grad():
        outputs = model.generate(**encoding, max_new_tokens=max_new_tokens)
    return processor.decode(outputs[0], skip_special_tokens=True)


def predict_folder(model, processor, test_dir, device):
    predictions = {}
    for sample_id in tqdm(sorted(os.listdir(test_dir)), desc="Predicting: ..."):
        sample_path = os.path.join(test_dir, sample_id)
        if not os.path.isdir(sample_path):
            continue
        with open(os.path.join(sample_path, "data.json"), "r", encoding="utf-8") as f:
            question = json.load(f)["question"]
        image = Image.open(os.path.join(sample_path, "image.png")).convert("RGB")
        predictions[sample_id] = answer_question(model, processor, image, question, device)
    return predictions
