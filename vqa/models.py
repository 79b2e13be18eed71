"""Choosing and loading the base model and device: a tiny model's name, a local folder, or a hub id."""

from __future__ import annotations

from pathlib import Path

from vqa import tiny

REAL_MODEL = "Salesforce/blip-vqa-base"


class ModelError(RuntimeError):
    """The model or device cannot be used; the message says what to do instead."""


def resolve_device(name: str = "auto"):
    """``auto`` → CUDA when present, else CPU; ``cuda`` without CUDA is an error, not a silent fallback."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError(
            "--device cuda: this machine has no usable CUDA GPU (torch.cuda.is_available() is False). "
            "Use --device cpu, or run on a GPU machine such as Colab with a GPU runtime."
        )
    if name not in ("cpu",) and not name.startswith("cuda"):
        raise ModelError(f"--device {name}: choose auto, cpu or cuda")
    return torch.device(name)


def is_model_dir(path: str | Path) -> bool:
    """Whether ``path`` holds a saved model: a full one (config.json) or a LoRA adapter (adapter_config.json)."""
    path = Path(path)
    return (path / "config.json").is_file() or (path / "adapter_config.json").is_file()


def resolve_model(name: str) -> str:
    """``tiny`` (= tiny-pretrained) or ``tiny-random`` → its shipped folder; a folder → itself; else a hub id."""
    if name in ("tiny", tiny.TINY_PRETRAINED):
        return str(tiny.tiny_model_dir(tiny.TINY_PRETRAINED))
    if name == tiny.TINY_RANDOM:
        return str(tiny.tiny_model_dir(tiny.TINY_RANDOM))
    path = Path(name).expanduser()
    if path.exists():
        if not is_model_dir(path):
            raise ModelError(
                f"{path}: not a model folder (no config.json or adapter_config.json inside)"
            )
        return str(path)
    return name


def is_tiny(model_path: str) -> bool:
    """Whether a resolved model is one of the kit's tiny models (they want a larger learning rate)."""
    return Path(model_path).name.startswith(tiny.TINY_NAMES)


def quantization_config(load_in_8bit: bool, load_in_4bit: bool, device):
    """A BitsAndBytesConfig for 8- or 4-bit loading, or None; refused clearly where it cannot run."""
    if not (load_in_8bit or load_in_4bit):
        return None
    if load_in_8bit and load_in_4bit:
        raise ModelError("choose one of --load-in-8bit and --load-in-4bit")
    if device.type != "cuda":
        raise ModelError(
            "--load-in-8bit/--load-in-4bit need a CUDA GPU (bitsandbytes quantised training); "
            "on CPU, train in float32 without them."
        )
    try:
        import bitsandbytes  # noqa: F401
        from transformers import BitsAndBytesConfig
    except Exception as err:  # bitsandbytes fails in many ways on unsupported platforms
        raise ModelError(
            f"bitsandbytes cannot run here ({err}); drop --load-in-8bit/--load-in-4bit"
        ) from None
    import torch

    if load_in_8bit:
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_compute_dtype=torch.float16, bnb_4bit_quant_type="nf4"
    )


def load_base(model_name: str, device, *, load_in_8bit: bool = False, load_in_4bit: bool = False):
    """(model, processor, resolved path) with the same ``from_pretrained`` calls for tiny and real models."""
    from transformers import BlipForQuestionAnswering, BlipProcessor

    path = resolve_model(model_name)
    quant = quantization_config(load_in_8bit, load_in_4bit, device)
    try:
        processor = BlipProcessor.from_pretrained(path)
        kwargs = (
            {"quantization_config": quant, "device_map": {"": device.index or 0}} if quant else {}
        )
        model = BlipForQuestionAnswering.from_pretrained(path, **kwargs)
    except OSError as err:
        raise ModelError(
            f"cannot load model {model_name!r}: {err}\n"
            f"If this machine is offline it cannot download {model_name!r}. Download it once elsewhere "
            f"(e.g. `huggingface-cli download {REAL_MODEL} --local-dir blip-vqa-base`) and pass the folder: "
            f"--model ./blip-vqa-base. The built-in offline models are --model tiny and --model tiny-random."
        ) from None
    if quant is None:
        model.to(device)
    else:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model)
    model.eval()
    return model, processor, path
