"""Fixtures and spies shared by the probes (trusted code: never the submission's)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch

from grader.probes.errors import format_exception
from grader.worker.contract import ForwardCall, ScalerCalls
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


def inner_blip(model):
    """The BlipForQuestionAnswering inside a (possibly wrapped) model."""
    from transformers import BlipForQuestionAnswering

    for module in model.modules():
        if isinstance(module, BlipForQuestionAnswering):
            return module
    raise TypeError("no BlipForQuestionAnswering inside the model")


class ForwardSpy:
    """Records, for each forward of the BLIP model, what it was given and the state it ran in.

    With ``seed``, the global RNG is re-seeded before call ``n`` with ``seed + n``: dropout masks then depend
    on the call's index alone, not on what the submission drew from the RNG before (a progress bar around the
    loader, a shuffled sampler, a ``random`` call), so equivalent submissions train to the same weights.
    ``stage`` is a label the probe moves on (e.g. "train1", "valid1"); each call records the current one.
    ``loss_offset`` is added to the loss the model returns (the fit probe's designed validation losses).
    """

    def __init__(self, model, seed: int | None = None):
        self.calls: list[ForwardCall] = []
        self.seed = seed
        self.stage = ""
        self.loss_offset = 0.0
        blip = inner_blip(model)
        self._handles = [
            blip.register_forward_pre_hook(self._pre, with_kwargs=True),
            blip.register_forward_hook(self._post, with_kwargs=True),
        ]

    def _pre(self, module, args, kwargs):
        if self.seed is not None:
            torch.manual_seed(self.seed + len(self.calls))
        mask = kwargs.get("attention_mask")
        pixels = kwargs.get("pixel_values")
        device_type = "cpu"
        ids = kwargs.get("input_ids")
        if isinstance(ids, torch.Tensor):
            device_type = ids.device.type
        autocast = bool(torch.is_autocast_enabled(device_type))
        self.calls.append(
            ForwardCall(
                keys=sorted(k for k, v in kwargs.items() if v is not None),
                positional=len(args),
                attention_mask=isinstance(mask, torch.Tensor),
                pixel_dtype=str(pixels.dtype).replace("torch.", "")
                if isinstance(pixels, torch.Tensor)
                else None,
                training=bool(module.training),
                grad_enabled=torch.is_grad_enabled(),
                autocast=autocast,
                autocast_dtype=str(torch.get_autocast_dtype(device_type)).replace("torch.", "")
                if autocast
                else None,
                device=device_type,
                stage=self.stage,
            )
        )

    def _post(self, module, args, kwargs, output):
        loss = getattr(output, "loss", None)
        if isinstance(loss, torch.Tensor) and self.loss_offset:
            loss = output.loss = loss + self.loss_offset
        if isinstance(loss, torch.Tensor) and self.calls:
            self.calls[-1] = dataclasses.replace(
                self.calls[-1],
                loss=float(loss.detach().float().item()),
                loss_requires_grad=bool(loss.requires_grad),
            )
        return output

    def remove(self):
        for handle in self._handles:
            handle.remove()


class SpyScaler:
    """A GradScaler stand-in that counts how it is used: scale 1 on its own, or a real GradScaler's
    behaviour when given one (``inner``, on CUDA)."""

    def __init__(self, inner=None):
        self.counts = {"scale": 0, "step": 0, "update": 0, "unscale_": 0}
        self._inner = inner

    def used(self) -> ScalerCalls:
        return ScalerCalls(**self.counts)

    def scale(self, loss):
        self.counts["scale"] += 1
        return self._inner.scale(loss) if self._inner is not None else loss * 1.0

    def step(self, optimizer, *args, **kwargs):
        self.counts["step"] += 1
        if self._inner is not None:
            return self._inner.step(optimizer, *args, **kwargs)
        return optimizer.step(*args, **kwargs)

    def update(self, *args, **kwargs):
        self.counts["update"] += 1
        if self._inner is not None:
            return self._inner.update(*args, **kwargs)

    def unscale_(self, optimizer):
        self.counts["unscale_"] += 1
        if self._inner is not None:
            return self._inner.unscale_(optimizer)

    def is_enabled(self):
        return True

    def get_scale(self):
        return self._inner.get_scale() if self._inner is not None else 1.0

    def __getattr__(self, name):  # anything else a GradScaler has (state_dict, ...)
        inner = self.__dict__.get("_inner")
        if inner is None:
            raise AttributeError(name)
        return getattr(inner, name)


# The device the CUDA probes use instead of "cuda" (None: the real one). Only this package's own tests set it,
# in-process, to run the CUDA code paths on a machine without a GPU.
CUDA_STAND_IN: str | None = None


def cuda_device():
    """(torch.device("cuda"), None) when CUDA can be used in this worker, else (None, why not)."""
    if CUDA_STAND_IN is not None:
        return torch.device(CUDA_STAND_IN), None
    try:
        if torch.cuda._is_in_bad_fork():
            return None, "CUDA was initialised before the worker forked"
        if not torch.cuda.is_available():
            return None, "torch.cuda.is_available() is False"
    except Exception as exc:  # noqa: BLE001 - a broken driver is "no CUDA" here
        return None, f"{type(exc).__name__}: {exc}"[:200]
    return torch.device("cuda"), None


def grad_scaler(device):
    """A real GradScaler for ``device`` (torch.amp.GradScaler("cuda") on CUDA)."""
    return torch.amp.GradScaler(device.type)


class GradScalerCounter:
    """Counts scale / step / update / unscale_ calls on every torch.amp.GradScaler (and subclasses such as the
    deprecated torch.cuda.amp.GradScaler) while active; the calls themselves are unchanged."""

    OPS = ("scale", "step", "update", "unscale_")

    def __init__(self):
        self.counts = {op: 0 for op in self.OPS}
        self.created = 0
        self._saved = {}

    def __enter__(self):
        cls = torch.amp.GradScaler
        counts = self

        for op in self.OPS + ("__init__",):
            original = cls.__dict__[op]
            self._saved[op] = original

            def wrapper(*args, _original=original, _op=op, **kwargs):
                if _op == "__init__":
                    counts.created += 1
                else:
                    counts.counts[_op] += 1
                return _original(*args, **kwargs)

            setattr(cls, op, wrapper)
        return self

    def __exit__(self, *exc):
        for op, original in self._saved.items():
            setattr(torch.amp.GradScaler, op, original)
        self._saved = {}


def snapshot(model) -> dict:
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def changed(before: dict, model, names=None) -> list[str]:
    out = []
    for name, p in model.named_parameters():
        if names is not None and name not in names:
            continue
        if name in before and not torch.equal(before[name], p.detach()):
            out.append(name)
    return out


def trainable_tensors(model, prefix: str) -> dict:
    return {
        f"{prefix}{name}": p.detach().float().clone()
        for name, p in model.named_parameters()
        if p.requires_grad
    }
