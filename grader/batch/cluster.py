"""The batch on a Dask cluster (``grader batch DIR --cluster ADDRESS``): the instructor's side, and what crosses
the wire.

The parent prepares every submission as a local batch does (zips unpacked, notebooks' cells written out as
modules, hashes, the re-use rule) and sends each one that needs grading as a :class:`Task`: the prepared files
as bytes, the grader's :class:`Identity` and the :class:`GradingOptions`; no paths to read, no objects of the
grader. On each Dask worker a plugin keeps warm slots, the same slot processes as a local batch
(:mod:`grader.batch.cluster_worker`), so learner code never runs in the Dask worker itself; a task answers an
:class:`Answer`. The parent writes each answer as it arrives, once per student, with the local batch's words
for timeouts and crashes. A worker whose grader differs refuses the work and the batch stops; so does a lost
scheduler (what was written stays, and the same command grades the rest).

Runs in the instructor's parent process; ``distributed`` (the ``cluster`` extra) is imported only when a
cluster is used.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import CancelledError
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final, Literal

from grader.batch.discovery import Entry
from grader.batch.fingerprint import grader_fingerprint
from grader.batch.records import GRADED, BatchOptions, Record, utc_now
from grader.batch.scheduler import (
    GradingStopped,
    SlotStartError,
    mark_failed,
    mark_grader_error,
    stopped_reason,
    timeout_reason,
)
from grader.judge.lanes import submission_files

log = logging.getLogger(__name__)

ADDRESSES = "tcp://HOST:PORT, tls://HOST:PORT or local:N"
PLUGIN_PREFIX = "mllm-vqa-grader-"
# what a task answers: graded (or the grader failed on it: ERROR), overran its time, its slot died under it,
# refused (another grader on that worker), or grading could not start there
AnswerStatus = Literal["graded", "error", "timeout", "stopped", "refused", "start_failed"]
ERROR: Final = "error"
TIMEOUT: Final = "timeout"
STOPPED: Final = "stopped"
REFUSED: Final = "refused"
START_FAILED: Final = "start_failed"
# what the client raises once its scheduler is gone (distributed's CommClosedError is an OSError; cancelled futures)
LOST = (OSError, TimeoutError, asyncio.TimeoutError, CancelledError)


class ClusterAddressError(ValueError):
    """``--cluster`` (with ``--cluster-tls-*``) names no cluster the batch can use: a usage error, in words."""


@dataclass(frozen=True)
class ClusterSpec:
    """Where to grade: a running scheduler (``tcp://``, ``tls://``) or ``local:N`` (a cluster started here)."""

    address: str
    # > 0: start a local cluster of that many worker processes on the loopback
    local_workers: int = 0
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None

    def security(self):
        """The TLS settings for the client: the given files, or Dask's own configuration when none are given."""
        from distributed.security import Security

        if not (self.tls_ca or self.tls_cert or self.tls_key):
            return (
                Security()
            )  # distributed.comm.tls.* from the Dask configuration (files or DASK_* variables)
        return Security(
            tls_ca_file=self.tls_ca,
            tls_client_cert=self.tls_cert,
            tls_client_key=self.tls_key,
            require_encryption=True,
        )


def parse_cluster(
    address: str,
    *,
    tls_ca: str | None = None,
    tls_cert: str | None = None,
    tls_key: str | None = None,
) -> ClusterSpec:
    """``--cluster``'s value as a :class:`ClusterSpec`; ClusterAddressError, in words, for one that cannot work."""
    text = address.strip()
    tls = (tls_ca, tls_cert, tls_key)
    if text.startswith("local:"):
        count = text.removeprefix("local:")
        if not count.isdigit() or int(count) < 1:
            raise ClusterAddressError(
                f"--cluster {address}: local:N needs a number of workers, 1 or more (local:2)"
            )
        if any(tls):
            raise ClusterAddressError(
                "--cluster-tls-* are for a scheduler on other machines (tls://HOST:PORT), "
                "not local:N"
            )
        return ClusterSpec(text, local_workers=int(count))
    scheme, sep, rest = text.partition("://")
    if not sep or scheme not in ("tcp", "tls") or not rest:
        raise ClusterAddressError(f"--cluster {address}: expected {ADDRESSES}")
    if any(tls) and scheme != "tls":
        raise ClusterAddressError(f"--cluster-tls-* need a tls:// address (got {address})")
    if scheme == "tls" and any(tls) and not all(tls):
        raise ClusterAddressError(
            "--cluster-tls-ca, --cluster-tls-cert and --cluster-tls-key go together"
        )
    if scheme == "tls" and not any(tls) and not _dask_tls_configured():
        raise ClusterAddressError(
            f"--cluster {address}: give --cluster-tls-ca, --cluster-tls-cert and "
            "--cluster-tls-key, or Dask's TLS configuration (distributed.comm.tls.ca-file, "
            ".client.cert, .client.key)"
        )
    return ClusterSpec(text, 0, *tls)


def _dask_tls_configured() -> bool:
    """Whether Dask's configuration names a certificate authority (True without Dask: its absence is told later)."""
    try:
        import dask.config
    except ImportError:
        return True
    return bool(dask.config.get("distributed.comm.tls.ca-file", None))


# --------------------------------------------------------------------------- what crosses the wire


@dataclass(frozen=True)
class GradingOptions:
    """The options a worker's slots grade with (those of :class:`BatchOptions` that decide a grade or a limit)."""

    lang: str
    device: str
    sandbox: str
    timeout: float
    memory_mb: int
    submission_timeout: float
    start_timeout: float
    engine: str
    exercises: tuple[str, ...] | None = None
    cache_dir: str | None = None  # a folder on each worker (by default the worker's user cache)

    @classmethod
    def from_batch(cls, options: BatchOptions) -> GradingOptions:
        return cls(
            lang=options.lang,
            device=options.device,
            sandbox=options.sandbox,
            timeout=options.timeout,
            memory_mb=options.memory_mb,
            submission_timeout=options.submission_timeout,
            start_timeout=options.start_timeout,
            engine=options.engine,
            exercises=tuple(options.exercises) if options.exercises else None,
            cache_dir=options.cache_dir,
        )

    def to_batch(self) -> BatchOptions:
        return BatchOptions(jobs=1, **asdict(self))


@dataclass(frozen=True)
class Identity:
    """What grades: the grader's fingerprint (code, reference, kit, versions), the options key, the versions."""

    fingerprint: str
    options_key: str
    versions: tuple[tuple[str, str | None], ...]


def identity(options: GradingOptions) -> Identity:
    """This process's :class:`Identity` for ``options``."""
    from grader.judge.reference import versions

    return Identity(
        grader_fingerprint(), options.to_batch().key(), tuple(sorted(versions().items()))
    )


def refusal(theirs: Identity, ours: Identity) -> str | None:
    """Why a worker with ``ours`` must not grade for an instructor with ``theirs`` (None: it may), in words."""
    if theirs == ours:
        return None
    mine, wanted = dict(ours.versions), dict(theirs.versions)
    changed = [
        f"{name} {mine.get(name)} there, {wanted.get(name)} here"  # told to the instructor: "here" is theirs
        for name in sorted(set(mine) | set(wanted))
        if mine.get(name) != wanted.get(name)
    ]
    if changed:
        what = ", ".join(changed)
    elif theirs.fingerprint != ours.fingerprint:
        what = (
            f"the same versions but other grader code, reference or course kit (fingerprint {ours.fingerprint} "
            f"there, {theirs.fingerprint} here)"
        )
    else:
        what = f"other batch options (key {ours.options_key} there, {theirs.options_key} here)"
    return (
        f"grades with another grader than yours: {what}; install this mllm-vqa-lab, at these versions, on every "
        "worker"
    )


@dataclass(frozen=True)
class Task:
    """One submission to grade, as it travels: the prepared files as bytes, and how the parent names them."""

    student: str
    files: Mapping[str, bytes]  # relative POSIX path -> content, as the parent prepared them
    folder: str  # the prepared folder on the parent: results name it as a local batch's would
    shown: str  # that folder as the parent's judge shows it in messages (relative to its working directory)
    identity: Identity
    options: GradingOptions
    plugin: str  # the name of this run's worker plugin, whose slots grade it


@dataclass(frozen=True)
class Answer:
    """A task's outcome: ``status`` is ``graded`` (``result``: the grade) or one of ERROR (the grader failed on it;
    ``log``: the file on the worker that tells it), TIMEOUT, STOPPED, REFUSED, START_FAILED (``error`` says why)."""

    student: str
    status: AnswerStatus
    result: dict | None = None
    error: str = ""
    seconds: float = 0.0
    worker: str = ""
    log: str = ""


def plugin_name() -> str:
    """A name for one run's worker plugin: two batches sharing a cluster each keep their own warm slots."""
    return PLUGIN_PREFIX + uuid.uuid4().hex[:12]


def make_task(record: Record, who: Identity, options: GradingOptions, plugin: str) -> Task:
    """The task for a prepared ``record``: its folder's files read now, as the grader's worker would copy them."""
    from grader.judge.grade import display_path

    assert record.folder is not None  # prepare() set it for every record it hands on
    folder = Path(record.folder)
    files = {rel: path.read_bytes() for rel, path in submission_files(folder)}
    return Task(record.student, files, record.folder, display_path(folder), who, options, plugin)


def apply_answer(record: Record, answer: Answer, source: str, options: GradingOptions) -> Record:
    """``record`` with ``answer`` in it, in the local batch's words; SlotStartError when the worker could not or would
    not grade (another grader there, grading that cannot start): that stops the batch."""
    if answer.status == REFUSED:
        raise SlotStartError(answer.error)
    if answer.status == START_FAILED:
        raise SlotStartError(
            f"grading could not start on Dask worker {answer.worker}:\n{answer.error}"
        )
    record.graded_at = utc_now()
    if answer.status == GRADED:
        record.seconds, record.result = answer.seconds, answer.result
        return record
    if answer.status == ERROR:
        record.seconds = answer.seconds
        where = f"{answer.log} on Dask worker {answer.worker}" if answer.log else None
        log.error("%s: %s (the grader's log: %s)", source, answer.error, where or "none")
        return mark_grader_error(record, answer.error or "the grader failed", where)
    if answer.status == TIMEOUT:
        return mark_failed(record, timeout_reason(source, options.submission_timeout))
    return mark_failed(record, stopped_reason(source, answer.error))


# --------------------------------------------------------------------------- the parent's engine


class ClusterEngine:
    """Grades a batch's prepared submissions on a Dask cluster: an :class:`~grader.batch.scheduler.Engine`."""

    def __init__(self, spec: ClusterSpec, options: BatchOptions):
        self.spec = spec
        self.options = GradingOptions.from_batch(options)
        self.address = spec.address
        self.workers = 0  # the most workers seen during the run
        self.where = ""
        self.identity: Identity | None = None  # the instructor's, sent with every task
        self.plugin = ""  # this run's worker plugin
        self._threads, self._counted = 0, 0.0

    def grade(
        self, todo: deque[tuple[Entry, Record]], finish: Callable[[Record], None], work: Path
    ) -> None:
        """Send ``todo`` to the cluster, a few tasks per worker thread at a time, and ``finish`` each answer."""
        client, cluster = self._connect()
        name, lost = None, False
        try:
            name = self._start(client)
            self._grade_all(client, todo, finish)
        except GradingStopped:
            lost = True
            raise
        finally:
            self._close(client, cluster, name, lost)

    def _connect(self):
        """A client (and the local cluster it talks to, for ``local:N``); SlotStartError when none can be had."""
        try:
            from distributed import Client
        except ImportError as exc:
            raise SlotStartError(
                f"--cluster needs Dask's distributed: pip install 'mllm-vqa-lab[cluster]' ({exc})"
            ) from None
        if self.spec.local_workers:
            try:
                cluster = local_cluster(self.spec.local_workers)
            except (
                RuntimeError
            ) as exc:  # "Nanny failed to start": the worker processes' error is logged above it
                raise SlotStartError(
                    f"a local Dask cluster ({self.spec.address}) could not start: {exc}"
                ) from None
            return Client(cluster), cluster
        try:
            return Client(self.spec.address, security=self.spec.security()), None
        except (OSError, TimeoutError) as exc:
            raise SlotStartError(
                f"cannot reach the Dask scheduler at {self.spec.address}: {exc}"
            ) from None

    def _start(self, client) -> str:
        """Wait for a worker, register the grading plugin (warm slots on every worker, those joining later too)."""
        from grader.batch.cluster_worker import GradingPlugin

        self.address = client.scheduler.address
        try:
            client.wait_for_workers(1, timeout=self.options.start_timeout)
        except TimeoutError:
            raise SlotStartError(
                f"the Dask scheduler at {self.address} has no workers (waited "
                f"{self.options.start_timeout:g} s): start some with "
                f"`dask worker {self.address} --nthreads 1`"
            ) from None
        self.identity = identity(self.options)
        self.plugin = plugin_name()
        client.register_plugin(GradingPlugin(self.options), name=self.plugin)
        self._capacity(client, force=True)
        return self.plugin

    def _grade_all(
        self, client, todo: deque[tuple[Entry, Record]], finish: Callable[[Record], None]
    ) -> None:
        from distributed import as_completed

        total, written = len(todo), set[str]()
        flight: dict = {}  # future -> (entry, record)
        waiting = as_completed(
            loop=client.loop
        )  # this client's loop, not the process's default client's
        try:
            while todo or flight:
                try:
                    self._fill(client, todo, flight, waiting)
                    future = next(waiting)
                    entry, record = flight.pop(future)
                    answer = self._answer(future, record.student)
                except LOST as exc:
                    raise GradingStopped(
                        f"lost the Dask scheduler at {self.address}: {len(written)} of {total} "
                        f"graded ({type(exc).__name__})"
                    ) from exc
                if (
                    record.student not in written
                ):  # a task run twice (its first worker died late) counts once
                    written.add(record.student)
                    finish(apply_answer(record, answer, entry.path.name, self.options))
        finally:
            if flight and client.status == "running":
                client.cancel(list(flight))

    def _fill(self, client, todo: deque, flight: dict, waiting) -> None:
        """Submit tasks until two per worker thread (and two more) are in flight."""
        from distributed.comm import CommClosedError

        from grader.batch.cluster_worker import grade_task

        if client.status != "running":
            raise CommClosedError(f"the client is {client.status}")
        room = 2 * self._capacity(client) + 2 - len(flight)
        assert self.identity is not None  # set by _start
        while todo and room > 0:
            entry, record = todo.popleft()
            try:
                task = make_task(record, self.identity, self.options, self.plugin)
            except (
                OSError
            ) as exc:  # not the cluster's doing: the prepared folder went away under the batch
                raise RuntimeError(
                    f"cannot read {record.folder} ({exc}): was the output folder removed?"
                ) from exc
            future = client.submit(
                grade_task, task, key=f"grade-{record.student}-{uuid.uuid4().hex[:8]}"
            )
            flight[future] = (entry, record)
            waiting.add(future)
            room -= 1

    def _capacity(self, client, force: bool = False) -> int:
        """Worker threads in the cluster (asked at most once a second); counts the workers for the summary."""
        now = time.monotonic()
        if force or now - self._counted > 1.0:
            threads = client.nthreads()
            self._threads, self._counted = sum(threads.values()), now
            self.workers = max(self.workers, len(threads))
            self.where = f"on a {self.workers}-worker Dask cluster at {self.address}"
        return self._threads

    @staticmethod
    def _answer(future, student: str) -> Answer:
        """The task's answer; a task that raised becomes a stated failure. CancelledError or OSError: the scheduler
        is gone (the caller stops)."""
        if future.status == "error":
            from distributed.scheduler import KilledWorker

            exc = future.exception()
            if isinstance(exc, KilledWorker):
                return Answer(
                    student, STOPPED, error="each Dask worker that took it died while grading it"
                )
            return Answer(
                student,
                ERROR,
                error=f"the grader failed on this submission: {type(exc).__name__}: {exc}",
            )
        return future.result()

    def _close(self, client, cluster, name: str | None, lost: bool) -> None:
        """Stop the slots on the workers (unregister the plugin) and close the client (and a local cluster)."""
        if name and client.status == "running":
            try:
                client.unregister_worker_plugin(name)
            except (OSError, TimeoutError) as exc:
                log.warning("could not stop the grading slots on the workers: %s", exc)
        quiet = logging.getLogger("distributed")
        level = quiet.level
        if lost:  # the client's own reconnection attempts would print tracebacks about the loss just reported
            quiet.setLevel(logging.CRITICAL)
        try:
            client.close()
            if cluster is not None:
                cluster.close()
        finally:
            quiet.setLevel(level)


def local_cluster(workers: int):
    """A Dask cluster of ``workers`` processes, one thread each, on the loopback only (its web server too: a random
    port, no dashboard); memory_limit=0 as the grader's own limits hold in the slots, as in a local batch."""
    from distributed import LocalCluster

    with _ctrl_c_ignored():
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            memory_limit=0,
            silence_logs=logging.ERROR,
        )


@contextmanager
def _ctrl_c_ignored() -> Iterator[None]:
    """Processes started meanwhile ignore Ctrl-C (an ignored signal stays ignored in a child), as a local batch's slots
    do: the terminal's Ctrl-C reaches the whole foreground group, and the parent stops its workers itself."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def engine_for(
    cluster: str | None,
    options: BatchOptions,
    *,
    tls_ca: str | None = None,
    tls_cert: str | None = None,
    tls_key: str | None = None,
) -> ClusterEngine | None:
    """The engine ``--cluster`` asks for (None without it: this machine's slots); ClusterAddressError for a bad
    address."""
    if not cluster:
        return None
    return ClusterEngine(
        parse_cluster(cluster, tls_ca=tls_ca, tls_cert=tls_cert, tls_key=tls_key), options
    )
