"""Exercise "predict", ported from BKAPADIA04/VR_Project (inference-setup/sample-submission/.../inference.py), contract fixed.

The inference script walks a pandas table of (image_name, question) rows, encodes each pair with
``processor(image, question, return_tensors="pt").to(device)``, generates under ``torch.no_grad()``,
decodes the first sequence with ``processor.tokenizer.decode``, writes "error" when anything fails and
collects the answers in a ``generated_answer`` column.
"""

from __future__ import annotations

import json
import os

import pandas as pd
import torch
from PIL import Image
from tqdm import tqdm
from transformers import BlipForQuestionAnswering, BlipProcessor

QUESTION_MAX_LENGTH = 32  # the length VQADataset pads questions to in training


def _model_dtype(model):
    dtype = getattr(model, "dtype", None)
    if isinstance(dtype, torch.dtype):
        return dtype
    for param in model.parameters():
        if param.is_floating_point():
            return param.dtype
    return torch.float32


def load_for_inference(model_dir, device):
    """Return (model, processor) from a folder the pipeline wrote, the model in eval mode on ``device``."""
    processor = BlipProcessor.from_pretrained(model_dir)
    # a LoRA folder: transformers reads adapter_config.json, loads the base model and attaches the adapter
    model = BlipForQuestionAnswering.from_pretrained(model_dir).to(device)
    model.eval()
    return model, processor


def answer_question(model, processor, image, question, device, max_new_tokens=10):
    """Answer one question about one PIL image; return the decoded text without special tokens."""
    try:
        image = image.convert("RGB")
        encoding = processor(image, question, return_tensors="pt", padding="max_length",
                             max_length=QUESTION_MAX_LENGTH, truncation=True).to(device)
        encoding["pixel_values"] = encoding["pixel_values"].to(_model_dtype(model))
        with torch.no_grad():
            output_ids = model.generate(**encoding, max_new_tokens=max_new_tokens)
            answer = processor.tokenizer.decode(output_ids[0], skip_special_tokens=True)

    except Exception as e:
        print(f"Error processing image : {e}")
        answer = "error"
    return answer


def predict_folder(model, processor, test_dir, device):
    """Answer every test item: test_dir/<id>/{data.json, image.png} -> {id: answer}."""
    rows = []
    for name in sorted(os.listdir(test_dir)):
        if not os.path.isdir(os.path.join(test_dir, name)):
            continue
        with open(os.path.join(test_dir, name, "data.json")) as f:
            data = json.load(f)
        rows.append({"id": name, "image_name": f"{name}/image.png", "question": data["question"]})
    df = pd.DataFrame(rows, columns=["id", "image_name", "question"])

    generated_answers = []
    for idx, row in tqdm(df.iterrows(), total=len(df)):
        image_path = f"{test_dir}/{row['image_name']}"
        question = str(row['question'])
        try:
            image = Image.open(image_path).convert("RGB")
            answer = answer_question(model, processor, image, question, device)
        except Exception as e:
            print(f"Error processing image : {e}")
            answer = "error"
        generated_answers.append(answer)

    df["generated_answer"] = generated_answers
    return dict(zip(df["id"], df["generated_answer"]))
