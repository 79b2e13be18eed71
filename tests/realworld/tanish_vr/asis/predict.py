"""Exercise "predict", ported from Tanish-pat/vr_project, as written.

The repository has no inference script (finetuning/README.md points to an ``inference.VQAPredictor`` that
is not there); this follows the author's own evaluation code (Baseline-Evaluation/vqa-zero-shot notebook:
glob the JSON files, per-file try/except, ``.to(DEVICE, non_blocking=True)`` in a try, ``generate(**encoding)``,
``decode(..., skip_special_tokens=True).strip()``, results stored per image path) and the training script's
habits (processor from the hub id, KV-cache switched on, log_info).
"""

from __future__ import annotations

import glob
import json
import os

import torch
from PIL import Image
from tqdm.auto import tqdm
from transformers import BlipForQuestionAnswering, BlipProcessor

QUESTION_MAX_LENGTH = 32  # the length VQADataset pads questions to in training


def log_info(message):
    """Log information to console"""
    print(f"[INFO] {message}")


def load_for_inference(model_dir, device):
    """Return (model, processor) from a folder the pipeline wrote, the model in eval mode on ``device``."""
    processor = BlipProcessor.from_pretrained("Salesforce/blip-vqa-base")

    log_info(f"Finetuning from pretrained checkpoint: {model_dir}")
    model = BlipForQuestionAnswering.from_pretrained(model_dir)

    try:
        model.config.use_cache = True
        log_info("Enabled KV-Cache optimization")
    except Exception:
        log_info("KV-Cache optimization not applied")

    model = model.to(device).eval()
    return model, processor


@torch.no_grad()
def answer_question(model, processor, image, question, device, max_new_tokens=10):
    """Answer one question about one PIL image; return the decoded text without special tokens."""
    encoding = processor(images=image.convert("RGB"), text=question, return_tensors="pt")

    # Move input data to GPU with error handling
    try:
        encoding = {k: v.to(device, non_blocking=True) for k, v in encoding.items()}
    except Exception as e:
        print(f"Error moving input tensors to device: {e}")
        return None

    # Forward pass
    try:
        outs = model.generate(**encoding)
    except Exception as e:
        print(f"Error in model generation: {e}")
        return None

    # Decode predictions
    preds = [processor.decode(o, skip_special_tokens=True).strip() for o in outs]
    return preds[0]


def predict_folder(model, processor, test_dir, device):
    """Answer every test item: test_dir/<id>/{data.json, image.png} -> {id: answer}."""
    json_files = sorted(glob.glob(os.path.join(test_dir, "*", "data.json")))
    print(f"Found {len(json_files)} JSON files.")

    results = {}
    for fp in tqdm(json_files, desc="Evaluating", unit="item"):
        try:
            # Skip empty files
            if os.path.getsize(fp) == 0:
                log_info(f"Skipping empty file {fp}")
                continue

            with open(fp, "r") as f:
                data = json.load(f)

            if "question" not in data:
                raise ValueError("Missing 'question' key")

            image_path = os.path.join(os.path.dirname(fp), "image.png")
            image = Image.open(image_path).convert("RGB")

        except json.JSONDecodeError as jde:
            log_info(f"JSON decode error in {fp}: {jde}")
            continue
        except Exception as e:
            log_info(f"Error loading {fp}: {e}")
            continue

        pred = answer_question(model, processor, image, data["question"], device)
        if pred is None:
            print(f"Item {fp} processing failed, skipping to next item")
            continue

        results[image_path] = pred

    return results
