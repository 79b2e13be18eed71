"""Exercise "predict", ported from BKAPADIA04/VR_Project (inference-setup/sample-submission/.../inference.py), as written.

The inference script loads ``Salesforce/blip-vqa-base`` (processor and base model, ``device_map='auto'``)
and attaches the LoRA adapter with ``PeftModel.from_pretrained``; it walks a pandas table of
(image_name, question) rows, encodes each pair with ``processor(image, question, return_tensors="pt")``,
calls ``model.generate(**encoding)``, decodes the first sequence, writes "error" when anything fails and
keeps only the first word, lower-cased; the answers go into a ``generated_answer`` column.
"""

from __future__ import annotations

import json
import os

import pandas as pd
import torch
from peft import PeftModel
from PIL import Image
from tqdm import tqdm
from transformers import BlipForQuestionAnswering, BlipProcessor

QUESTION_MAX_LENGTH = 32  # the length VQADataset pads questions to in training


def load_for_inference(model_dir, device):
    """Return (model, processor) from a folder the pipeline wrote, the model in eval mode on ``device``."""
    processor = BlipProcessor.from_pretrained("Salesforce/blip-vqa-base")
    base_model = BlipForQuestionAnswering.from_pretrained(
        "Salesforce/blip-vqa-base",
        device_map='auto'
    )
    model = PeftModel.from_pretrained(base_model, model_dir).to(device)
    model.eval()
    return model, processor


def answer_question(model, processor, image, question, device, max_new_tokens=10):
    """Answer one question about one PIL image; return the decoded text without special tokens."""
    try:
        image = image.convert("RGB")
        encoding = processor(image, question, return_tensors="pt").to(device)
        with torch.no_grad():
            output_ids = model.generate(**encoding)
            answer = processor.tokenizer.decode(output_ids[0], skip_special_tokens=True)

    except Exception as e:
        print(f"Error processing image : {e}")
        answer = "error"
    # Ensure answer is one word and in English (basic post-processing)
    answer = str(answer).split()[0].lower()
    return answer


def predict_folder(model, processor, test_dir, device):
    """Answer every test item: test_dir/<id>/{data.json, image.png} -> {id: answer}."""
    rows = []
    for name in sorted(os.listdir(test_dir)):
        if not os.path.isdir(os.path.join(test_dir, name)):
            continue
        with open(os.path.join(test_dir, name, "data.json")) as f:
            data = json.load(f)
        rows.append({"image_name": f"{name}/image.png", "question": data["question"]})
    df = pd.DataFrame(rows, columns=["image_name", "question"])

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
    return dict(zip(df["image_name"], df["generated_answer"]))
