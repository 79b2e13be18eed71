"""Files: atomic writes (a reader, a crash or a Ctrl-C never leaves half a file behind) and cached folders."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def write_text_atomic(path: str | Path, text: str, *, encoding: str = "utf-8") -> None:
    """Write ``text`` to a temp file next to ``path`` (creating its folder), then ``os.replace`` it into place."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_json_atomic(path: str | Path, data: Any) -> None:
    """Write ``data`` as indented UTF-8 JSON, atomically."""
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


@contextmanager
def replaced_dir(dest: str | Path) -> Iterator[Path]:
    """A temporary folder beside ``dest`` to fill; when the block ends well it replaces ``dest`` whole (a file
    left from before does not stay behind), and when it raises it is removed and ``dest`` is left as it was."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        yield tmp
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def user_cache_dir(env_var: str, name: str) -> Path:
    """``$env_var`` when set, else ``name`` in the user's cache folder (``$XDG_CACHE_HOME`` or ``~/.cache``)."""
    env = os.environ.get(env_var)
    if env:
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / name


STAMP = "complete.json"


def cached_dir(target: str | Path, build: Callable[[Path], object], stamp: dict) -> Path:
    """``target`` when it was built with this ``stamp``; else ``build`` it in a temp folder beside it and
    rename that into place, so that a crash or Ctrl-C never leaves a half-built folder to be reused."""
    target = Path(target)
    try:
        if json.loads((target / STAMP).read_text(encoding="utf-8")) == stamp:
            return target
    except (OSError, ValueError):
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        build(tmp)
        (tmp / STAMP).write_text(json.dumps(stamp), encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        try:
            tmp.rename(target)
        except OSError:  # another process won the race: keep theirs
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
