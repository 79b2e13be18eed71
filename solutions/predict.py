"""Exercise "predict" (lab section 2.5): load the saved model and answer questions about images.

Bài tập "predict" (mục 2.5): nạp mô hình đã lưu và trả lời câu hỏi về ảnh.
"""

from __future__ import annotations

import json
import os

import torch
from PIL import Image
from transformers import BlipForQuestionAnswering, BlipProcessor

QUESTION_MAX_LENGTH = 32  # the length VQADataset pads questions to in training


def load_for_inference(model_dir, device):
    """Return (model, processor) from a folder the pipeline wrote, the model in eval mode on ``device``.

    TODO: the folder holds the processor and either a full model or only a LoRA adapter (what
    PeftModel.save_pretrained writes: adapter_config.json + adapter weights). BlipForQuestionAnswering
    .from_pretrained(model_dir) handles both when peft is installed: it loads the base model named in
    adapter_config.json and attaches the adapter. Load BlipProcessor from the same folder.
    TODO: thư mục chứa processor và hoặc cả mô hình, hoặc chỉ adapter LoRA (adapter_config.json + trọng số).
    BlipForQuestionAnswering.from_pretrained(model_dir) xử lý được cả hai khi đã cài peft. Nạp BlipProcessor
    từ cùng thư mục.
    """
    # BEGIN SOLUTION
    device = torch.device(device)
    processor = BlipProcessor.from_pretrained(model_dir)
    model = BlipForQuestionAnswering.from_pretrained(model_dir).to(device)
    model.eval()
    return model, processor
    # END SOLUTION


def answer_question(model, processor, image, question, device, max_new_tokens=10):
    """Answer one question about one PIL image; return the decoded text without special tokens.

    TODO: encode image (as RGB) and question with the processor exactly as in training (VQADataset's
    defaults: padding="max_length", max_length=QUESTION_MAX_LENGTH, truncation=True): BLIP's answer decoder
    looks at every question position, padding included, so another padding gives other answers; move the
    tensors to ``device`` keeping pixel values in the model's dtype (the original lab cast them to float16 while the
    model was float32); model.generate(..., max_new_tokens=max_new_tokens) without gradients; decode with
    skip_special_tokens=True.
    TODO: mã hoá ảnh (RGB) và câu hỏi giống hệt lúc huấn luyện (như VQADataset: padding="max_length",
    max_length=QUESTION_MAX_LENGTH, truncation=True): bộ giải mã của BLIP nhìn mọi vị trí của câu hỏi, kể cả
    phần pad, nên pad khác sẽ cho câu trả lời khác; đưa tensor lên ``device``, giữ pixel_values cùng dtype với
    mô hình (bản gốc ép float16 trong khi mô hình là float32); generate với max_new_tokens, không tính
    gradient; giải mã với skip_special_tokens=True.
    """
    # BEGIN SOLUTION
    device = torch.device(device)
    encoding = processor(
        images=image.convert("RGB"),
        text=question,
        padding="max_length",
        max_length=QUESTION_MAX_LENGTH,
        truncation=True,
        return_tensors="pt",
    )
    encoding = {key: value.to(device) for key, value in encoding.items() if key != "token_type_ids"}
    encoding["pixel_values"] = encoding["pixel_values"].to(model.dtype)
    with torch.no_grad():
        output = model.generate(**encoding, max_new_tokens=max_new_tokens)
    return processor.decode(output[0], skip_special_tokens=True).strip()
    # END SOLUTION


def predict_folder(model, processor, test_dir, device):
    """Answer every test item: test_dir/<id>/{data.json, image.png} -> {id: answer}.

    TODO: for each sub-folder read the question from data.json, open image.png, and call answer_question;
    key the result by the folder's name.
    TODO: với mỗi thư mục con, đọc câu hỏi trong data.json, mở image.png, gọi answer_question; khoá kết quả
    bằng tên thư mục.
    """
    # BEGIN SOLUTION
    answers = {}
    for item_id in sorted(os.listdir(test_dir)):
        folder = os.path.join(str(test_dir), item_id)
        if not os.path.isdir(folder):
            continue
        with open(os.path.join(folder, "data.json"), encoding="utf-8") as handle:
            question = json.load(handle)["question"]
        with Image.open(os.path.join(folder, "image.png")) as image:
            answers[item_id] = answer_question(model, processor, image, question, device)
    return answers
    # END SOLUTION
