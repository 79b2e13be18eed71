"""Predict exercise, ported from SpatialMQA's Code/experiment/blip-vqa-base_finetuned.py.

The script loads the processor and the fine-tuned model, answers each test question with
``model.generate(**inputs)``, lower-cases the decoded answer and prints it.
"""

from __future__ import annotations

import json
import os

import torch
from PIL import Image
from transformers import BlipForQuestionAnswering, BlipProcessor

QUESTION_MAX_LENGTH = 32  # the length VQADataset pads questions to in training


def load_for_inference(model_dir, device):
    processor = BlipProcessor.from_pretrained(model_dir)
    model = BlipForQuestionAnswering.from_pretrained(model_dir).to(device)
    model.eval()
    return model, processor


def answer_question(model, processor, image, question, device, max_new_tokens=10):
    inputs = processor(images=image.convert('RGB'), text=question, padding="max_length",
                       max_length=QUESTION_MAX_LENGTH, truncation=True, return_tensors="pt").to(device)
    inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)
    with torch.no_grad():
        predictions = model.generate(**inputs, max_new_tokens=max_new_tokens)
    output = (processor.decode(predictions[0], skip_special_tokens=True))
    return output.lower()


def predict_folder(model, processor, test_dir, device):
    results = {}
    count = 0
    for name in sorted(os.listdir(test_dir)):
        item_dir = os.path.join(test_dir, name)
        if not os.path.isdir(item_dir):
            continue
        with open(os.path.join(item_dir, "data.json"), 'r', encoding="utf-8") as f:
            data = json.loads(f.read())
        question = data['question']
        image = Image.open(os.path.join(item_dir, "image.png")).convert('RGB')
        output = answer_question(model, processor, image, question, device)
        count += 1
        results[name] = output
        print(f'{output}')
        print(f'count: {count}')
    return results
