"""Spies on what the learner's training code does, for the train probes: every forward of the BLIP model
(its inputs, mode, autocast, loss), the GradScaler the probe hands in (a stand-in counting its calls), and
every torch.amp.GradScaler the learner makes. Trusted code: never the submission's."""

from __future__ import annotations

import dataclasses

import torch

from grader.worker.contract import ForwardCall, ScalerCalls

SCALER_OPS = ("scale", "step", "update", "unscale_")


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
        self.counts = dict.fromkeys(SCALER_OPS, 0)
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


class GradScalerCounter:
    """Counts scale / step / update / unscale_ calls on every torch.amp.GradScaler (and subclasses such as the
    deprecated torch.cuda.amp.GradScaler) while active; the calls themselves are unchanged."""

    def __init__(self):
        self.counts = dict.fromkeys(SCALER_OPS, 0)
        self.created = 0
        self._saved = {}

    def __enter__(self):
        cls = torch.amp.GradScaler
        counts = self

        for op in SCALER_OPS + ("__init__",):
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
