"""Exercise "lora"."""

from __future__ import annotations

from peft import LoraConfig, get_peft_model


def build_lora_model(model, r=16, lora_alpha=32, lora_dropout=0.05, target_modules=("query", "key")):
    """Return a PeftModel around ``model`` in which only the LoRA matrices are trainable."""
    cfg = LoraConfig(lora_dropout=lora_dropout, target_modules=list(target_modules), lora_alpha=lora_alpha,
                     r=r, bias="none")
    m = get_peft_model(model, cfg)
    m.print_trainable_parameters()
    return m
