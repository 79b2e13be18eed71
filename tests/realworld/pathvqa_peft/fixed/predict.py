"""Predict exercise, ported from the PathVQA LoRA notebook (blip_peft.ipynb, "Inference on Path_VQA test set").

The notebook loads the processor and the fine-tuned model, answers every test row with
``model.generate(**encoding)`` and decodes ``out[0]`` without special tokens.
"""

from __future__ import annotations

import json
import os

import torch
from PIL import Image
from tqdm import tqdm
from transformers import BlipForQuestionAnswering, BlipProcessor

QUESTION_MAX_LENGTH = 32  # the length VQADataset pads questions to in training


def load_for_inference(model_dir, device):
    # Initialize processor and model (both from the folder the training wrote)
    processor = BlipProcessor.from_pretrained(model_dir)
    model = BlipForQuestionAnswering.from_pretrained(model_dir).to(device)
    model.eval()
    return model, processor


def answer_question(model, processor, image, question, device, max_new_tokens=10):
    # Prepare inputs, padded the way VQADataset pads them in training
    encoding = processor(images=image.convert("RGB"), text=question, padding="max_length",
                         max_length=QUESTION_MAX_LENGTH, truncation=True, return_tensors="pt").to(device)
    encoding["pixel_values"] = encoding["pixel_values"].to(model.dtype)

    # Perform inference
    with torch.no_grad():
        out = model.generate(**encoding, max_new_tokens=max_new_tokens)
    generated_text = processor.decode(out[0], skip_special_tokens=True)
    return generated_text


def predict_folder(model, processor, test_dir, device):
    # Create a dict to store the results
    results = {}
    folders = sorted(name for name in os.listdir(test_dir) if os.path.isdir(os.path.join(test_dir, name)))

    # Iterate through each test item
    for idx, name in tqdm(enumerate(folders), total=len(folders), desc="Processing"):
        with open(os.path.join(test_dir, name, "data.json"), encoding="utf-8") as f:
            question = json.load(f)["question"]
        image = Image.open(os.path.join(test_dir, name, "image.png")).convert("RGB")

        generated_text = answer_question(model, processor, image, question, device)

        # Append results using the folder name as the identifier
        results[name] = generated_text

    return results
