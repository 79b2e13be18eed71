"""Exercise "lora"."""

from __future__ import annotations

from peft import LoraConfig, get_peft_model


def build_lora_model(model, r=16, lora_alpha=32, lora_dropout=0.05, target_modules=("query", "key")):
    """Return a PeftModel around ``model`` in which only the LoRA matrices are trainable."""
    return get_peft_model(
        model,
        LoraConfig(bias="none", r=r, lora_alpha=lora_alpha, target_modules=list(target_modules),
                   lora_dropout=lora_dropout),
    )
