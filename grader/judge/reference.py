"""The reference's probe results and the shared fixtures, computed once and cached on disk.

The cache entry is keyed by :func:`fingerprint` (everything that decides a grade: package versions, the
reference, the course kit with its shipped models, probes, checks and verdict logic; the batch's re-use rule
keys on the same), so any change recomputes it, and by the device: ``cuda`` adds the CUDA runs
of the train and predict probes (see plan.CUDA_PLAN) and whether this machine has a GPU.  Layout::

    <cache>/<key>/artifacts/   fixtures every worker reads (data, tiny models, adapters, batches)
    <cache>/<key>/results/     the reference's probe results (JSON + safetensors); hidden from submissions
    <cache>/<key>/complete.json
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from grader.judge import plan as plan_mod
from grader.judge.lanes import ProbeRunner
from grader.worker import contract
from grader.worker.contract import ProbeCall
from grader.worker.handle import CallResult, Zygote
from vqa import course
from vqa.files import user_cache_dir

GRADER_DIR = Path(__file__).resolve().parents[1]
VERSIONED = ("torch", "transformers", "peft", "numpy", "safetensors", "pillow", "tokenizers")


class ReferenceFailure(RuntimeError):
    """The reference itself failed a probe: a problem of the course package, not of the submission."""


def default_cache_dir() -> Path:
    """Where the reference's probe results are cached (``$GRADER_CACHE`` or the user cache folder)."""
    return user_cache_dir("GRADER_CACHE", "mllm-vqa-grader")


def reference_dir() -> Path:
    env = os.environ.get("GRADER_REFERENCE")
    return Path(env).resolve() if env else (course.ROOT / "solutions").resolve()


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": ".".join(map(str, sys.version_info[:3]))}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    from grader import __version__

    out["grader"] = __version__
    return out


KIT_DATA = (
    "*.py",
    "*.toml",
    "*.json",
    "*.txt",
    "*.safetensors",
)  # the kit's code, manifest and shipped models
DECIDING_FILES = (
    "judge/plan.py",
    "judge/grade.py",
    "judge/results.py",
    "judge/hints.toml",
    "worker/zygote.py",
    "worker/protocol.py",
    "worker/contract.py",
)


def _hash_tree(digest, root: Path, patterns=("*.py",)) -> None:
    for path in sorted({p for pattern in patterns for p in root.rglob(pattern)}):
        if "__pycache__" in path.parts:
            continue
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())


def fingerprint(ref: Path | None = None) -> str:
    """One hash of everything that decides a grade: package versions, the reference, the course kit (its
    fixtures' code, the manifest, the shipped tiny models), the probes, the checks, the notebook layer, the
    plan, the verdict logic and the messages. The reference cache and the batch's re-use rule both key on it."""
    digest = hashlib.sha256()
    digest.update(json.dumps(versions(), sort_keys=True).encode())
    _hash_tree(digest, Path(ref) if ref is not None else reference_dir())
    _hash_tree(digest, course.ROOT / "vqa", KIT_DATA)
    for folder in (
        "probes",
        "checks",
        "notebook",
    ):  # the notebook layer decides what a .ipynb is graded on
        _hash_tree(digest, GRADER_DIR / folder)
    for name in DECIDING_FILES:
        digest.update(name.encode())
        digest.update((GRADER_DIR / name).read_bytes())
    return digest.hexdigest()


def cache_key(device: str, ref: Path) -> str:
    digest = hashlib.sha256(fingerprint(ref).encode())
    digest.update(device.encode())
    if (
        device == "cuda"
    ):  # the CUDA runs say "not available" on a machine without a GPU: not for one with it
        from grader.worker.sandbox import gpu_devices

        digest.update(b"gpu" if gpu_devices() else b"no-gpu")
    return digest.hexdigest()[:20]


@dataclass
class Reference:
    key: str
    root: Path
    results: dict[str, CallResult]

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    @property
    def results_dir(self) -> Path:
        return self.root / "results"


def _save(results_dir: Path, key: str, result: CallResult) -> None:
    """The reference's result of call ``key``: the probe's result as the contract encodes it, tensors beside."""
    from safetensors.numpy import save_file

    (results_dir / f"{key}.json").write_text(json.dumps(contract.encode(result.data)))
    if result.tensors:
        save_file(result.tensors, str(results_dir / f"{key}.safetensors"))


def _load(results_dir: Path, calls: Iterable[ProbeCall[Any]]) -> dict[str, CallResult]:
    """The reference's results of ``calls``, read back by the contract (a file that does not follow it is a
    ProtocolError)."""
    from safetensors.numpy import load_file

    out = {}
    for call in calls:
        data = contract.decode(
            call.probe.result, json.loads((results_dir / f"{call.key}.json").read_text())
        )
        tensor_file = results_dir / f"{call.key}.safetensors"
        tensors = load_file(str(tensor_file)) if tensor_file.is_file() else {}
        out[call.key] = CallResult(ok=True, data=data, tensors=tensors)
    return out


def vqa_env(artifacts: Path) -> dict:
    return {"VQA_CACHE": str(artifacts / "vqa-cache"), "HF_HOME": str(artifacts.parent / "hf-home")}


class ReferenceStore:
    """Gives the reference's results for a device, from the disk cache or by running it once."""

    def __init__(
        self,
        cache_dir: str | os.PathLike[str] | None = None,
        *,
        sandbox_mode: str = "none",
        timeout: float = 120.0,
        memory_mb: int = 4096,
        reference: str | Path | None = None,
    ):
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.sandbox_mode = sandbox_mode
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.reference = Path(reference).resolve() if reference else reference_dir()
        self._loaded: dict[str, Reference] = {}

    def entry(self, device: str) -> Path:
        return self.cache_dir / cache_key(device, self.reference)

    def cached(self, device: str) -> bool:
        return (self.entry(device) / "complete.json").is_file()

    def get(self, device: str = "cpu") -> Reference:
        if device in self._loaded:
            return self._loaded[device]
        root = self.entry(device)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with open(self.cache_dir / f"{root.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (root / "complete.json").is_file():
                self._compute(root, device)
        ref = Reference(root.name, root, _load(root / "results", plan_mod.plan_for(device)))
        self._loaded[device] = ref
        return ref

    def _compute(self, root: Path, device: str) -> None:
        # clear the entry but keep its folders (a running sandbox may have them mounted)
        artifacts, results_dir = root / "artifacts", root / "results"
        for folder in (artifacts, results_dir):
            folder.mkdir(parents=True, exist_ok=True)
            for child in folder.iterdir():
                shutil.rmtree(
                    child
                ) if child.is_dir() and not child.is_symlink() else child.unlink()
        scratch = Path(tempfile.mkdtemp(prefix="grader-ref-"))
        zygote = Zygote(
            sandbox_mode=self.sandbox_mode,
            writable=[str(root)],
            cwd=str(scratch / "zygote"),
            env=vqa_env(artifacts),
            log_path=str(scratch / "zygote.log"),
            cuda=device == "cuda",
        )
        try:
            zygote.start()
            runner = ProbeRunner(zygote, timeout=self.timeout, memory_mb=self.memory_mb)
            config = {
                "role": "reference",
                "folder": str(self.reference),
                "artifacts": str(artifacts),
                "scratch": str(scratch / "child"),
                "device": device,
                "guard": None,
            }
            setup = runner.run([plan_mod.SETUP], config)[plan_mod.SETUP.key]
            if not setup.ok:
                raise ReferenceFailure(
                    f"building the fixtures failed: {setup.describe()}\n{setup.output[-3000:]}"
                )
            results = runner.run(list(plan_mod.plan_for(device)), config)
            for key, result in results.items():
                if not result.ok:
                    raise ReferenceFailure(
                        f"the reference failed probe {key}: {result.describe()}\n{result.output[-3000:]}"
                    )
                _save(results_dir, key, result)
            (root / "complete.json").write_text(
                json.dumps({"versions": versions(), "device": device})
            )
        except BaseException:
            (root / "complete.json").unlink(missing_ok=True)
            raise
        finally:
            zygote.close()
            shutil.rmtree(scratch, ignore_errors=True)
