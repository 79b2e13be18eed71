"""Grading a folder of submissions in parallel, one result file per student, resumable.

``BATCH_DIR`` holds one subfolder, ``.zip`` or ``.ipynb`` per student (the name is the student id); a
notebook, or a folder or zip holding one notebook and none of the four modules, is graded from its
``%%writefile`` cells (written out by :mod:`grader.notebook.extract`, never run).
Each submission is graded by a *slot*: a long-lived judge process (``python -m grader.batch.slot
--slot``) that keeps one worker zygote (torch, transformers and peft imported once) and the
reference's results for the whole run, so a submission costs only its own probe calls.  The
parent hands out submissions, enforces a per-submission time limit (a slot that overruns is
killed with its workers and replaced) and writes each result atomically as soon as it arrives.

Output layout (``OUT``)::

    students/<id>.json      the batch record: status, reason, content hash, the grade result
    gradescope/<id>.json    Gradescope-style results.json for that student
    feedback/<id>.md|.html  the learner's feedback page
    .work/                  unpacked zips, notebooks' modules and slot logs (safe to delete)

A record whose content hash and options key match the current run is reused, so re-running
after an interruption grades only what is missing or changed.
"""

from __future__ import annotations

import json
import logging
import os
import selectors
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Protocol

from grader.batch import archive
from grader.batch.discovery import Entry, content_hash, discover
from grader.batch.records import (
    FAILED,
    GRADED,
    BatchOptions,
    BatchSummary,
    Record,
    load_record,
    record_path,
    utc_now,
)
from grader.batch.slot import Reply, garbled_reply
from grader.judge.results import GradeResult
from grader.notebook.annotate import annotate
from grader.notebook.extract import extract
from grader.notebook.reading import NotebookError
from grader.notebook.submission import notebook_in
from vqa.course import ROOT
from vqa.files import write_json_atomic

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- the parent's handle on a slot


class Slot:
    """The parent's handle on one slot process."""

    def __init__(self, number: int, options: BatchOptions, log_dir: Path):
        self.number = number
        self.options = options
        self.log_path = log_dir / f"slot-{number}.log"
        self.proc: subprocess.Popen | None = None
        self.reader: int | None = None  # the slot's replies (a pipe), while it runs
        self.ready = False
        self.task: tuple[Entry, Record] | None = None
        self.deadline = 0.0
        self.started = 0.0
        self._buf = b""

    def start(self) -> None:
        read_fd, write_fd = os.pipe()
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + (
            os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
        )
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "grader.batch.slot", "--slot", "--reply-fd", str(write_fd)],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=[write_fd],
                start_new_session=True,
                env=env,
            )
        os.close(write_fd)
        os.set_blocking(read_fd, False)
        self.reader = read_fd
        self._buf = b""
        self.ready = False
        self.started = time.monotonic()
        self.deadline = self.started + self.options.start_timeout
        exercises = list(self.options.exercises) if self.options.exercises else None
        payload = {**asdict(self.options), "exercises": exercises}
        payload.pop("limits")
        self._send(payload)

    def _send(self, message: dict) -> None:
        assert self.proc is not None and self.proc.stdin is not None  # started with a pipe
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        self.proc.stdin.flush()

    def submit(self, entry: Entry, record: Record, request_id: int) -> None:
        self.task = (entry, record)
        assert record.folder is not None  # prepare() set it for every record it hands on
        self.request(record.folder, request_id)

    def request(self, folder: str, request_id: int) -> None:
        """Ask the slot to grade ``folder``; its clock (``submission_timeout``) starts now."""
        self.started = time.monotonic()
        self.deadline = self.started + self.options.submission_timeout
        self._send({"id": request_id, "folder": folder})

    def read_messages(self) -> tuple[list[Reply], bool]:
        """Complete messages available now, and whether the slot closed its end. A line that cannot be read is
        logged with the end of the slot's log and given as a ``garbled`` reply (a grader fault), never dropped."""
        closed = False
        assert self.reader is not None  # started
        while True:
            try:
                chunk = os.read(self.reader, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                closed = True
                break
            self._buf += chunk
        messages: list[Reply] = []
        while b"\n" in self._buf:
            line, self._buf = self._buf.split(b"\n", 1)
            if line.strip():
                try:
                    message = json.loads(line)
                except ValueError:
                    message = None
                if not isinstance(message, dict):
                    log.error(
                        "batch slot %d answered a line that cannot be read: %r; the end of its log (%s):\n%s",
                        self.number,
                        line[:200],
                        self.log_path,
                        self.log_tail(),
                    )
                    message = garbled_reply(line, str(self.log_path))
                messages.append(message)
        return messages, closed

    def log_tail(self, lines: int = 6) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def start_error(self, what: str) -> str:
        """Why this slot did not start ("a grading process " + ``what``), with the end of its log."""
        return f"a grading process {what}\n{self.log_tail()}"

    def kill(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                if self.proc.stdin is not None:
                    self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover
                pass
        if self.reader is not None:
            try:
                os.close(self.reader)
            except OSError:
                pass
        self.proc, self.reader, self.ready, self.task = None, None, False, None

    def stop(self) -> None:
        """Ask politely (close stdin: the slot closes its worker), then make sure."""
        if self.proc is not None and self.task is None:
            try:
                if self.proc.stdin is not None:
                    self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()


class SlotStartError(RuntimeError):
    """No slot could start: an environment problem (missing packages, the reference failing), not a student's."""


class GradingStopped(RuntimeError):
    """Grading stopped part-way for a reason outside any submission (the Dask scheduler was lost); every result
    finished before it is on disk, and running the same command again grades the rest."""


def timeout_reason(source: str, limit: float) -> str:
    """Why a submission that overran ``--submission-timeout`` was not graded (the same words on every engine)."""
    return f"{source}: grading took longer than {limit:g} s (the per-submission limit; an endless loop?)"


def stopped_reason(source: str, detail: str) -> str:
    """Why a submission whose grading process died under it was not graded."""
    return f"{source}: the grading process stopped unexpectedly ({detail or 'no message'})"


# --------------------------------------------------------------------------- the run


def prepare(
    entry: Entry,
    out_dir: Path,
    options: BatchOptions,
    options_key: str | None = None,
    notebooks: dict | None = None,
) -> Record:
    """Hash and (for zips) unpack one submission, or write a notebook's modules; a failure becomes a ``failed``
    record. ``notebooks`` collects each notebook's :class:`~grader.notebook.found.Extraction` by student, for
    :func:`grader.notebook.annotate.annotate` once graded."""
    record = Record(
        student=entry.student,
        source=entry.path.name,
        status=GRADED,
        options_key=options_key or options.key(),
    )
    try:
        record.content_hash = content_hash(entry)
    except OSError as exc:
        return mark_failed(record, f"{entry.path.name}: cannot read ({exc.strerror or exc})")
    if entry.kind == "zip":
        try:
            folder = archive.unpack_zip(
                entry.path, out_dir / ".work" / "unpacked" / entry.student, options.limits
            )
        except archive.ArchiveError as exc:
            return mark_failed(record, str(exc))
    elif entry.kind == "folder":
        try:
            folder = archive.submission_root(entry.path)
        except OSError as exc:
            return mark_failed(record, f"{entry.path.name}: cannot read ({exc.strerror or exc})")
    notebook = entry.path if entry.kind == "notebook" else notebook_in(folder)
    if notebook is not None:
        try:
            extraction = extract(
                notebook, out_dir / ".work" / "notebooks" / entry.student, shown=notebook.name
            )
        except NotebookError as exc:
            return mark_failed(record, exc.text(options.lang))
        if notebooks is not None:
            notebooks[entry.student] = extraction
        assert extraction.folder is not None  # extract() wrote the modules there
        folder = extraction.folder
    record.folder = str(folder.resolve())
    if notebook is not None:
        return record  # an exercise without its cell is graded 0 with the notebook's message
    if not any(folder.glob("*.py")):
        several = sorted(p.name for p in folder.glob("*.ipynb"))
        return mark_failed(
            record,
            f"{entry.path.name}: no Python files found "
            "(expected dataset.py, lora.py, train.py, predict.py"
            + (f", or one notebook: it holds {', '.join(several)})" if several else ")"),
        )
    return record


def mark_failed(record: Record, reason: str) -> Record:
    """``record`` as not graded, for ``reason`` (what the instructor reads in the closing list)."""
    record.status, record.reason, record.graded_at = FAILED, reason, utc_now()
    return record


def mark_grader_error(record: Record, error: str, log_path: str | None) -> Record:
    """``record`` as not graded because the grader failed on it: its own fault, not the learner's (the
    ``grader_error`` flag, listed among those that need a look), with the log that tells it."""
    record.grader_error, record.grader_log = error, log_path or None
    return mark_failed(record, error + (f" (the grader's log: {log_path})" if log_path else ""))


class _Progress:
    """A rich progress bar (counts and time left), or nothing when not wanted."""

    def __init__(self, total: int, enabled: bool):
        self.bar = None
        if enabled and total:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("[bold]grading"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[failed]} failed"),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self.task = self.bar.add_task("grading", total=total, failed=0)
            self.bar.start()
        self.failed = 0

    def advance(self, record: Record) -> None:
        if record.status == FAILED:
            self.failed += 1
        if self.bar:
            self.bar.update(self.task, advance=1, failed=self.failed)

    def log(self, text: str) -> None:
        if self.bar:
            self.bar.console.print(text, markup=False, highlight=False)

    def close(self) -> None:
        if self.bar:
            self.bar.stop()


# --------------------------------------------------------------------------- engines: who grades what was prepared


class Engine(Protocol):
    """What grades the prepared submissions: this machine's slots (:class:`LocalSlots`) or a Dask cluster
    (:class:`grader.batch.cluster.ClusterEngine`). ``grade`` hands each record of ``todo`` to ``finish`` exactly
    once, graded or failed, as soon as it is known; ``where`` names where grading ran for the closing summary
    ("" on this machine)."""

    where: str

    def grade(
        self, todo: deque[tuple[Entry, Record]], finish: Callable[[Record], None], work: Path
    ) -> None: ...


class LocalSlots:
    """The batch on this machine: ``--jobs`` slot processes, each replaced when it dies or overruns."""

    where = ""

    def __init__(self, options: BatchOptions):
        self.options = options

    def grade(
        self, todo: deque[tuple[Entry, Record]], finish: Callable[[Record], None], work: Path
    ) -> None:
        log_dir = work / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        slots = [
            Slot(i, self.options, log_dir)
            for i in range(min(self.options.resolved_jobs(), len(todo)))
        ]
        try:
            _drive(slots, todo, finish)
        finally:
            for slot in slots:
                slot.stop()


def run_batch(
    batch_dir: str | Path,
    out_dir: str | Path,
    options: BatchOptions | None = None,
    *,
    progress: bool = True,
    on_record: Callable[[Record], None] | None = None,
    engine: Engine | None = None,
) -> BatchSummary:
    """Grade every submission in ``batch_dir`` into ``out_dir``; returns what happened.

    Each finished submission is written at once (``students/``, ``gradescope/``, ``feedback/``), so a
    Ctrl-C loses only the submissions in flight; ``summary.interrupted`` is then True and the
    KeyboardInterrupt is not re-raised.  ``engine`` grades what needs grading (default: :class:`LocalSlots`).
    Raises :class:`SlotStartError` when grading cannot start at all, :class:`GradingStopped` when it stopped
    part-way (what was finished is on disk).
    """
    from grader.reports import feedback

    options = options or BatchOptions()
    engine = engine or LocalSlots(options)
    out_dir = Path(out_dir)
    start = time.monotonic()
    entries, notes = discover(batch_dir, exclude=[out_dir])
    key = options.key()  # once per run: every record of a run is comparable
    (out_dir / "students").mkdir(parents=True, exist_ok=True)
    summary = BatchSummary(records=[], notes=notes)
    todo: deque[tuple[Entry, Record]] = deque()
    done: dict[str, Record] = {}
    prepared: dict[str, Record] = {}
    notebooks: dict = {}  # student -> the Extraction of their notebook
    bar = _Progress(len(entries), progress)

    def finish(record: Record) -> None:
        if record.result and record.student in notebooks:  # told in the notebook's cells and lines
            record.result = annotate(
                GradeResult.from_dict(record.result), notebooks[record.student]
            ).to_dict()
        write_json_atomic(record_path(out_dir, record.student), record.to_dict())
        feedback.write_student_files(record, out_dir, lang=options.lang)
        done[record.student] = record
        (summary.failed if record.status == FAILED else summary.graded).append(record.student)
        bar.advance(record)
        if on_record:
            on_record(record)

    try:
        for entry in entries:
            record = prepare(entry, out_dir, options, key, notebooks)
            prepared[entry.student] = record
            old = None if options.force else load_record(record_path(out_dir, entry.student))
            if (
                old is not None
                and old.content_hash == record.content_hash
                and old.options_key == record.options_key
                and (old.status == GRADED or not options.retry_failed)
            ):
                if record.folder:
                    old.folder = record.folder
                done[entry.student] = old
                summary.reused.append(entry.student)
                bar.advance(old)
                continue
            if record.status == FAILED:
                finish(record)
            else:
                todo.append((entry, record))
        if todo:
            engine.grade(todo, finish, out_dir / ".work")
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        summary.where = engine.where
        bar.close()
    for student, record in prepared.items():  # written to disk just as a Ctrl-C arrived
        if student not in done:
            old = load_record(record_path(out_dir, student))
            if old is not None and (old.content_hash, old.options_key) == (
                record.content_hash,
                record.options_key,
            ):
                done[student] = old
    summary.records = [done[e.student] for e in entries if e.student in done]
    summary.seconds = round(time.monotonic() - start, 2)
    return summary


def _take(
    slot: Slot, message: Reply, finish: Callable[[Record], None], start_failures: list[str]
) -> bool:
    """Act on one of ``slot``'s messages: ready, or the answer for the submission in flight (a grade, or a grader
    fault); True when the slot must be replaced (it could not start, or it garbled its replies: what it says
    next cannot be trusted)."""
    if "ready" in message:
        slot.ready = bool(message["ready"])
        if not slot.ready:
            start_failures.append(message.get("error") or "unknown error")
        return not slot.ready
    garbled = bool(message.get("garbled"))
    if slot.task is not None and (garbled or message.get("id") is not None):
        _, record = slot.task
        slot.task = None
        record.seconds = message.get("seconds", 0.0)
        record.graded_at = utc_now()
        if message.get("ok"):
            record.result = message["result"]
        else:
            mark_grader_error(
                record,
                message.get("error") or "the grader failed",
                message.get("log") or str(slot.log_path),
            )
        finish(record)
    elif garbled and not slot.ready:
        start_failures.append(message.get("error", ""))
    return garbled


def _drive(slots: list[Slot], todo: deque, finish: Callable[[Record], None]) -> None:
    """Keep every slot busy until ``todo`` is empty and nothing is in flight; replace slots that die."""
    selector = selectors.DefaultSelector()
    request_id = 0
    start_failures: list[str] = []
    max_failures = len(slots) + 1

    def retire(slot: Slot) -> None:
        try:
            if slot.reader is not None:
                selector.unregister(slot.reader)
        except (KeyError, ValueError):
            pass
        slot.kill()

    try:
        while todo or any(s.task for s in slots):
            if len(start_failures) >= max_failures:
                raise SlotStartError("grading could not start:\n" + "\n".join(start_failures[-2:]))
            for slot in slots:
                if slot.proc is None and todo:
                    try:
                        slot.start()
                    except OSError as exc:  # the slot died at once (its log says why)
                        start_failures.append(slot.start_error(f"could not start: {exc}"))
                        slot.kill()
                        continue
                    assert slot.reader is not None  # set by start()
                    selector.register(slot.reader, selectors.EVENT_READ, slot)
                if slot.ready and slot.task is None and todo:
                    entry, record = todo.popleft()
                    request_id += 1
                    try:
                        slot.submit(entry, record, request_id)
                    except (
                        OSError
                    ):  # the slot went away between two submissions: hand the work to a new one
                        slot.task = None
                        todo.appendleft((entry, record))
                        retire(slot)
            live = [s for s in slots if s.proc is not None]
            wait = max(0.05, min(s.deadline for s in live) - time.monotonic()) if live else 0.05
            for key, _ in selector.select(min(wait, 1.0)):
                slot = key.data
                messages, closed = slot.read_messages()
                for message in messages:
                    closed = _take(slot, message, finish, start_failures) or closed
                if closed:
                    if slot.task is not None:
                        entry, record = slot.task
                        slot.task = None
                        finish(
                            mark_failed(record, stopped_reason(entry.path.name, slot.log_tail(1)))
                        )
                    elif not slot.ready and not start_failures:
                        start_failures.append(slot.start_error("exited while starting:"))
                    retire(slot)
            now = time.monotonic()
            for slot in slots:
                if slot.proc is None or now <= slot.deadline:
                    continue
                if slot.task is not None:
                    entry, record = slot.task
                    slot.task = None
                    finish(
                        mark_failed(
                            record, timeout_reason(entry.path.name, slot.options.submission_timeout)
                        )
                    )
                else:
                    start_failures.append(
                        slot.start_error(f"did not start within {slot.options.start_timeout:g} s")
                    )
                retire(slot)
    finally:
        selector.close()
