"""Predict exercise, ported from the PathVQA LoRA notebook (blip_peft.ipynb, "Inference on Path_VQA test set").

The notebook loads the processor from the hub, the fine-tuned model from its folder on "cuda", answers every
test row with ``model.generate(**encoding)`` and stores (index, answer, generated) rows.
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
    # Initialize processor and model
    processor = BlipProcessor.from_pretrained("Salesforce/blip-vqa-base")
    model = BlipForQuestionAnswering.from_pretrained(model_dir).to("cuda")
    return model, processor


def answer_question(model, processor, image, question, device, max_new_tokens=10):
    # Prepare inputs
    encoding = processor(images=image, text=question, return_tensors="pt").to(device)

    # Perform inference
    out = model.generate(**encoding)
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

        # Append results using the index as the identifier
        results[idx] = generated_text

    return results
