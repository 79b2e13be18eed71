"""Loading an implementation (``solutions/``, ``exercises/`` or a learner's folder) under a private name.

Each folder's modules are imported as ``_vqa_impl_<hash>.<exercise>``, so two implementations never
share a module, and ``sys.path`` is only extended while a module runs its top level (for learners who
write ``import dataset`` in ``train.py``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import traceback
import types
from dataclasses import dataclass
from pathlib import Path

from vqa.course import CONTRACT, EXERCISES

BUILTIN = {"solutions", "exercises"}


class ImplementationError(Exception):
    """An implementation folder cannot be used; the message says which file or function and why."""


@dataclass
class Implementation:
    """The four exercise modules of one implementation folder."""

    folder: Path
    dataset: types.ModuleType
    lora: types.ModuleType
    train: types.ModuleType
    predict: types.ModuleType


def resolve_folder(spec: str | Path) -> Path:
    """``solutions`` and ``exercises`` name the packaged folders; anything else is a path."""
    if str(spec) in BUILTIN and not Path(spec).is_dir():
        import importlib

        package = importlib.import_module(str(spec))
        return Path(package.__file__).resolve().parent
    folder = Path(spec).expanduser()
    if not folder.is_dir():
        raise ImplementationError(
            f"{spec}: no such folder. Pass 'solutions', 'exercises' or a folder holding "
            f"{', '.join(e + '.py' for e in EXERCISES)}."
        )
    return folder.resolve()


def _package_name(folder: Path) -> str:
    return "_vqa_impl_" + hashlib.sha1(str(folder).encode()).hexdigest()[:12]


def _ensure_package(folder: Path) -> str:
    name = _package_name(folder)
    if name not in sys.modules:
        package = types.ModuleType(name)
        package.__path__ = [str(folder)]
        package.__package__ = name
        sys.modules[name] = package
    return name


def _describe_import_error(path: Path, err: BaseException) -> str:
    if isinstance(err, SyntaxError):
        return f"{err.filename or path}:{err.lineno}: syntax error: {err.msg}"
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == str(path)]
    where = f"{path}:{frames[-1].lineno}" if frames else str(path)
    return f"{where}: importing it raised {type(err).__name__}: {err}"


def load_exercise(folder: str | Path, exercise: str, *, reload: bool = False) -> types.ModuleType:
    """Import one exercise module (``dataset``, ``lora``, ``train`` or ``predict``) from ``folder``."""
    if exercise not in EXERCISES:
        raise ImplementationError(
            f"unknown exercise {exercise!r}; choose one of {', '.join(EXERCISES)}"
        )
    folder = resolve_folder(folder)
    path = folder / f"{exercise}.py"
    if not path.is_file():
        raise ImplementationError(f"{path}: missing. Exercise {exercise!r} lives in {exercise}.py.")
    package = _ensure_package(folder)
    name = f"{package}.{exercise}"
    if name in sys.modules and not reload:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    before = set(sys.modules)
    sys.path.insert(0, str(folder))
    try:
        spec.loader.exec_module(module)
    except BaseException as err:  # a learner's module may raise anything, SystemExit included
        sys.modules.pop(name, None)
        if isinstance(err, KeyboardInterrupt):
            raise
        raise ImplementationError(_describe_import_error(path, err)) from err
    finally:
        try:
            sys.path.remove(str(folder))
        except ValueError:
            pass
        # sibling modules imported by plain name (``import dataset``) stay private to this module
        for added in set(sys.modules) - before:
            file = getattr(sys.modules[added], "__file__", None) or ""
            if "." not in added and file.startswith(str(folder)):
                del sys.modules[added]
    missing = [fn for fn in CONTRACT[exercise] if not callable(getattr(module, fn, None))]
    if missing:
        raise ImplementationError(
            f"{path}: missing {', '.join(missing)} (the contract of exercise {exercise!r})."
        )
    return module


def load_implementation(folder: str | Path) -> Implementation:
    """Import all four exercise modules of ``folder``; the first problem raises ImplementationError."""
    root = resolve_folder(folder)
    modules = {exercise: load_exercise(root, exercise) for exercise in EXERCISES}
    return Implementation(folder=root, **modules)
