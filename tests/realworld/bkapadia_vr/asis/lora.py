"""Exercise "lora", ported from BKAPADIA04/VR_Project (lora-final-model.ipynb), as written.

The notebook wraps the base model's forward so that PEFT's ``inputs_embeds`` / ``decoder_inputs_embeds``
never reach BLIP, then applies a LoRA config written out with literal values (task_type SEQ_2_SEQ_LM)
and prints the trainable parameters.
"""

from __future__ import annotations

from peft import LoraConfig, TaskType, get_peft_model


def build_lora_model(model, r=16, lora_alpha=32, lora_dropout=0.05, target_modules=("query", "key")):
    """Return a PeftModel around ``model`` in which only the LoRA matrices are trainable."""
    _orig_forward = model.forward

    def _forward_no_inputs_embeds(*args, **kwargs):
        kwargs.pop("inputs_embeds", None)
        kwargs.pop("decoder_inputs_embeds", None)  # Use `None` as default
        return _orig_forward(*args, **kwargs)

    model.forward = _forward_no_inputs_embeds

    lora_config = LoraConfig(
        r=16,
        lora_alpha=32,
        target_modules=["query", "value"],
        lora_dropout=0.1,
        bias="none",
        task_type=TaskType.SEQ_2_SEQ_LM
    )

    model = get_peft_model(model, lora_config)
    model.print_trainable_parameters()
    return model
