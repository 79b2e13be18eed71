"""Re-exports the reference."""

from solutions.lora import build_lora_model  # noqa: F401
