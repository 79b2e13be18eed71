"""What a probe sees: which implementation, where the fixtures are, a fresh folder; loading the
implementation's modules through the kit's loader (:func:`vqa.impl.load_exercise`)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from grader.probes.errors import LoadError, format_exception


class Context:
    """What a probe sees: which implementation, where the fixtures are, a fresh folder."""

    def __init__(self, config: dict):
        self.role: str = config["role"]
        self.folder = Path(config["folder"])
        self.artifacts = Path(config["artifacts"])
        self.scratch = Path(config["scratch"])
        self.device_name: str = config.get("device", "cpu")
        self._modules: dict[str, Any] = {}
        self._counter = 0

    @property
    def device(self):
        import torch

        return torch.device(self.device_name)

    def impl(self, exercise: str):
        """The implementation's module for ``exercise`` (loaded once, under a private name)."""
        if exercise in self._modules:
            module = self._modules[exercise]
            if isinstance(module, LoadError):
                raise module
            return module
        try:
            module = load_exercise(self.folder, exercise)
        except LoadError as exc:
            self._modules[exercise] = exc
            raise
        self._modules[exercise] = module
        return module

    def fresh_dir(self, stem: str) -> Path:
        self._counter += 1
        path = self.scratch / f"{stem}-{self._counter}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @staticmethod
    def seed(value: int = 0) -> None:
        import numpy as np
        import torch

        random.seed(value)
        np.random.seed(value)
        torch.manual_seed(value)


def load_exercise(folder: Path, exercise: str):
    from vqa import impl

    try:
        return impl.load_exercise(folder, exercise)
    except impl.ImplementationError as exc:
        raise LoadError(str(exc)) from None
    except BaseException as exc:  # noqa: BLE001 - module-level code of the submission
        if isinstance(exc, (KeyboardInterrupt,)):
            raise
        raise LoadError(format_exception(exc, folder).message) from exc
