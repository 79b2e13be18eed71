"""LoRA exercise, ported from the PathVQA LoRA notebook (blip_peft.ipynb, model cell)."""

from __future__ import annotations

from peft import LoraConfig, get_peft_model


def build_lora_model(model, r=16, lora_alpha=32, lora_dropout=0.05, target_modules=("query", "key")):
    # (a PrefixTuningConfig was tried first and left commented out in the notebook)
    peft_config = LoraConfig(
        r=16,  # Low-rank adaptation rank
        lora_alpha=32,
        lora_dropout=0.1,
        bias="none",
        target_modules=["query", "value"],  # Apply LoRA only to attention layers
    )
    model = get_peft_model(model, peft_config)

    # Print trainable parameters
    model.print_trainable_parameters()
    return model
