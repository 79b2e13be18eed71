"""Grading a folder of submissions in parallel, one result file per student, resumable.

``BATCH_DIR`` holds one subfolder or one ``.zip`` per student (the name is the student id).
Each submission is graded by a *slot*: a long-lived judge process (``python -m grader.batch
--slot``) that keeps one worker zygote (torch, transformers and peft imported once) and the
reference's results for the whole run, so a submission costs only its own probe calls.  The
parent hands out submissions, enforces a per-submission time limit (a slot that overruns is
killed with its workers and replaced) and writes each result atomically as soon as it arrives.

Output layout (``OUT``)::

    students/<id>.json      the batch record: status, reason, content hash, the grade result
    gradescope/<id>.json    Gradescope-style results.json for that student
    feedback/<id>.md|.html  the learner's feedback page
    .work/                  unpacked zips and slot logs (safe to delete)

A record whose content hash and options key match the current run is reused, so re-running
after an interruption grades only what is missing or changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

from grader import archive
from vqa.course import TOTAL_POINTS
from vqa.files import write_json_atomic

RECORD_FORMAT = "vqa-batch-record/1"
HASH_MAX_BYTES = 64 * 1024 * 1024
SKIP_NAMES = ("__MACOSX", "__pycache__")
GRADED, FAILED = "graded", "failed"


# --------------------------------------------------------------------------- options and records


@dataclass
class BatchOptions:
    """How to grade a batch; the limits mirror ``grade``'s own options."""

    jobs: int = 0  # 0: the number of cores
    timeout: float = 60.0  # per probe call (``grade --timeout``)
    memory_mb: int = 2048  # per worker child, on top of the imported libraries (``grade --memory-mb``)
    submission_timeout: float = 900.0  # whole submission, enforced by the batch
    start_timeout: float = 900.0  # a slot's start-up (the first one may compute the reference)
    sandbox: str = "auto"
    device: str = "cpu"
    lang: str = "en"
    exercises: tuple[str, ...] | None = None
    cache_dir: str | None = None
    force: bool = False  # grade again even when nothing changed
    retry_failed: bool = False  # grade again the submissions recorded as failed (timeouts, unreadable)
    limits: archive.Limits = field(default_factory=archive.Limits)
    # module:factory building the grading engine in a slot (GRADER_BATCH_ENGINE: a stand-in for tests)
    engine: str = field(default_factory=lambda: os.environ.get("GRADER_BATCH_ENGINE", "grader.batch:default_engine"))

    def resolved_jobs(self) -> int:
        return self.jobs if self.jobs > 0 else max(1, os.cpu_count() or 1)

    def key(self) -> str:
        """What makes two gradings comparable: options that change scores, and the grader's code."""
        digest = hashlib.sha256()
        digest.update(json.dumps({
            "exercises": sorted(self.exercises) if self.exercises else None, "device": self.device,
            "timeout": self.timeout, "memory_mb": self.memory_mb, "lang": self.lang, "engine": self.engine,
        }, sort_keys=True).encode())
        digest.update(grader_fingerprint().encode())
        return digest.hexdigest()[:16]


@dataclass
class Entry:
    """One submission found in the batch folder."""

    student: str
    path: Path
    kind: str  # "folder" | "zip"


@dataclass
class Record:
    """What the batch knows about one student: written to ``students/<id>.json``."""

    student: str
    source: str
    status: str  # "graded" | "failed"
    reason: str | None = None
    content_hash: str | None = None
    options_key: str | None = None
    folder: str | None = None  # the code that was graded (for similarity and side-by-side views)
    seconds: float = 0.0
    graded_at: str = ""
    result: dict | None = None
    format: str = RECORD_FORMAT

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Record":
        names = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in names})

    @property
    def score(self) -> float:
        return float((self.result or {}).get("score") or 0.0)

    @property
    def max_score(self) -> float:
        return float((self.result or {}).get("max_score") or TOTAL_POINTS)

    @property
    def flags(self) -> list[str]:
        flags = list((self.result or {}).get("flags") or [])
        if self.status == FAILED:
            flags.insert(0, "not_graded")
        return flags


@dataclass
class BatchSummary:
    """The outcome of one run."""

    records: list[Record]
    graded: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # duplicates, ignored files
    interrupted: bool = False
    seconds: float = 0.0

    def problems(self) -> list[tuple[str, str]]:
        """(student, reason) for every submission that failed or was flagged as crashing / hanging."""
        out = []
        for rec in self.records:
            if rec.status == FAILED:
                out.append((rec.student, rec.reason or "not graded"))
                continue
            bad = [f for f in rec.flags if f in ("timeout", "crash", "memory", "output_truncated")
                   or f.startswith(("timeout", "crash"))]
            if bad:
                out.append((rec.student, "flagged: " + ", ".join(bad)))
        return out


# --------------------------------------------------------------------------- small helpers


def utc_now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def grader_fingerprint() -> str:
    """A hash of the code that decides grades (checks, probes, plan, reference): changes re-grade."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    paths = [*root.glob("checks/**/*.py"), *root.glob("probes/**/*.py"),
             *(root / n for n in ("plan.py", "api.py", "results.py", "worker.py", "hints.toml")),
             *root.parent.glob("solutions/*.py")]
    for path in sorted(p for p in paths if p.is_file()):
        digest.update(path.relative_to(root.parent).as_posix().encode())
        digest.update(path.read_bytes())
    from grader import __version__

    digest.update(__version__.encode())
    return digest.hexdigest()[:16]


def content_hash(entry: Entry) -> str:
    """SHA-256 of what the student handed in: the zip's bytes, or the folder's files and names."""
    digest = hashlib.sha256()
    if entry.kind == "zip":
        with open(entry.path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()
    total = 0
    for root, dirs, files in os.walk(entry.path):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_NAMES)
        for name in sorted(files):
            path = Path(root) / name
            rel = path.relative_to(entry.path).as_posix()
            digest.update(rel.encode() + b"\0")
            if path.is_symlink():
                digest.update(b"link:" + os.readlink(path).encode())
                continue
            try:
                size = path.stat().st_size
                if total + size > HASH_MAX_BYTES:
                    digest.update(f"size:{size}".encode())
                    continue
                total += size
                digest.update(path.read_bytes())
            except OSError as exc:
                digest.update(f"error:{exc.errno}".encode())
    return digest.hexdigest()


def discover(batch_dir: str | Path, exclude: Iterable[str | Path] = ()) -> tuple[list[Entry], list[str]]:
    """The submissions in ``batch_dir`` (sorted by student id) and notes on what was left out.

    ``exclude``: folders that are not submissions (the output folder, when it sits inside ``batch_dir``).
    """
    batch_dir = Path(batch_dir)
    skip = {Path(p).resolve() for p in exclude}
    if not batch_dir.is_dir():
        raise FileNotFoundError(f"{batch_dir}: no such folder (expected one subfolder or .zip per student)")
    entries: dict[str, Entry] = {}
    notes: list[str] = []
    for path in sorted(batch_dir.iterdir(), key=lambda p: p.name):
        if path.name.startswith(".") or path.name in SKIP_NAMES or path.resolve() in skip:
            continue
        if path.is_dir():
            entry = Entry(path.name, path, "folder")
        elif path.suffix.lower() == ".zip":
            entry = Entry(path.stem, path, "zip")
        else:
            notes.append(f"{path.name}: ignored (not a folder or a .zip)")
            continue
        if entry.student in entries:
            notes.append(f"{path.name}: ignored: {entries[entry.student].path.name} has the same student id")
            continue
        entries[entry.student] = entry
    return list(entries.values()), notes


def record_path(out_dir: Path, student: str) -> Path:
    return out_dir / "students" / f"{student}.json"


def load_record(path: Path) -> Record | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != RECORD_FORMAT:
        return None
    return Record.from_dict(data)


def load_records(out_dir: str | Path, students: Iterable[str] | None = None) -> list[Record]:
    """Records on disk (all of them, or those of ``students``), sorted by student id."""
    out_dir = Path(out_dir)
    if students is None:
        paths = sorted((out_dir / "students").glob("*.json"))
    else:
        paths = [record_path(out_dir, s) for s in sorted(students)]
    return [r for r in (load_record(p) for p in paths) if r is not None]


# --------------------------------------------------------------------------- the slot (judge process)


def default_engine(options: dict) -> "GraderEngine":
    """The grading engine of a slot: one :class:`grader.api.Grader` (one worker zygote) for every submission."""
    return GraderEngine(options)


class GraderEngine:
    """Adapts :class:`grader.api.Grader` to the slot: ``warm()`` once, ``grade(folder) -> dict`` many times."""

    def __init__(self, options: dict):
        from grader.api import Grader

        self.exercises = options.get("exercises") or None
        self.grader = Grader(lang=options["lang"], device=options["device"], sandbox=options["sandbox"],
                             timeout=options["timeout"], memory_mb=options["memory_mb"],
                             cache_dir=options.get("cache_dir"))

    def warm(self) -> None:
        """Start the worker and load (or compute) the reference now, not on the first student's clock."""
        self.grader.warm()

    def grade(self, folder: str) -> dict:
        return self.grader.grade(folder, self.exercises).to_dict()

    def close(self) -> None:
        self.grader.close()


def _load_factory(spec: str) -> Callable:
    import importlib

    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def slot_main(reply_fd: int) -> int:
    """Serve grading requests (JSON lines on stdin) and answer on ``reply_fd``; first line: options."""
    reply = os.fdopen(reply_fd, "w", encoding="utf-8", buffering=1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when a slot stops
    options = json.loads(sys.stdin.readline())
    try:
        engine = _load_factory(options["engine"])(options)
        warm = getattr(engine, "warm", None)
        if warm:
            warm()
    except BaseException as exc:  # noqa: BLE001 - tell the parent in words, not a traceback only
        import traceback

        traceback.print_exc()
        reply.write(json.dumps({"ready": False, "error": f"{type(exc).__name__}: {exc}"}) + "\n")
        return 1
    reply.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        start = time.perf_counter()
        try:
            result = engine.grade(request["folder"])
            answer = {"ok": True, "result": result}
        except BaseException as exc:  # noqa: BLE001
            import traceback

            traceback.print_exc()
            answer = {"ok": False, "error": f"the grader failed on this submission: {type(exc).__name__}: {exc}"}
        answer.update(id=request["id"], seconds=round(time.perf_counter() - start, 3))
        reply.write(json.dumps(answer, allow_nan=False, default=str) + "\n")
    engine.close()
    return 0


class Slot:
    """The parent's handle on one slot process."""

    def __init__(self, number: int, options: BatchOptions, log_dir: Path):
        self.number = number
        self.options = options
        self.log_path = log_dir / f"slot-{number}.log"
        self.proc: subprocess.Popen | None = None
        self.reader = None
        self.ready = False
        self.task: tuple[Entry, Record] | None = None
        self.deadline = 0.0
        self.started = 0.0
        self._buf = b""

    def start(self) -> None:
        read_fd, write_fd = os.pipe()
        env = dict(os.environ)
        env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent) + (
            os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "grader.batch", "--slot", "--reply-fd", str(write_fd)],
                stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, pass_fds=[write_fd],
                start_new_session=True, env=env)
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
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        self.proc.stdin.flush()

    def submit(self, entry: Entry, record: Record, request_id: int) -> None:
        self.task = (entry, record)
        self.started = time.monotonic()
        self.deadline = self.started + self.options.submission_timeout
        self._send({"id": request_id, "folder": record.folder})

    def read_messages(self) -> tuple[list[dict], bool]:
        """Complete messages available now, and whether the slot closed its end."""
        closed = False
        while True:
            try:
                chunk = os.read(self.reader, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                closed = True
                break
            self._buf += chunk
        messages = []
        while b"\n" in self._buf:
            line, self._buf = self._buf.split(b"\n", 1)
            if line.strip():
                try:
                    messages.append(json.loads(line))
                except ValueError:
                    pass
        return messages, closed

    def log_tail(self, lines: int = 6) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def kill(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
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
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()


class SlotStartError(RuntimeError):
    """No slot could start: an environment problem (missing packages, the reference failing), not a student's."""


# --------------------------------------------------------------------------- the run


def prepare(entry: Entry, out_dir: Path, options: BatchOptions, options_key: str | None = None) -> Record:
    """Hash and (for zips) unpack one submission; a failure becomes a ``failed`` record."""
    record = Record(student=entry.student, source=entry.path.name, status=GRADED,
                    options_key=options_key or options.key())
    try:
        record.content_hash = content_hash(entry)
    except OSError as exc:
        return _fail(record, f"{entry.path.name}: cannot read ({exc.strerror or exc})")
    if entry.kind == "zip":
        try:
            folder = archive.unpack_zip(entry.path, out_dir / ".work" / "unpacked" / entry.student, options.limits)
        except archive.ArchiveError as exc:
            return _fail(record, str(exc))
    else:
        try:
            folder = archive.submission_root(entry.path)
        except OSError as exc:
            return _fail(record, f"{entry.path.name}: cannot read ({exc.strerror or exc})")
    record.folder = str(folder.resolve())
    if not any(folder.glob("*.py")):
        return _fail(record, f"{entry.path.name}: no Python files found "
                             "(expected dataset.py, lora.py, train.py, predict.py)")
    return record


def _fail(record: Record, reason: str) -> Record:
    record.status, record.reason, record.graded_at = FAILED, reason, utc_now()
    return record


class _Progress:
    """A rich progress bar (counts and time left), or nothing when not wanted."""

    def __init__(self, total: int, enabled: bool):
        self.bar = None
        if enabled and total:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)

            self.bar = Progress(TextColumn("[bold]grading"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn(),
                                TextColumn("left"), TimeRemainingColumn(), console=Console(stderr=True),
                                transient=False)
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


def run_batch(batch_dir: str | Path, out_dir: str | Path, options: BatchOptions | None = None, *,
              progress: bool = True, on_record: Callable[[Record], None] | None = None) -> BatchSummary:
    """Grade every submission in ``batch_dir`` into ``out_dir``; returns what happened.

    Each finished submission is written at once (``students/``, ``gradescope/``, ``feedback/``), so a
    Ctrl-C loses only the submissions in flight; ``summary.interrupted`` is then True and the
    KeyboardInterrupt is not re-raised.  Raises :class:`SlotStartError` when grading cannot start at all.
    """
    from grader import feedback

    options = options or BatchOptions()
    out_dir = Path(out_dir)
    start = time.monotonic()
    entries, notes = discover(batch_dir, exclude=[out_dir])
    key = options.key()  # once per run: every record of a run is comparable
    (out_dir / "students").mkdir(parents=True, exist_ok=True)
    summary = BatchSummary(records=[], notes=notes)
    todo: deque[tuple[Entry, Record]] = deque()
    done: dict[str, Record] = {}
    prepared: dict[str, Record] = {}
    bar = _Progress(len(entries), progress)

    def finish(record: Record) -> None:
        write_json_atomic(record_path(out_dir, record.student), record.to_dict())
        feedback.write_student_files(record, out_dir, lang=options.lang)
        done[record.student] = record
        (summary.failed if record.status == FAILED else summary.graded).append(record.student)
        bar.advance(record)
        if on_record:
            on_record(record)

    slots: list[Slot] = []
    try:
        for entry in entries:
            record = prepare(entry, out_dir, options, key)
            prepared[entry.student] = record
            old = None if options.force else load_record(record_path(out_dir, entry.student))
            if (old is not None and old.content_hash == record.content_hash and old.options_key == record.options_key
                    and (old.status == GRADED or not options.retry_failed)):
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
            log_dir = out_dir / ".work" / "logs"
            log_dir.mkdir(parents=True, exist_ok=True)
            slots = [Slot(i, options, log_dir) for i in range(min(options.resolved_jobs(), len(todo)))]
            _drive(slots, todo, finish, bar)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        for slot in slots:
            slot.stop()
        bar.close()
    for student, record in prepared.items():  # written to disk just as a Ctrl-C arrived
        if student not in done:
            old = load_record(record_path(out_dir, student))
            if old is not None and (old.content_hash, old.options_key) == (record.content_hash, record.options_key):
                done[student] = old
    summary.records = [done[e.student] for e in entries if e.student in done]
    summary.seconds = round(time.monotonic() - start, 2)
    return summary


def _drive(slots: list[Slot], todo: deque, finish: Callable[[Record], None], bar: _Progress) -> None:
    """Keep every slot busy until ``todo`` is empty and nothing is in flight; replace slots that die."""
    selector = selectors.DefaultSelector()
    request_id = 0
    start_failures: list[str] = []
    max_failures = len(slots) + 1

    def retire(slot: Slot) -> None:
        try:
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
                        start_failures.append(f"a grading process could not start: {exc}\n{slot.log_tail()}")
                        slot.kill()
                        continue
                    selector.register(slot.reader, selectors.EVENT_READ, slot)
                if slot.ready and slot.task is None and todo:
                    entry, record = todo.popleft()
                    request_id += 1
                    try:
                        slot.submit(entry, record, request_id)
                    except OSError:  # the slot went away between two submissions: hand the work to a new one
                        slot.task = None
                        todo.appendleft((entry, record))
                        retire(slot)
            live = [s for s in slots if s.proc is not None]
            wait = max(0.05, min(s.deadline for s in live) - time.monotonic()) if live else 0.05
            for key, _ in selector.select(min(wait, 1.0)):
                slot: Slot = key.data
                messages, closed = slot.read_messages()
                for message in messages:
                    if "ready" in message:
                        slot.ready = bool(message["ready"])
                        if not slot.ready:
                            start_failures.append(message.get("error") or "unknown error")
                            closed = True
                    elif slot.task is not None and message.get("id") is not None:
                        _, record = slot.task
                        slot.task = None
                        record.seconds = message.get("seconds", 0.0)
                        record.graded_at = utc_now()
                        if message.get("ok"):
                            record.result = message["result"]
                        else:
                            _fail(record, message.get("error") or "the grader failed")
                        finish(record)
                if closed:
                    if slot.task is not None:
                        entry, record = slot.task
                        slot.task = None
                        finish(_fail(record, f"{entry.path.name}: the grading process stopped unexpectedly "
                                             f"({slot.log_tail(1) or 'no message'})"))
                    elif not slot.ready and not start_failures:
                        start_failures.append(f"a grading process exited while starting:\n{slot.log_tail()}")
                    retire(slot)
            now = time.monotonic()
            for slot in slots:
                if slot.proc is None or now <= slot.deadline:
                    continue
                if slot.task is not None:
                    entry, record = slot.task
                    slot.task = None
                    limit = slot.options.submission_timeout
                    finish(_fail(record, f"{entry.path.name}: grading took longer than {limit:g} s "
                                         "(the per-submission limit; an endless loop?)"))
                else:
                    start_failures.append(f"a grading process did not start within "
                                          f"{slot.options.start_timeout:g} s\n{slot.log_tail()}")
                retire(slot)
    finally:
        selector.close()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m grader.batch", description="internal: a batch grading slot")
    parser.add_argument("--slot", action="store_true", required=True)
    parser.add_argument("--reply-fd", type=int, required=True)
    args = parser.parse_args(argv)
    return slot_main(args.reply_fd)


if __name__ == "__main__":
    sys.exit(main())
