"""Plain data out of the worker: JSON-safe descriptions of any value, and tensors as safetensors bytes."""

from __future__ import annotations

import math
from typing import Any


def to_plain(value: Any, depth: int = 0) -> Any:
    """JSON-safe description of any value an implementation returned."""
    import torch

    if depth > 6:
        return repr(value)[:200]
    if value is None or isinstance(value, (bool, int, str)):
        return value if not isinstance(value, str) else value[:2000]
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, torch.Tensor):
        if value.numel() == 1:
            return to_plain(value.detach().cpu().item(), depth + 1)
        return {"tensor": list(value.shape), "dtype": str(value.dtype).replace("torch.", "")}
    if isinstance(value, dict):
        return {str(k)[:200]: to_plain(v, depth + 1) for k, v in list(value.items())[:200]}
    if isinstance(value, (list, tuple)):
        return [to_plain(v, depth + 1) for v in list(value)[:500]]
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return to_plain(value.item(), depth + 1)
    except Exception:  # noqa: BLE001
        pass
    return {"repr": repr(value)[:200], "type": type(value).__name__}


def pack(tensors: dict) -> bytes:
    import torch
    from safetensors.torch import save

    if not tensors:
        return b""
    clean = {}
    for name, tensor in tensors.items():
        t = tensor.detach().cpu()
        if t.dtype in (torch.bfloat16, torch.float16):
            t = t.float()
        clean[name] = t.contiguous().clone()
    return save(clean)
