"""Exercise "lora" (lab section 2.2): wrap BLIP with LoRA adapters so only a few weights train.

Bài tập "lora" (mục 2.2): gắn LoRA vào BLIP để chỉ một phần nhỏ trọng số được huấn luyện.

The original lab's text says BLIP-2, but its code (and this lab) uses BLIP: ``BlipForQuestionAnswering``.
"""

from __future__ import annotations

from peft import LoraConfig, get_peft_model


def build_lora_model(model, r=16, lora_alpha=32, lora_dropout=0.05, target_modules=("query", "key")):
    """Return a PeftModel around ``model`` in which only the LoRA matrices are trainable.

    TODO: build a LoraConfig with these r, lora_alpha, lora_dropout, target_modules and
    bias="none"; do not set task_type (PEFT's question-answering wrapper passes arguments BLIP rejects);
    return get_peft_model(model, config).
    TODO: tạo LoraConfig với r, lora_alpha, lora_dropout, target_modules và bias="none";
    đừng đặt task_type (bộ bọc QA của PEFT truyền tham số BLIP không nhận); trả về get_peft_model(model, config).
    """
    # BEGIN SOLUTION
    config = LoraConfig(
        r=r,
        lora_alpha=lora_alpha,
        lora_dropout=lora_dropout,
        bias="none",
        target_modules=list(target_modules),
    )
    return get_peft_model(model, config)
    # END SOLUTION
