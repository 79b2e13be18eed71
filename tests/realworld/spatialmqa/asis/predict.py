"""Predict exercise, ported from SpatialMQA's Code/experiment/blip-vqa-base_finetuned.py.

The script loads the processor from the hub and the fine-tuned model from its folder, answers each test
question with ``model.generate(**inputs)``, lower-cases the decoded answer (``--`` when empty), prints it,
and writes a result line keyed by the item's ``id``.
"""

from __future__ import annotations

import json
import os

import torch
from PIL import Image
from transformers import BlipForQuestionAnswering, BlipProcessor

QUESTION_MAX_LENGTH = 32  # the length VQADataset pads questions to in training


def load_for_inference(model_dir, device):
    processor = BlipProcessor.from_pretrained(f"Salesforce/blip-vqa-base")
    model = BlipForQuestionAnswering.from_pretrained(model_dir).to(device)
    return model, processor


def answer_question(model, processor, image, question, device, max_new_tokens=10):
    inputs = processor(images=image, text=question, return_tensors="pt").to(device)
    predictions = model.generate(**inputs)
    output = (processor.decode(predictions[0], skip_special_tokens=True))
    if len(output) == 0:
        output = '--'
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
        id = data['id']
        image = Image.open(os.path.join(item_dir, "image.png")).convert('RGB')
        output = answer_question(model, processor, image, question, device)
        count += 1
        results[id] = output
        print(f'{output}')
        print(f'count: {count}')
    return results
