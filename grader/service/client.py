"""The client side of the warm grading service: what ``check()`` in a kernel and ``grade`` in a shell call.

:func:`grade` sends one request to the owner's service and returns its reply, starting the service when
there is none (detached: it outlives a ``grade`` process) and again when the one there answers ``stale``
(another grader, other settings) or dies during the request. It returns None when no service could answer;
the caller then grades without one, as before the service existed, and says nothing alarming about it.
Imports neither torch nor the judge's grading (the fingerprint only, when a request is made).
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from grader.service import owner as owner_mod
from grader.service import protocol
from grader.service.owner import Owner, ServiceDirError, ServicePaths
from grader.worker import limits
from grader.worker.protocol import ChannelClosed

# seconds a new service may take to listen (it waits for a previous one to end first)
START_WAIT = 30.0
# a stale service replaced, one that was ending or died during the request: then give up
ATTEMPTS = 4
# 1, true, yes or on: grade without a service, as `grade --no-service`
OFF_VAR = "GRADER_NO_SERVICE"
OFF_VALUES = ("1", "true", "t", "yes", "y", "on")  # the values click reads as true for the flag


def disabled() -> bool:
    """Whether ``$GRADER_NO_SERVICE`` asks to grade without a service (read as ``grade`` reads its flag)."""
    return os.environ.get(OFF_VAR, "").strip().lower() in OFF_VALUES


def settings(
    *,
    sandbox: str = "auto",
    device: str = "cpu",
    timeout: float = limits.CALL_TIMEOUT,
    memory_mb: int = limits.MEMORY_MB,
    cache_dir: str | os.PathLike[str] | None = None,
) -> protocol.Settings:
    """The settings a grader is built with, the cache folder resolved as the judge would resolve it here."""
    from grader.judge.reference import default_cache_dir

    return protocol.Settings(
        sandbox=sandbox,
        device=device,
        timeout=float(timeout),
        memory_mb=int(memory_mb),
        cache_dir=str(Path(cache_dir) if cache_dir else default_cache_dir()),
    )


def grade(
    path: str | os.PathLike[str],
    exercises: Sequence[str] | None = None,
    *,
    lang: str,
    settings: protocol.Settings,
    owner: Owner,
    timeout: float | None = None,
) -> protocol.GradeReply | None:
    """Grade ``path`` (a folder or a notebook, as ``grade PATH`` takes it) in ``owner``'s service.

    Returns the reply (``ok`` with the result's dict, ``usage`` or ``grader`` with the message ``grade`` would
    print), or None when no service could answer. Raises TimeoutError when ``timeout`` seconds pass first."""
    from grader.judge.reference import fingerprint

    try:
        paths = owner_mod.paths_for(owner)
    except (ServiceDirError, OSError):
        return None
    deadline = None if timeout is None else time.monotonic() + timeout
    for _ in range(ATTEMPTS):
        request = protocol.GradeRequest(
            token="",
            fingerprint=fingerprint(),
            source=protocol.source_stamp(),
            path=str(path),
            cwd=os.getcwd(),
            lang=lang,
            settings=settings,
            exercises=tuple(exercises or ()),
        )
        conn = connect(paths) or launch(owner, settings, paths)
        if conn is None:
            return None
        with conn:
            reply = _exchange(conn, paths, request, deadline)
        if reply is not None and reply.status not in (protocol.STALE, protocol.REFUSED):
            return None if reply.status == protocol.ERROR else reply
    return None


def _exchange(
    conn: socket.socket, paths: ServicePaths, request: protocol.GradeRequest, deadline: float | None
) -> protocol.GradeReply | None:
    """Send ``request`` with the service's token; its reply, or None when it went away without one."""
    try:
        token = paths.token.read_text().strip()
    except OSError:
        return None
    remaining = None if deadline is None else deadline - time.monotonic()
    if remaining is not None and remaining <= 0:
        raise TimeoutError
    conn.settimeout(remaining)
    try:
        protocol.send(conn, replace(request, token=token))
        return protocol.receive(conn, protocol.GradeReply)
    except TimeoutError:
        raise TimeoutError from None
    except (OSError, ChannelClosed, protocol.MessageError):
        return None


def connect(paths: ServicePaths) -> socket.socket | None:
    """A connection to the service listening at ``paths``, or None when none listens there."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(paths.socket))
    except OSError:
        sock.close()
        return None
    return sock


def launch(owner: Owner, settings: protocol.Settings, paths: ServicePaths) -> socket.socket | None:
    """Start a service for ``owner`` and connect to it once it listens (or to one another client started in
    the meantime); None when none comes up within START_WAIT seconds."""
    ready_read, ready_write = os.pipe()
    root = str(protocol.PACKAGE_ROOT)  # the grader's own package, wherever the caller runs
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    command = [
        sys.executable,
        "-m",
        "grader.service.server",
        "--owner",
        owner.kind,
        str(owner.pid),
        str(owner.started or 0),
        "--ready-fd",
        str(ready_write),
        "--sandbox",
        settings.sandbox,
        "--device",
        settings.device,
        "--timeout",
        repr(settings.timeout),
        "--memory-mb",
        str(settings.memory_mb),
        "--cache-dir",
        settings.cache_dir,
    ]
    try:
        proc = subprocess.Popen(
            command,
            pass_fds=[ready_write],
            start_new_session=True,
            env=env,
            cwd="/",
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        os.close(ready_read)
        return None
    finally:
        os.close(ready_write)
    try:
        proc.wait(timeout=START_WAIT)  # it detaches at once: what listens is its own child
        # one byte once it listens; the end of the pipe without one when it stopped first (another client's
        # service may be listening instead: the connection below finds out)
        if select.select([ready_read], [], [], START_WAIT)[0]:
            os.read(ready_read, 1)
    except subprocess.TimeoutExpired:
        return None
    finally:
        os.close(ready_read)
    return connect(paths)


def stop(owner: Owner, wait: float = 10.0) -> bool:
    """End ``owner``'s service, if one runs; True when one was running and has ended within ``wait`` seconds."""
    try:
        paths = owner_mod.paths_for(owner)
    except (ServiceDirError, OSError):
        return False
    pid = running(owner)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + wait
    while time.monotonic() < end:
        if not _alive(pid) and not paths.socket.exists():
            return True
        time.sleep(0.02)
    return False


def running(owner: Owner) -> int | None:
    """The process id of ``owner``'s service, when one is listening (from the lock file it writes)."""
    try:
        paths = owner_mod.paths_for(owner)
        pid = int(paths.lock.read_text().strip() or 0)
    except (ServiceDirError, OSError, ValueError):
        return None
    if not pid or not _alive(pid):
        return None
    sock = connect(paths)
    if sock is None:
        return None
    sock.close()
    return pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
