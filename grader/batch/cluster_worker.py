"""The Dask worker's side of a cluster batch: a worker plugin that keeps warm slots, and the task that grades.

Each worker keeps one slot per worker thread: the same ``python -m grader.batch.slot`` process a local batch
starts (a judge with its worker zygote, the reference loaded once), started when the plugin is registered and
driven synchronously from the task. So the judge and the learner's code both run outside the Dask worker's
process, under the same sandbox, time and memory limits as on the instructor's machine; a submission that
overruns ``--submission-timeout`` kills its slot, which is replaced before the next one. A task writes the
submission's files into a private temporary folder, grades it, and answers in the parent's terms (the folder
named as the parent prepared it). Runs in the Dask worker process; imports ``distributed``, never torch.
"""

from __future__ import annotations

import os
import queue
import select
import shutil
import signal
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from functools import cached_property
from pathlib import Path, PurePosixPath

from distributed import WorkerPlugin, get_worker

from grader.batch.cluster import (
    ERROR,
    REFUSED,
    START_FAILED,
    STOPPED,
    TIMEOUT,
    Answer,
    GradingOptions,
    Identity,
    Task,
    identity,
    refusal,
)
from grader.batch.records import GRADED, BatchOptions
from grader.batch.scheduler import Slot
from grader.batch.slot import Reply


class WarmSlot:
    """One slot process driven synchronously: started ahead, waited for when needed, replaced after it dies or
    overruns. Only one thread uses a WarmSlot at a time (see :class:`SlotPool`)."""

    def __init__(self, number: int, options: BatchOptions, log_dir: Path):
        self.slot = Slot(number, options, log_dir)
        self.pending: deque[Reply] = deque()
        self.requests = 0

    def start(self) -> str | None:
        """Start the process if it is not running (its imports go on in the background); None, or why not."""
        if self.slot.proc is not None:
            return None
        self.pending.clear()
        try:
            self.slot.start()
        except OSError as exc:
            error = self.slot.start_error(f"could not start: {exc}")
            self.slot.kill()
            return error
        return None

    def _next(self, deadline: float) -> tuple[Reply | None, bool]:
        """The slot's next message, or (None, whether it closed) when it closed or ``deadline`` passed."""
        while not self.pending:
            messages, closed = self.slot.read_messages()
            self.pending.extend(messages)
            if self.pending:
                break
            left = deadline - time.monotonic()
            if closed or left <= 0:
                return None, closed
            assert self.slot.reader is not None  # started
            select.select([self.slot.reader], [], [], min(left, 1.0))
        return self.pending.popleft(), False

    def ready(self) -> str | None:
        """None once the slot is ready to grade; else why it could not start (and it is stopped)."""
        error = self.start()
        if error or self.slot.ready:
            return error
        message, closed = self._next(self.slot.deadline)
        if message is not None and message.get("ready"):
            self.slot.ready = True
            return None
        if message is not None:
            error = message.get("error") or "unknown error"
        elif closed:
            error = self.slot.start_error("exited while starting:")
        else:
            error = self.slot.start_error(
                f"did not start within {self.slot.options.start_timeout:g} s"
            )
        self.slot.kill()
        return error

    def grade(self, student: str, folder: str) -> Answer:
        """Grade ``folder`` within ``submission_timeout`` (the slot's start-up does not count, as in a local batch)."""
        error = self.ready()
        if error is None:
            self.requests += 1
            try:
                self.slot.request(folder, self.requests)
            except OSError:  # it died while idle: a new one takes the work
                self.slot.kill()
                error = self.ready()
                if error is None:
                    self.slot.request(folder, self.requests)
        if error is not None:
            return Answer(student, START_FAILED, error=error)
        message, closed = self._next(self.slot.deadline)
        if message is not None and message.get("ok"):
            return Answer(
                student, GRADED, result=message.get("result"), seconds=message.get("seconds", 0.0)
            )
        if (
            message is not None
        ):  # the grader failed on it, or garbled its answer (then the slot is replaced)
            if message.get("garbled"):
                self.slot.kill()
            return Answer(
                student,
                ERROR,
                error=message.get("error") or "the grader failed",
                seconds=message.get("seconds", 0.0),
                log=message.get("log") or str(self.slot.log_path),
            )
        tail = self.slot.log_tail(1)
        self.slot.kill()
        return Answer(student, STOPPED, error=tail) if closed else Answer(student, TIMEOUT)

    def halt(self) -> None:
        """Kill the process group without touching the pipes another thread may be reading (that thread then sees
        the slot close and cleans up)."""
        if self.slot.proc is not None:
            try:
                os.killpg(self.slot.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


class SlotPool:
    """A worker's slots, one per thread; ``close`` stops the idle ones now and the busy ones as they finish."""

    def __init__(self, slots: list[WarmSlot]):
        self.slots = slots
        self.idle: queue.LifoQueue[WarmSlot] = queue.LifoQueue()
        for slot in slots:
            self.idle.put(slot)
        self.closed = False
        self.lock = threading.Lock()

    @contextmanager
    def slot(self) -> Iterator[WarmSlot]:
        slot = self.idle.get()
        try:
            yield slot
        finally:
            with self.lock:
                if self.closed:
                    slot.slot.kill()
                else:
                    self.idle.put(slot)

    def close(self) -> None:
        with self.lock:
            self.closed = True
            idle = []
            while not self.idle.empty():
                idle.append(self.idle.get_nowait())
        for slot in self.slots:
            if slot in idle:
                slot.slot.stop()
            else:
                slot.halt()


def write_files(folder: Path, files: Mapping[str, bytes]) -> Path:
    """Write a task's files under ``folder``; ValueError for a path that would leave it."""
    folder.mkdir(parents=True)
    for rel, data in files.items():
        path = PurePosixPath(rel)
        if path.is_absolute() or not path.parts or ".." in path.parts:
            raise ValueError(f"refused: the path {rel!r} would leave the submission's folder")
        target = folder.joinpath(*path.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return folder


def as_shown(value, names: dict[str, str]):
    """``value`` (a grade's plain data) with each path in ``names`` (longest first) replaced by its name."""
    if isinstance(value, str):
        for old in sorted(names, key=len, reverse=True):
            value = value.replace(old, names[old])
        return value
    if isinstance(value, dict):
        return {k: as_shown(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [as_shown(v, names) for v in value]
    return value


class GradingPlugin(WorkerPlugin):
    """Warm grading slots on a Dask worker for one set of :class:`GradingOptions` (registered by the parent)."""

    def __init__(self, options: GradingOptions):
        self.options = options

    def setup(self, worker) -> None:
        self.address = worker.address
        self.root = Path(
            tempfile.mkdtemp(prefix="mllm-vqa-grader-", dir=worker.local_directory)
        ).resolve()
        batch = self.options.to_batch()
        self.pool = SlotPool(
            [WarmSlot(i, batch, self.root) for i in range(max(1, worker.state.nthreads))]
        )
        for slot in self.pool.slots:
            slot.start()  # the slots import and load the reference while the first tasks travel

    def teardown(self, worker) -> None:
        self.pool.close()
        shutil.rmtree(self.root, ignore_errors=True)

    @cached_property
    def identity(self) -> Identity:
        return identity(self.options)

    def grade(self, task: Task) -> Answer:
        """Grade one task in a free slot, or refuse it when the instructor's grader is not this worker's."""
        why = refusal(task.identity, self.identity)
        if why:
            return Answer(
                task.student,
                REFUSED,
                error=f"Dask worker {self.address} {why}",
                worker=self.address,
            )
        with (
            self.pool.slot() as slot,
            tempfile.TemporaryDirectory(prefix="task-", dir=self.root) as tmp,
        ):
            try:
                folder = write_files(Path(tmp) / "submission", task.files)
            except (ValueError, OSError) as exc:
                return Answer(
                    task.student,
                    ERROR,
                    error=f"the grader failed on this submission: {exc}",
                    worker=self.address,
                )
            answer = slot.grade(task.student, str(folder))
        return shown_as_parent(answer, folder, task, self.address)


def shown_as_parent(answer: Answer, folder: Path, task: Task, worker: str) -> Answer:
    """``answer`` naming the submission as the parent prepared it (its messages, its ``submission``), not as this
    worker's temporary copy: a cluster's grades, feedback and notebook annotations equal a local batch's."""
    from grader.judge.grade import display_path

    result = answer.result
    if result is not None:
        result = as_shown(result, {str(folder): task.shown, display_path(folder): task.shown})
        result["submission"] = task.folder
    return replace(
        answer,
        result=result,
        error=as_shown(answer.error, {str(folder): task.shown}),
        worker=worker,
    )


def grade_task(task: Task) -> Answer:
    """The Dask task: grade ``task`` in this worker's warm slots."""
    worker = get_worker()
    plugin = worker.plugins.get(task.plugin)
    if not isinstance(plugin, GradingPlugin):
        return Answer(
            task.student,
            START_FAILED,
            worker=worker.address,
            error=f"the batch's grading plugin ({task.plugin}) is not registered on this worker",
        )
    return plugin.grade(task)
