"""Exercise "lora": wrap BLIP with LoRA adapters."""

from __future__ import annotations

from peft import LoraConfig, get_peft_model


def build_lora_model(model, r=16, lora_alpha=32, lora_dropout=0.05, target_modules=("query", "key")):
    """Return a PeftModel around ``model`` in which only the LoRA matrices are trainable."""
    config = LoraConfig(
        r=r,
        lora_alpha=lora_alpha,
        lora_dropout=lora_dropout,
        target_modules=list(target_modules),
        bias="none",
    )
    return get_peft_model(model, config)
