"""Keeping the reference and the grader out of a submission's reach.

Two layers:

* :func:`scan_source` (judge side, reads files, runs nothing) finds ``import solutions``,
  ``from grader ...`` and string literals naming those packages;
* :class:`ImportGuard` (worker side) is an audit hook armed before any submission code
  runs: importing ``solutions`` or ``grader`` and opening files under the reference or
  grader folders raise, and each attempt is recorded against the exercise being graded.
"""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

BLOCKED_PACKAGES = ("solutions", "grader")


def _blocked_name(name: str) -> str | None:
    top = name.split(".", 1)[0]
    return top if top in BLOCKED_PACKAGES else None


def scan_source(path: str | Path) -> list[str]:
    """Names of blocked packages a source file imports (statically), e.g. ``["solutions"]``."""
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return []
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            value = node.value.strip()
            if value in BLOCKED_PACKAGES or any(
                value.startswith(p + ".") for p in BLOCKED_PACKAGES
            ):
                names = [value]
        for name in names:
            hit = _blocked_name(name)
            if hit:
                found.add(hit)
    return sorted(found)


class ImportGuard:
    """An audit hook (it cannot be removed once added) that blocks and records."""

    def __init__(self, blocked_dirs: list[str], allowed_dirs: list[str]):
        self.blocked_dirs = [os.path.realpath(d) for d in blocked_dirs if d]
        self.allowed_dirs = [os.path.realpath(d) for d in allowed_dirs if d]
        self.active: str | None = None
        self.armed = False
        self.violations: list[tuple[str | None, str]] = []
        self._busy = False

    def _under(self, path: str, roots: list[str]) -> bool:
        return any(path == root or path.startswith(root + os.sep) for root in roots)

    def _record(self, what: str) -> None:
        self.violations.append((self.active, what))

    def hook(self, event: str, args: tuple) -> None:
        if not self.armed or self._busy:
            return
        if event == "import":
            name = args[0] if args else ""
            if isinstance(name, str):
                hit = _blocked_name(name)
                if hit:
                    self._record(f"imports {hit}")
                    raise ImportError(f"importing {hit!r} is not allowed in a submission")
        elif event == "open":
            path = args[0] if args else None
            if isinstance(path, bytes):
                path = os.fsdecode(path)
            if not isinstance(path, str):
                return
            self._busy = True
            try:
                real = os.path.realpath(path)
                blocked = self._under(real, self.blocked_dirs) and not self._under(
                    real, self.allowed_dirs
                )
            finally:
                self._busy = False
            if blocked:
                self._record(f"reads {path}")
                raise PermissionError(f"reading {path} is not allowed in a submission")

    def arm(self) -> None:
        """Install the hook and forget the grader's own modules, so importing them goes through it."""
        sys.addaudithook(self.hook)
        for name in list(sys.modules):
            if _blocked_name(name):
                del sys.modules[name]
        self.armed = True

    def take(self, exercise: str | None) -> list[str]:
        mine = [what for ex, what in self.violations if ex == exercise]
        self.violations = [(ex, what) for ex, what in self.violations if ex != exercise]
        return mine
