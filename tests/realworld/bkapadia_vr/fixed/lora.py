"""Exercise "lora", ported from BKAPADIA04/VR_Project (lora-final-model.ipynb), contract fixed.

The notebook wraps the base model's forward so that ``inputs_embeds`` / ``decoder_inputs_embeds`` never
reach BLIP, applies LoRA and prints the trainable parameters.
"""

from __future__ import annotations

from peft import LoraConfig, get_peft_model


def build_lora_model(model, r=16, lora_alpha=32, lora_dropout=0.05, target_modules=("query", "key")):
    """Return a PeftModel around ``model`` in which only the LoRA matrices are trainable."""
    _orig_forward = model.forward

    def _forward_no_inputs_embeds(*args, **kwargs):
        kwargs.pop("inputs_embeds", None)
        kwargs.pop("decoder_inputs_embeds", None)  # Use `None` as default
        return _orig_forward(*args, **kwargs)

    model.forward = _forward_no_inputs_embeds

    # no task_type: PEFT's seq2seq wrapper passes arguments BLIP rejects
    lora_config = LoraConfig(
        r=r,
        lora_alpha=lora_alpha,
        target_modules=list(target_modules),
        lora_dropout=lora_dropout,
        bias="none"
    )

    model = get_peft_model(model, lora_config)
    model.print_trainable_parameters()
    return model
