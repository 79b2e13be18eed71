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
    raise NotImplementedError(
        "Exercise predict: write load_for_inference (see the TODO in its docstring). "
        "Bài tập predict: hãy viết load_for_inference (xem TODO trong docstring)."
    )


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
    raise NotImplementedError(
        "Exercise predict: write answer_question (see the TODO in its docstring). "
        "Bài tập predict: hãy viết answer_question (xem TODO trong docstring)."
    )


def predict_folder(model, processor, test_dir, device):
    """Answer every test item: test_dir/<id>/{data.json, image.png} -> {id: answer}.

    TODO: for each sub-folder read the question from data.json, open image.png, and call answer_question;
    key the result by the folder's name.
    TODO: với mỗi thư mục con, đọc câu hỏi trong data.json, mở image.png, gọi answer_question; khoá kết quả
    bằng tên thư mục.
    """
    raise NotImplementedError(
        "Exercise predict: write predict_folder (see the TODO in its docstring). "
        "Bài tập predict: hãy viết predict_folder (xem TODO trong docstring)."
    )
