"""Tiny offline BLIP models: the real classes and `from_pretrained` paths, at a size a laptop trains in seconds.

Two named models ship with the package (``vqa/models_data/<name>/``: safetensors weights, config, processor):

* ``tiny-random``: random weights from a fixed seed; the grader's fixtures use it.
* ``tiny-pretrained``: ``tiny-random`` fully trained on icons in the *source* style. It plays the part of the
  pretrained ``Salesforce/blip-vqa-base`` in the demo, which then fine-tunes it with LoRA on a *shifted* style.

They are shipped, not built on each machine: floating-point results differ between CPUs, so the same
pretraining recipe gives another base model on another processor (and another demo). ``vqa build-models
--out DIR`` rebuilds both from the recipe below (seeded); maintainers copy the result into the package.

Both load with ``BlipForQuestionAnswering.from_pretrained(path)``, exactly like the hub model, so every code
path is the real one.
"""

from __future__ import annotations

from pathlib import Path

from vqa import vocab
from vqa.files import user_cache_dir
from vqa.quiet import quiet_libraries

TINY_RANDOM = "tiny-random"
TINY_PRETRAINED = "tiny-pretrained"
TINY_NAMES = (TINY_RANDOM, TINY_PRETRAINED)
IMAGE_SIZE = 48
# bump when the architecture, vocabulary, pretraining recipe or demo data change
RECIPE_VERSION = "3"
SHIPPED_DIR = Path(__file__).parent / "models_data"


def cache_root() -> Path:
    """Folder for what the kit makes on a user's machine, such as the demo data (``$VQA_CACHE`` or the
    user cache folder). The tiny models are not there: they ship with the package."""
    return user_cache_dir("VQA_CACHE", "mllm-vqa-lab")


def build_processor():
    """A BlipProcessor like blip-vqa-base's, with a small word list and 48-px images."""
    from transformers import BertTokenizer, BlipImageProcessor, BlipProcessor

    quiet_libraries()
    tokenizer = BertTokenizer(
        vocab=vocab.token_to_id(),
        do_lower_case=True,
        bos_token="[DEC]",
        model_max_length=512,
    )
    image_processor = BlipImageProcessor(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
    return BlipProcessor(image_processor=image_processor, tokenizer=tokenizer)


def build_config():
    """A BlipConfig with hidden size 64, two layers per tower, 48-px images in 8-px patches."""
    from transformers import BlipConfig

    ids = vocab.token_to_id()
    text = dict(
        vocab_size=len(ids),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=64,
        bos_token_id=ids["[DEC]"],
        sep_token_id=ids["[SEP]"],
        pad_token_id=ids["[PAD]"],
        eos_token_id=ids["[SEP]"],
    )
    vision = dict(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=IMAGE_SIZE,
        patch_size=8,
        initializer_range=0.02,  # the default (1e-10) suits loading weights, not training from scratch
    )
    return BlipConfig(text_config=text, vision_config=vision)


def build_random_model(seed: int = 0):
    """A randomly initialised tiny BlipForQuestionAnswering; the same seed gives bit-identical weights."""
    import torch
    from transformers import BlipForQuestionAnswering

    quiet_libraries()
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = BlipForQuestionAnswering(build_config())
    finally:
        torch.random.set_rng_state(state)
    model.eval()
    return model


def save_random_model(out_dir: str | Path, seed: int = 0) -> Path:
    """Save ``tiny-random`` (model + processor) to ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    build_random_model(seed).save_pretrained(out)
    build_processor().save_pretrained(out)
    return out


def tiny_model_dir(name: str = TINY_RANDOM) -> Path:
    """Return the shipped folder of a tiny model (model + processor, ready for ``from_pretrained``)."""
    if name not in TINY_NAMES:
        raise ValueError(f"unknown tiny model {name!r}; choose one of {', '.join(TINY_NAMES)}")
    path = SHIPPED_DIR / name
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"{path}: the shipped tiny model is missing (a broken install?). Reinstall the "
            f"package, or rebuild the models with `vqa build-models --out {SHIPPED_DIR}`."
        )
    return path


def build_models(out_dir: str | Path, *, progress: bool = False) -> dict[str, Path]:
    """Rebuild every tiny model from its recipe into ``out_dir/<name>/`` (seeded; the pretraining takes
    minutes). The weights depend on the CPU's floating-point code paths; the package ships one build."""
    from vqa.pretrain import pretrain_tiny

    out = Path(out_dir)
    random_dir = save_random_model(out / TINY_RANDOM)
    pretrained_dir = pretrain_tiny(random_dir, out / TINY_PRETRAINED, progress=progress)
    return {TINY_RANDOM: random_dir, TINY_PRETRAINED: pretrained_dir}
