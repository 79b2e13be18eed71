"""LoRA exercise. SpatialMQA's blip-vqa-base.py fine-tunes every weight; its LoRA scripts
(Code/finetune/instructblip-lora.py, blip2-lora.py) build the config below and wrap the model with it."""

from __future__ import annotations

from peft import LoraConfig, get_peft_model


def build_lora_model(model, r=16, lora_alpha=32, lora_dropout=0.05, target_modules=("query", "key")):
    # Let's define the LoraConfig
    config = LoraConfig(
        r=r,
        lora_alpha=lora_alpha,
        lora_dropout=lora_dropout,
        bias="none",
        target_modules=list(target_modules)
    )

    model = get_peft_model(model, config)
    return model
