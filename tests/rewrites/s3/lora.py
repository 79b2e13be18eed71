"""Exercise "lora" (seed 2.2)."""

from __future__ import annotations

from peft import LoraConfig, PeftModel, get_peft_model


def build_lora_model(model, r: int = 16, lora_alpha: int = 32, lora_dropout: float = 0.05,
                     target_modules=("query", "key")) -> PeftModel:
    """Return a PeftModel around ``model`` in which only the LoRA matrices are trainable."""
    config = LoraConfig(target_modules=list(target_modules), r=r, lora_alpha=lora_alpha,
                        lora_dropout=lora_dropout, bias="none")
    return get_peft_model(model, config)
