"""Exercise "lora"."""

from __future__ import annotations

from peft import LoraConfig, get_peft_model


def build_lora_model(model, r=16, lora_alpha=32, lora_dropout=0.05, target_modules=("query", "key")):
    """Return a PeftModel around ``model`` in which only the LoRA matrices are trainable."""
    modules = [name for name in target_modules]
    peft_config = LoraConfig(r=r, lora_dropout=lora_dropout, lora_alpha=lora_alpha, bias="none",
                             target_modules=modules)
    peft_model = get_peft_model(model, peft_config)
    n_train = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    n_all = sum(p.numel() for p in peft_model.parameters())
    print(f"trainable params: {n_train} / {n_all} ({100 * n_train / n_all:.2f}%)")
    return peft_model
