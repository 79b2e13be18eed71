"""The sandbox's command line: what a submission's worker can see."""

from __future__ import annotations

import sys

import pytest

from grader.worker import sandbox


def test_sandbox_keeps_a_python_installed_under_tmp_visible(tmp_path, monkeypatch):
    """/tmp is a private tmpfs in the sandbox: a virtualenv or checkout there must be bound back in."""
    if not str(tmp_path.resolve()).startswith("/tmp/"):
        pytest.skip("the temporary folder is not under /tmp here")
    venv = tmp_path / "venv"
    venv.mkdir()
    monkeypatch.setattr(sys, "prefix", str(venv))
    paths = sandbox.python_paths()
    assert str(venv.resolve()) in paths
    assert all(p == "/tmp" or p.startswith("/tmp/") for p in paths)
    args = sandbox.prefix("bwrap", writable=[str(tmp_path / "work")])
    bound = [args[i + 1] for i, a in enumerate(args) if a == "--ro-bind"]
    assert str(venv.resolve()) in bound
    assert args.index("--tmpfs") < args.index(str(venv.resolve()))  # bound after /tmp is emptied
