"""Where the train and predict probes run (CUDA, or why not) and what they compare before and after: the
weights a call changed, and the trainable tensors sent to the judge. Trusted code: never the submission's."""

from __future__ import annotations

import torch

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
