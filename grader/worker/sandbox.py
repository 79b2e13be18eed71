"""Optional OS sandbox for the worker: bubblewrap with no network, a read-only
view of the system and only the given folders writable."""

from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence

from vqa import course

MODES = ("auto", "bwrap", "none")


class SandboxError(RuntimeError):
    """The requested sandbox cannot be used here."""


# what every bubblewrap run here sees: the system read-only, its own /dev and /proc
SYSTEM = ("--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc")


@functools.lru_cache(maxsize=1)
def bwrap_status() -> tuple[bool, str]:
    """(usable, reason): whether bubblewrap is installed and can create its namespaces here."""
    exe = shutil.which("bwrap")
    if exe is None:
        return False, "bubblewrap (bwrap) is not installed"
    try:
        proc = subprocess.run(
            [exe, *SYSTEM, "--unshare-all", "--die-with-parent", "true"],
            capture_output=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"bwrap failed to start: {exc}"
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()
        return False, "bwrap cannot create namespaces here" + (f": {detail[-1]}" if detail else "")
    return True, "bwrap works"


def resolve(mode: str) -> tuple[str, str | None]:
    """The mode actually used and a note for the learner when ``auto`` falls back."""
    if mode not in MODES:
        raise SandboxError(f"unknown sandbox {mode!r}; choose one of {', '.join(MODES)}")
    if mode == "none":
        return "none", None
    ok, reason = bwrap_status()
    if ok:
        return "bwrap", None
    if mode == "bwrap":
        raise SandboxError(f"--sandbox bwrap was asked for but {reason}")
    return "none", f"running without a sandbox: {reason}"


def gpu_devices() -> list[str]:
    """The NVIDIA device files of this machine (what CUDA opens), empty where there is no GPU."""
    return sorted(glob.glob("/dev/nvidia*"))


def python_paths() -> list[str]:
    """The interpreter, its libraries and this package's code where they lie under ``/tmp``, which the
    sandbox replaces with an empty tmpfs (a virtualenv or a checkout in /tmp must stay visible)."""
    candidates = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        os.path.dirname(os.path.realpath(sys.executable)),
        str(course.ROOT),
        *(p for p in sys.path if p),
    }
    found = set()
    for path in candidates:
        real = os.path.realpath(path)
        if (real == "/tmp" or real.startswith("/tmp/")) and os.path.isdir(real):
            found.add(real)
    return sorted(found)


def prefix(
    mode: str,
    writable: Sequence[str],
    readable: Sequence[str] = (),
    hidden: Sequence[str] = (),
    devices: Sequence[str] = (),
) -> list[str]:
    """The command prefix that runs a program in the sandbox (empty for ``none``).

    The system is visible read-only, ``/tmp`` is a private empty tmpfs (but for the Python installation and
    this package, see :func:`python_paths`), ``readable`` folders (which may lie under ``/tmp``) are bound
    read-only, ``hidden`` folders are covered by an empty tmpfs, ``writable``
    folders are bound read-write, ``devices`` (the GPU's, for --device cuda) are visible, and there is no network.
    """
    if mode == "none":
        return []
    args = [shutil.which("bwrap") or "bwrap", *SYSTEM, "--tmpfs", "/tmp"]
    for path in [*python_paths(), *readable]:
        if path and os.path.exists(path):
            args += ["--ro-bind", path, path]
    for path in hidden:
        if path and os.path.isdir(path):
            args += ["--tmpfs", path]
    for path in writable:
        os.makedirs(path, exist_ok=True)
        args += ["--bind", path, path]
    for path in devices:
        if os.path.exists(path):
            args += ["--dev-bind", path, path]
    args += ["--unshare-all", "--die-with-parent", "--new-session", "--"]
    return args
