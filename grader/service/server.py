"""``python -m grader.service.server``: the warm grading service, one judge process per owner.

It keeps one :class:`grader.judge.grade.Grader` between requests: the judge with pytest warmed up and the
reference loaded, and its worker zygote with torch, transformers, peft and the fixtures loaded. Each request
is graded as ``grade PATH`` grades it (the learner's files copied anew, their code run in a fresh sandboxed
child of the zygote under the time and memory limits), one at a time: a second client waits for the first.

It answers ``stale`` and ends when a request comes from another grader (fingerprint or source) or with other
settings, so that the client starts a fresh one; it ends when its owner's process is gone (a kernel; for a
terminal, the session's leader), after ``$GRADER_SERVICE_IDLE`` seconds without a request, or on SIGTERM.
It listens on a Unix socket in the user's private folder (:mod:`grader.service.owner`), answers only its own
user, and only requests carrying the token it wrote there (mode 0600). Runs in the service process: imports
the judge, never torch (the zygote holds it).
"""

from __future__ import annotations

import argparse
import fcntl
import hmac
import os
import secrets
import signal
import socket
import struct
import sys
import time
import traceback
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from grader.service import owner as owner_mod
from grader.service import protocol
from grader.service.owner import Owner, ServicePaths
from grader.worker.protocol import ChannelClosed

if TYPE_CHECKING:
    from grader.judge.grade import Grader

POLL = 0.5  # seconds between looks at the owner and the idle time
READ_TIMEOUT = 10.0  # a client that connects has this long to send its request
LOCK_WAIT = 10.0  # a service that is ending may hold the owner's lock this long


def _log(text: str) -> None:
    print(
        f"{time.strftime('%Y-%m-%d %H:%M:%S')} [{os.getpid()}] {text}", file=sys.stderr, flush=True
    )


def _listening(paths: ServicePaths) -> bool:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(paths.socket))
        return True
    except OSError:
        return False
    finally:
        sock.close()


def _lock(paths: ServicePaths) -> int | None:
    """Hold the owner's lock (one service per owner) and write this process's id in it; None when another
    service listens already or the lock stays taken for LOCK_WAIT seconds."""
    fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o600)
    end = time.monotonic() + LOCK_WAIT
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > end or _listening(paths):
                os.close(fd)
                return None
            time.sleep(0.05)
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def sweep(folder: Path, keep: str) -> int:
    """Remove the files services of owners that have ended left behind (a killed service cannot clean up):
    those whose lock nobody holds. Returns how many owners' files were removed."""
    removed = 0
    for lock in sorted(folder.glob("*.lock")):
        key = lock.name[: -len(".lock")]
        kind, _, rest = key.partition("-")
        pid, _, started = rest.partition("-")
        if key == keep or not (pid.isdigit() and started.isdigit()):
            continue
        if Owner(kind, int(pid), int(started) or None).alive():
            continue
        try:
            fd = os.open(lock, os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # its service still runs (it will end on its own)
            os.close(fd)
            continue
        paths = ServicePaths(folder, key)
        for path in (paths.socket, paths.token, paths.log, paths.lock):
            path.unlink(missing_ok=True)
        os.close(fd)
        removed += 1
    return removed


def _write_token(paths: ServicePaths) -> str:
    token = secrets.token_hex(16)
    temp = paths.token.with_name(paths.token.name + f".{os.getpid()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token)
    os.replace(temp, paths.token)
    return token


def _peer_uid(conn: socket.socket) -> int | None:
    """The connecting process's user (SO_PEERCRED, Linux); None where the system does not say."""
    if not hasattr(socket, "SO_PEERCRED"):
        return None
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    uid: int = struct.unpack("3i", creds)[1]
    return uid


class Service:
    """One owner's grading service: a listening socket and a warm grader."""

    def __init__(self, owner: Owner, settings: protocol.Settings, paths: ServicePaths):
        self.fingerprint = self.source = ""  # the grader this process runs (see start_grader)
        self.owner = owner
        self.settings = settings
        self.paths = paths
        self.token = ""
        self.grader: Grader | None = None
        # the grader could not be built with these settings (a usage error)
        self.start_error: str | None = None
        self.grades = 0
        self.stopping = False
        # a terminal whose leader is gone already is served until idle
        self.watch_owner = owner.alive()

    def start_grader(self) -> None:
        """Build the grader and start its worker at once: everything else overlaps the worker's imports. Then
        note which grader this is (each request is compared with it) and import what grading needs."""
        from grader.judge.grade import Grader, UsageError
        from grader.judge.reference import fingerprint

        settings = self.settings
        try:
            self.grader = Grader(
                sandbox=settings.sandbox,
                device=settings.device,
                timeout=settings.timeout,
                memory_mb=settings.memory_mb,
                cache_dir=settings.cache_dir or None,
                hidden=[str(self.paths.folder)],
            )
        except UsageError as exc:
            self.start_error = str(exc)
        else:
            self.grader.start()
        self.fingerprint = fingerprint()
        self.source = protocol.source_stamp()
        from grader import cli  # noqa: F401 - grade PATH's checks, imported while the worker imports torch

    def serve(self, listener: socket.socket) -> None:
        idle = owner_mod.idle_seconds()
        last = time.monotonic()
        listener.settimeout(POLL)
        while not self.stopping:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                if self.watch_owner and not self.owner.alive():
                    _log("the owner has ended: stopping")
                    return
                if time.monotonic() - last > idle:
                    _log(f"idle for {idle:g} s: stopping")
                    return
                continue
            with conn:
                self.answer(conn)
            last = time.monotonic()

    def answer(self, conn: socket.socket) -> None:
        """Read one request from ``conn`` and answer it."""
        conn.settimeout(READ_TIMEOUT)
        uid = _peer_uid(conn)
        if uid is not None and uid != os.getuid():
            return
        try:
            request = protocol.receive(conn, protocol.GradeRequest)
        except protocol.VersionError as exc:
            reply = self._stale(f"another protocol: {exc}")
        except protocol.MessageError as exc:
            reply = protocol.GradeReply(protocol.REFUSED, message=str(exc))
        except (
            ChannelClosed,
            OSError,
        ):  # a client checking that someone listens, or one that gave up
            return
        else:
            if not hmac.compare_digest(request.token.encode(), self.token.encode()):
                reply = protocol.GradeReply(protocol.REFUSED, message="wrong token")
            else:
                reply = self._stale_reason(request) or self.grade(request)
        conn.settimeout(None)
        try:
            protocol.send(conn, reply)
        except OSError as exc:
            _log(f"the client went away before its reply: {exc}")

    def _stale(self, why: str) -> protocol.GradeReply:
        _log(f"stale ({why}): stopping")
        self.stopping = True
        return protocol.GradeReply(protocol.STALE, message=why, service=self.info())

    def _stale_reason(self, request: protocol.GradeRequest) -> protocol.GradeReply | None:
        if request.fingerprint != self.fingerprint:
            return self._stale("the grader's fingerprint changed")
        if request.source != self.source:
            return self._stale("the grader's code changed")
        if request.settings != self.settings:
            return self._stale("other settings")
        grader = self.grader
        if (
            grader is not None
            and grader.references.loaded
            and not grader.references.cached(grader.device)
        ):
            return self._stale("the reference cache was removed")
        return None

    def grade(self, request: protocol.GradeRequest) -> protocol.GradeReply:
        """Grade as ``grade PATH`` does: the result, or what it would print for a usage or grader error."""
        start = time.perf_counter()
        reply = self._grade(request)
        _log(
            f"graded {request.path} {','.join(request.exercises) or 'all'} ({request.lang}): {reply.status} "
            f"in {time.perf_counter() - start:.2f} s"
        )
        return reply

    def _grade(self, request: protocol.GradeRequest) -> protocol.GradeReply:
        from grader.cli import grade_checked
        from grader.judge.faults import GraderError
        from grader.judge.grade import UsageError
        from grader.judge.reference import ReferenceFailure
        from grader.notebook.reading import NotebookError
        from grader.worker.handle import WorkerStartError

        if (
            self.start_error is not None
        ):  # these settings cannot grade here: say so once, and make way
            self.stopping = True
            return protocol.GradeReply(
                protocol.USAGE, message=self.start_error, service=self.info()
            )
        assert self.grader is not None  # built by start_grader when there is no start_error
        try:
            os.chdir(
                request.cwd
            )  # relative paths, and the paths messages show, as the client sees them
            self.grader.lang = request.lang
            result = grade_checked(self.grader, request.path, list(request.exercises) or None)
        except UsageError as exc:
            return protocol.GradeReply(protocol.USAGE, message=str(exc), service=self.info())
        except NotebookError as exc:
            return protocol.GradeReply(
                protocol.NOTEBOOK, message=exc.text(request.lang), service=self.info()
            )
        except (
            WorkerStartError,
            ReferenceFailure,
        ) as exc:  # the grader's environment, not the submission
            return protocol.GradeReply(protocol.GRADER, message=str(exc), service=self.info())
        except (
            GraderError
        ) as exc:  # the grader's own bug on this submission: the client tells it as grade does
            return protocol.GradeReply(
                protocol.FAULT, message=str(exc), log=str(exc.log), service=self.info()
            )
        except Exception:  # noqa: BLE001 - logged; the client then grades without the service
            _log(f"grading {request.path} failed:\n{traceback.format_exc()}")
            return protocol.GradeReply(
                protocol.ERROR,
                message="the service failed on this request (see its log)",
                service=self.info(),
            )
        finally:
            os.chdir("/")
        self.grades += 1
        return protocol.GradeReply(protocol.OK, result=result.to_dict(), service=self.info())

    def info(self) -> protocol.ServiceInfo:
        grader = self.grader
        return protocol.ServiceInfo(
            pid=os.getpid(),
            zygote_pid=grader.worker_pid if grader else None,
            grades=self.grades,
            zygote_starts=grader.worker_starts if grader else 0,
        )

    def close(self) -> None:
        if self.grader is not None:
            self.grader.close()
            self.grader = None


def run(owner: Owner, settings: protocol.Settings, ready_fd: int | None = None) -> int:
    """Serve ``owner`` until it ends, the service goes idle or is told to stop; 0 when it stopped as planned."""
    paths = owner_mod.paths_for(owner)
    lock = _lock(paths)
    if lock is None:  # another service serves this owner: the client connects to that one
        return 0
    log_fd = os.open(paths.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    service = Service(owner, settings, paths)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        service.token = _write_token(paths)
        paths.socket.unlink(missing_ok=True)  # a service killed before it could clean up
        listener.bind(str(paths.socket))
        os.chmod(paths.socket, 0o600)
        listener.listen(16)
        if ready_fd is not None:
            os.write(ready_fd, b"1")
            os.close(ready_fd)
            ready_fd = None
        _log(f"serving {owner.key} (settings {settings})")
        service.start_grader()
        sweep(paths.folder, keep=owner.key)
        service.serve(listener)
    finally:
        listener.close()
        for path in (paths.socket, paths.token):
            path.unlink(missing_ok=True)
        service.close()
        os.close(lock)
    return 0


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader.service.server",
        description="internal: the warm grading service of one kernel or terminal",
    )
    parser.add_argument("--owner", nargs=3, metavar=("KIND", "PID", "STARTED"), required=True)
    parser.add_argument(
        "--ready-fd", type=int, default=None, help="written to (one byte) once listening"
    )
    defaults = protocol.Settings()
    parser.add_argument("--sandbox", default=defaults.sandbox)
    parser.add_argument("--device", default=defaults.device)
    parser.add_argument("--timeout", type=float, default=defaults.timeout)
    parser.add_argument("--memory-mb", type=int, default=defaults.memory_mb)
    parser.add_argument("--cache-dir", default=defaults.cache_dir)
    args = parser.parse_args(argv)
    kind, pid, started = args.owner
    owner = Owner(kind, int(pid), int(started) or None)
    settings = protocol.Settings(
        sandbox=args.sandbox,
        device=args.device,
        timeout=args.timeout,
        memory_mb=args.memory_mb,
        cache_dir=args.cache_dir,
    )
    if (
        os.fork() > 0
    ):  # detach: the client reaps this process at once, and nobody has to reap the service
        os._exit(0)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return run(owner, settings, args.ready_fd)


if __name__ == "__main__":
    sys.exit(main())
