"""Exercise "lora"."""

from __future__ import annotations

from peft import LoraConfig, get_peft_model


def build_lora_model(model, r=16, lora_alpha=32, lora_dropout=0.05, target_modules=("query", "key")):
    """Return a PeftModel around ``model`` in which only the LoRA matrices are trainable."""
    lora_config = LoraConfig(
        bias="none",
        target_modules=list(target_modules),
        lora_dropout=lora_dropout,
        lora_alpha=lora_alpha,
        r=r,
    )
    peft_model = get_peft_model(model, lora_config)
    peft_model.print_trainable_parameters()
    return peft_model
