"""Running a plan of probe calls on one implementation in the worker's children, surviving crashes and
timeouts (judge side: it drives the worker through :mod:`grader.worker.handle`)."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from grader.judge.plan import cost
from grader.worker.contract import ProbeCall
from grader.worker.handle import CallResult, Child, Zygote

COPY_MAX_FILES = 200
COPY_MAX_BYTES = 5 * 1024 * 1024


def submission_files(src: Path) -> Iterator[tuple[str, Path]]:
    """(relative POSIX path, path) of each file of a submission a worker gets to see: no hidden folders or
    caches, no links to anything but a file, no file over ``COPY_MAX_BYTES``, at most ``COPY_MAX_FILES``."""
    count = 0
    for root, dirs, files in os.walk(src):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
        rel = Path(root).relative_to(src)
        for name in sorted(files):
            path = Path(root) / name
            try:
                if path.is_symlink() and not path.resolve().is_file():
                    continue
                if path.stat().st_size > COPY_MAX_BYTES:
                    continue
            except OSError:
                continue
            yield (rel / name).as_posix(), path
            count += 1
            if count >= COPY_MAX_FILES:
                return


def copy_submission(src: Path, dst: Path) -> Path:
    """Copy a submission's small files into the worker's scratch (the worker never sees the original)."""
    dst.mkdir(parents=True, exist_ok=True)
    for rel, path in submission_files(src):
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dst / rel)
    return dst


def split_lanes(calls: list[ProbeCall[Any]], lanes: int) -> list[list[ProbeCall[Any]]]:
    """Share ``calls`` among ``lanes`` children by their estimated cost, the same way on every run: whole
    exercises, heaviest first, each to the lane with the least work so far (a child then runs the code of
    these exercises only); the calls of a single exercise are shared out one by one. Each lane keeps the
    plan's order; empty lanes are dropped."""
    exercises = list(dict.fromkeys(c.exercise for c in calls))
    if len(exercises) >= lanes:
        units = [[c for c in calls if c.exercise == e] for e in exercises]
    else:
        units = [[c] for c in calls]
    work = [0.0] * max(1, lanes)
    chosen: list[list[ProbeCall[Any]]] = [[] for _ in work]
    for unit in sorted(
        units, key=lambda u: -sum(map(cost, u))
    ):  # stable: ties keep the plan's order
        lane = work.index(min(work))
        chosen[lane] += unit
        work[lane] += sum(map(cost, unit))
    position = {c.key: n for n, c in enumerate(calls)}
    return [sorted(lane, key=lambda c: position[c.key]) for lane in chosen if lane]


class ProbeRunner:
    """Calls probes in a child of ``zygote``; a crash or timeout costs that call only."""

    def __init__(self, zygote: Zygote, *, timeout: float, memory_mb: int, output_limit: int = 8192):
        self.zygote = zygote
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.output_limit = output_limit
        self.restarts = 0

    def _spawn(self, config: dict) -> Child:
        try:
            return self.zygote.spawn(config, output_limit=self.output_limit)
        except (OSError, ValueError, ConnectionError):
            # the zygote itself died (a child may have killed it): start it again once, for every lane
            self.zygote.restart()
            return self.zygote.spawn(config, output_limit=self.output_limit)

    def run(
        self, calls: list[ProbeCall[Any]], config: dict, lanes: int = 2
    ) -> dict[str, CallResult]:
        """Run ``calls``; with two lanes, two children share the work (about equal halves, see
        :func:`split_lanes`), in parallel.

        The CUDA calls always run in a child of their own, without the address-space limit (CUDA reserves
        far more virtual memory than any limit would allow); the time limit still holds."""
        ordered = list(calls)
        cuda = [c for c in calls if c.cuda]
        groups = split_lanes([c for c in calls if not c.cuda], lanes)
        limits = [self.memory_mb] * len(groups)
        if cuda:
            groups.append(cuda)
            limits.append(0)
        if len(groups) < 2:
            return self._run_lane(groups[0], config, limits[0]) if groups else {}
        results: list[dict] = [{} for _ in groups]
        errors: list[BaseException] = []

        def lane(n):
            try:
                results[n] = self._run_lane(
                    groups[n], {**config, "scratch": f"{config['scratch']}-{n}"}, limits[n]
                )
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                errors.append(exc)

        threads = [
            threading.Thread(target=lane, args=(n,), daemon=True) for n in range(len(groups))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        merged = {}
        for part in results:
            merged.update(part)
        return {call.key: merged[call.key] for call in ordered}

    def _run_lane(
        self, calls: list[ProbeCall[Any]], config: dict, memory_mb: int | None = None
    ) -> dict[str, CallResult]:
        config = {**config, "memory_mb": self.memory_mb if memory_mb is None else memory_mb}
        results: dict[str, CallResult] = {}
        child: Child | None = None
        load_failed: dict[str, CallResult] = {}
        try:
            for call in calls:
                if call.exercise in load_failed:
                    results[call.key] = load_failed[call.exercise]
                    continue
                if child is None or child.dead:
                    if child is not None:
                        self.restarts += 1
                    child = self._spawn(config)
                result = child.call(
                    {"op": "probe", "probe": call.probe.name, "args": call.args}, self.timeout
                )
                results[call.key] = result
                if result.kind == "load_error":
                    load_failed[call.exercise] = result
        finally:
            if child is not None:
                child.close()
        return results
