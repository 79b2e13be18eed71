"""Whose service it is and where it listens: one service per owner, in a private folder of the user's.

An owner is a learner's kernel (a process: its service ends with it) or a terminal session (``grade`` in a
shell: keyed by the session, :func:`os.getsid`, and its leader). A process is named by its pid *and* its
start time, so that a pid the system reuses names another owner. The folder is ``$GRADER_SERVICE_DIR``, else
``$XDG_RUNTIME_DIR/mllm-vqa-grader``, else ``mllm-vqa-grader/service`` in the user cache folder; it is
created with mode 0700 and refused when someone else owns it or others may enter it, so that two users on
one machine never reach each other's service. Runs on both sides; imports the standard library only.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

DIR_VAR = "GRADER_SERVICE_DIR"
IDLE_VAR = "GRADER_SERVICE_IDLE"  # seconds a service waits for the next request before it ends
IDLE_SECONDS = 15 * 60.0
SOCKET_PATH_MAX = 100  # AF_UNIX paths are limited to 108 bytes on Linux (104 on macOS)
KERNEL, TERMINAL = "kernel", "terminal"


class ServiceDirError(RuntimeError):
    """The private folder cannot be used (another user's, open to others, or a path too long for a socket)."""


def start_time(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot, from /proc), None when it is not there (or no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    try:  # the command name (field 2) may hold spaces and parentheses: count from the last ")"
        return int(data[data.rindex(b")") + 2 :].split()[19])
    except (ValueError, IndexError):
        return None


@dataclass(frozen=True)
class Owner:
    """The process whose life bounds a service (a kernel) or the session it serves (a terminal)."""

    kind: str  # KERNEL | TERMINAL
    pid: int  # the kernel's process, or the session's id (its leader's pid)
    started: int | None = None  # the process's start_time(), where /proc tells it

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.pid}-{self.started or 0}"

    def alive(self) -> bool:
        """Whether the process is still the one that started then (for a terminal: the session's leader)."""
        if self.started is not None:
            return start_time(self.pid) == self.started
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def kernel_owner(pid: int | None = None) -> Owner:
    """The calling process (a Jupyter kernel, or any Python process that calls check())."""
    pid = os.getpid() if pid is None else pid
    return Owner(KERNEL, pid, start_time(pid))


def terminal_owner() -> Owner:
    """The terminal session of the calling process (``grade`` in a shell)."""
    sid = os.getsid(0)
    return Owner(TERMINAL, sid, start_time(sid))


def idle_seconds() -> float:
    """How long a service waits for its next request: ``$GRADER_SERVICE_IDLE`` seconds, else 15 minutes."""
    try:
        value = float(os.environ.get(IDLE_VAR, IDLE_SECONDS))
    except ValueError:
        return IDLE_SECONDS
    return value if value > 0 else IDLE_SECONDS


def service_dir() -> Path:
    """This user's private folder for services, created if needed (ServiceDirError when it cannot be trusted)."""
    env = os.environ.get(DIR_VAR)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if env:
        folder = Path(env).expanduser()
    elif runtime and os.path.isdir(runtime):
        folder = Path(runtime) / "mllm-vqa-grader"
    else:
        folder = (
            Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
            / "mllm-vqa-grader"
            / "service"
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        pass
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode):
        raise ServiceDirError(f"{folder} is not a folder")
    if info.st_uid != os.getuid():
        raise ServiceDirError(f"{folder} belongs to another user")
    if info.st_mode & 0o077:
        os.chmod(folder, 0o700)
    return folder


@dataclass(frozen=True)
class ServicePaths:
    """The files of one owner's service in the private folder."""

    folder: Path
    key: str

    @property
    def socket(self) -> Path:
        return self.folder / f"{self.key}.sock"

    @property
    def token(self) -> Path:  # the secret a client sends with each request (mode 0600)
        return self.folder / f"{self.key}.token"

    @property
    def lock(self) -> Path:  # held by the running service for its whole life
        return self.folder / f"{self.key}.lock"

    @property
    def log(self) -> Path:
        return self.folder / f"{self.key}.log"


def paths_for(owner: Owner) -> ServicePaths:
    paths = ServicePaths(service_dir(), owner.key)
    if len(str(paths.socket).encode()) > SOCKET_PATH_MAX:
        raise ServiceDirError(
            f"{paths.socket}: too long a path for a socket (set {DIR_VAR} to a shorter folder)"
        )
    return paths
