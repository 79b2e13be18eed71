"""Exercise "lora", ported from Tanish-pat/vr_project (finetuning/Updated_Finetuning_with_LORA.py), contract fixed.

The source "enhances" the base model (flash attention if present, KV cache, gradient checkpointing,
k-bit preparation on CUDA), applies LoRA and then patches BLIP's text embeddings so that they add the
position embeddings without an in-place ``+=`` (needed with gradient checkpointing + LoRA).
"""

from __future__ import annotations

import types

import torch
from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

# Flash attention
USE_FLASH_ATTENTION = True

# 8-bit quantization for base model
USE_8BIT_QUANT = True

# Training optimizations
USE_GRADIENT_CHECKPOINTING = True


def log_info(message):
    """Log information to console"""
    print(f"[INFO] {message}")


def print_model_size(model):
    param_size = 0
    buffer_size = 0

    for param in model.parameters():
        param_size += param.nelement() * param.element_size()

    for buffer in model.buffers():
        buffer_size += buffer.nelement() * buffer.element_size()

    size_mb = (param_size + buffer_size) / 1024**2
    trainable_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total_params = sum(p.numel() for p in model.parameters())

    log_info(f"Model size: {size_mb:.2f} MB")
    log_info(f"Total parameters: {total_params:,}")
    log_info(f"Trainable parameters: {trainable_params:,} ({trainable_params/total_params*100:.2f}%)")


def setup_flashattention(model):
    try:
        from flash_attn.modules.mha import FlashSelfAttention  # noqa: F401

        log_info("Setting up Flash Attention...")
        count = 0
        for name, module in model.named_modules():
            if "attention" in name.lower() and hasattr(module, "query"):
                if hasattr(module, "use_flash_attention"):
                    module.use_flash_attention = True
                    count += 1
        log_info(f"Enabled Flash Attention for {count} modules")
        return True
    except ImportError:
        log_info("Flash Attention not available. Continuing with standard attention.")
        return False


def get_kvcache_model(model):
    try:
        model.config.use_cache = True
        log_info("Enabled KV-Cache optimization")
        return True
    except Exception:
        log_info("KV-Cache optimization not applied")
        return False


def apply_gradient_checkpointing(model):
    try:
        model.gradient_checkpointing_enable()
        log_info("Gradient checkpointing enabled")
        return True
    except Exception:
        log_info("Could not enable gradient checkpointing")
        return False


def safe_embeddings_forward(self, input_ids=None, position_ids=None, inputs_embeds=None, cache_length=0, **kwargs):
    """BLIP text embeddings without the in-place ``+=`` (it fails with gradient checkpointing + LoRA)."""
    if input_ids is not None:
        input_shape = input_ids.size()
    else:
        input_shape = inputs_embeds.size()[:-1]

    seq_length = input_shape[1]

    if position_ids is None:
        position_ids = torch.arange(
            cache_length, seq_length + cache_length,
            dtype=torch.long, device=input_ids.device if input_ids is not None else inputs_embeds.device
        )
        position_ids = position_ids.unsqueeze(0).expand(input_shape)

    if inputs_embeds is None:
        inputs_embeds = self.word_embeddings(input_ids)

    # NON-IN-PLACE VERSION: Use + operator instead of +=
    embeddings = inputs_embeds.clone()

    if getattr(self, "position_embedding_type", "absolute") == "absolute":
        position_embeddings = self.position_embeddings(position_ids)
        embeddings = embeddings + position_embeddings

    embeddings = self.LayerNorm(embeddings)
    embeddings = self.dropout(embeddings)

    return embeddings


def fix_blip_for_training(model):
    """Fix for BLIP model to address in-place operations in the text embeddings."""
    print("Applying comprehensive BLIP model fixes...")

    # 1. Fix in-place operations in embeddings (the text encoder's and, sharing its word embeddings, the decoder's)
    for name, module in model.named_modules():
        if type(module).__name__ == "BlipTextEmbeddings":
            module.forward = types.MethodType(safe_embeddings_forward, module)
            print(f"✅ Fixed in-place operations in {name}")

    return model


def print_trainable_parameters(model):
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    print(f"Trainable parameters: {trainable} / {total} ({100 * trainable / total:.2f}%)")


def build_lora_model(model, r=16, lora_alpha=32, lora_dropout=0.05, target_modules=("query", "key")):
    """Return a PeftModel around ``model`` in which only the LoRA matrices are trainable."""
    if USE_FLASH_ATTENTION:
        setup_flashattention(model)
    get_kvcache_model(model)

    print_model_size(model)

    if USE_GRADIENT_CHECKPOINTING:
        apply_gradient_checkpointing(model)

    if USE_8BIT_QUANT and torch.cuda.is_available():
        try:
            model = prepare_model_for_kbit_training(model)
            log_info("Model prepared for k-bit training")
        except Exception as e:
            log_info(f"Error preparing model for k-bit training: {str(e)}")

    # Define LoRA config (no task_type: PEFT's seq2seq wrapper passes inputs_embeds, which BLIP rejects)
    lora_config = LoraConfig(
        r=r,
        lora_alpha=lora_alpha,
        lora_dropout=lora_dropout,
        target_modules=list(target_modules),
        bias="none",
        inference_mode=False
    )

    # Apply LoRA
    model = get_peft_model(model, lora_config)
    print("LoRA applied")

    # Apply embedding fixes
    model = fix_blip_for_training(model)
    print("Model prepared for training")

    print("✅ LoRA applied to BLIP model.")
    print_trainable_parameters(model)
    return model
