"""Exercise "lora": wrap BLIP with LoRA adapters (the medvqa-vqarad script fine-tunes the whole model; LoRA per the lab)."""

from __future__ import annotations

from peft import LoraConfig, get_peft_model


def build_lora_model(model, r=16, lora_alpha=32, lora_dropout=0.05, target_modules=("query", "key")):
    config = LoraConfig(
        r=r,
        lora_alpha=lora_alpha,
        lora_dropout=lora_dropout,
        target_modules=list(target_modules),
        bias="none",
    )
    model = get_peft_model(model, config)
    return model
