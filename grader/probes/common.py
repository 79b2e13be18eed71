"""The fixtures the probes share: the tiny model and processor (built once per worker child), the fixture
folders, the reference's saved items and the LoRA model every train probe starts from; ``attempt`` runs the
learner's code and describes what it raised. Trusted code: never the submission's."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from grader.probes.errors import format_exception
from grader.worker.fixtures import (  # noqa: F401
    DATA,
    FIT_OUT,
    INIT_ADAPTER,
    PREDICT_BASE,
    PREDICT_MODEL,
    TEST_DIR,
    TRAIN_IMAGES,
    TRAIN_ITEMS,
    VALID_ITEMS,
)

BATCH_KEYS = ("input_ids", "attention_mask", "pixel_values", "labels")
LR_TRAIN = 1e-3
FIXTURES_STAMP = "fixtures.json"  # written last by the set-up probe: the fixtures are complete


_CACHE: dict = {}


def cached(key, factory):
    """A fresh deep copy of an object built once per worker child (loading models is the slow part)."""
    import copy

    if key not in _CACHE:
        _CACHE[key] = factory()
    return copy.deepcopy(_CACHE[key])


def tiny_dir() -> Path:
    from vqa import tiny

    return tiny.tiny_model_dir()


def processor():
    from transformers import BlipProcessor

    return cached("processor", lambda: BlipProcessor.from_pretrained(tiny_dir()))


def base_model():
    """A fresh tiny-random BlipForQuestionAnswering, in eval mode as from_pretrained returns it."""
    from transformers import BlipForQuestionAnswering

    return cached("tiny-random", lambda: BlipForQuestionAnswering.from_pretrained(tiny_dir()))


def data_dir(ctx) -> Path:
    return ctx.artifacts / DATA


def image_dir(ctx) -> Path:
    return ctx.artifacts / TRAIN_IMAGES


def test_dir(ctx) -> Path:
    return ctx.artifacts / TEST_DIR


def records(ctx) -> list[dict]:
    with open(data_dir(ctx) / "train.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def attempt(fn, ctx):
    """Run ``fn()``: (True, its value) or (False, the exception described as a LearnerError)."""
    try:
        return True, fn()
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException as exc:  # noqa: BLE001 - the learner's code raised: described for the judge
        return False, format_exception(exc, ctx.folder)


class ItemsDataset(torch.utils.data.Dataset):
    """Items saved from the reference's dataset, served again (a trusted stand-in for VQADataset)."""

    def __init__(self, tensors: dict):
        self.tensors = tensors
        self.n = len(next(iter(tensors.values())))

    def __len__(self):
        return self.n

    def __getitem__(self, idx):
        return {key: value[idx].clone() for key, value in self.tensors.items()}


def load_items(ctx, name: str) -> dict:
    from safetensors.torch import load_file

    return load_file(str(ctx.artifacts / name))


def loader(ctx, name: str, batch_size: int = 4):
    return torch.utils.data.DataLoader(
        ItemsDataset(load_items(ctx, name)), batch_size=batch_size, shuffle=False
    )


def init_model(ctx):
    """The reference-built LoRA model every train probe starts from (eval mode, as from_pretrained gives)."""
    from peft import PeftModel
    from transformers import BlipForQuestionAnswering

    def build():
        base = BlipForQuestionAnswering.from_pretrained(ctx.artifacts / PREDICT_BASE)
        model = PeftModel.from_pretrained(
            base, str(ctx.artifacts / INIT_ADAPTER), is_trainable=True
        )
        model.eval()
        return model

    return cached(("init", str(ctx.artifacts)), build)
