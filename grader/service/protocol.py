"""What a client and the service say to each other: frozen dataclasses sent as JSON (never pickle), framed as
the worker's channel frames them (:mod:`grader.worker.protocol`), each carrying the protocol's version.

A request names what to grade (a folder or a notebook, as ``grade PATH`` takes it), the settings the
service's grader must have, and the client's view of the grader: :func:`grader.judge.reference.fingerprint`
(everything that decides a grade) and :func:`source_stamp` (the grader's own code, which the service runs).
The reply carries the :class:`grader.judge.results.GradeResult` as its dict, so that rendering stays with
the client. Runs on both sides; imports the standard library only (and the worker's framing and limits).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import socket
import typing
from dataclasses import dataclass
from pathlib import Path

from grader.worker import limits
from grader.worker import protocol as framing
from vqa.course import ROOT

PROTOCOL = 2
Json = typing.Any  # a value json.loads gives
PACKAGE_ROOT = ROOT
SOURCE_FOLDERS = ("grader", "vqa", "catalog")
SOURCE_SUFFIXES = (".py", ".toml", ".j2")

# reply statuses
OK = "ok"  # graded: ``result`` holds the GradeResult's dict
USAGE = "usage"  # what was passed cannot be graded (no such folder, settings this machine lacks): ``message``
# the notebook cannot be read: ``message`` says why, in the request's language
NOTEBOOK = "notebook"
GRADER = "grader"  # the grader itself cannot run here (no worker, a failing reference): ``message`` says why
FAULT = "fault"  # the grader failed on this submission (its own bug, not the learner's): ``message``, ``log``
# the service runs another grader or other settings than the client's: it is exiting
STALE = "stale"
REFUSED = "refused"  # wrong token or protocol: nothing was graded
# the service failed on this request (its log says how): the client grades without it
ERROR = "error"
STATUSES = (OK, USAGE, NOTEBOOK, GRADER, FAULT, STALE, REFUSED, ERROR)


class MessageError(ValueError):
    """A message that is not what the protocol says (wrong fields, types or version)."""


class VersionError(MessageError):
    """A message of another version of the protocol (a client or service from another copy of the grader)."""


@dataclass(frozen=True)
class Settings:
    """What the service's grader is built with (see :class:`grader.judge.grade.Grader`); a request with other
    settings is answered ``stale`` and gets a service of its own. The language is per request."""

    sandbox: str = "auto"
    device: str = "cpu"
    timeout: float = limits.CALL_TIMEOUT
    memory_mb: int = limits.MEMORY_MB
    cache_dir: str = ""  # resolved by the client (its environment decides the default)


@dataclass(frozen=True)
class ServiceInfo:
    """Who answered: the service's process, its worker's, and how much it has done (the tests count on it)."""

    pid: int
    zygote_pid: int | None = None
    grades: int = 0
    zygote_starts: int = 0


@dataclass(frozen=True)
class GradeRequest:
    """One grading asked of the service, as ``grade PATH`` would grade it with ``settings``."""

    token: str
    fingerprint: str  # the client's grader.judge.reference.fingerprint()
    source: str  # the client's source_stamp()
    path: str  # a folder or a notebook, as given to ``grade`` (relative to ``cwd``)
    cwd: str
    lang: str
    settings: Settings
    exercises: tuple[str, ...] = ()  # empty: all four
    protocol: int = PROTOCOL


@dataclass(frozen=True)
class GradeReply:
    """The service's answer: a status of STATUSES; with ``ok`` the GradeResult's dict (``to_dict``)."""

    status: str
    result: dict[str, Json] | None = None
    message: str = ""
    # with ``fault``: the file that holds the grader's traceback, for the learner to send
    log: str = ""
    service: ServiceInfo | None = None
    protocol: int = PROTOCOL


Message = GradeRequest | GradeReply
M = typing.TypeVar("M", GradeRequest, GradeReply)


def _decode(kind: typing.Any, value: Json, where: str) -> typing.Any:
    """``value`` (parsed JSON) as the annotated type ``kind``; MessageError when it is not one."""
    origin = typing.get_origin(kind)
    if origin is typing.Union or type(kind).__name__ == "UnionType":
        options = typing.get_args(kind)
        if value is None and type(None) in options:
            return None
        inner = [k for k in options if k is not type(None)]
        return _decode(inner[0], value, where)
    if dataclasses.is_dataclass(kind):
        return _from_dict(kind, value, where)
    if origin is tuple:
        if not isinstance(value, list):
            raise MessageError(f"{where}: expected a list")
        return tuple(_decode(typing.get_args(kind)[0], v, where) for v in value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    expected = origin or kind
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise MessageError(
            f"{where}: expected {getattr(expected, '__name__', expected)}, got {type(value).__name__}"
        )
    return value


def _from_dict(cls: typing.Any, data: Json, where: str) -> typing.Any:
    if not isinstance(data, dict):
        raise MessageError(f"{where}: expected an object")
    hints = typing.get_type_hints(cls)
    values = {}
    for item in dataclasses.fields(cls):
        if item.name in data:
            values[item.name] = _decode(hints[item.name], data[item.name], f"{where}.{item.name}")
        elif item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING:
            raise MessageError(f"{where}: {item.name} is missing")
    return cls(**values)


def encode(message: Message) -> dict[str, Json]:
    """The message as plain JSON data, with its type's name."""
    return {"type": type(message).__name__, **dataclasses.asdict(message)}


def decode(data: Json, expected: type[M]) -> M:
    """A message of type ``expected`` from plain JSON data; MessageError for anything else (another version too)."""
    if not isinstance(data, dict) or data.get("type") != expected.__name__:
        raise MessageError(f"expected a {expected.__name__}")
    if data.get("protocol") != PROTOCOL:
        raise VersionError(f"protocol version {data.get('protocol')!r}, expected {PROTOCOL}")
    message: M = _from_dict(
        expected, {k: v for k, v in data.items() if k != "type"}, expected.__name__
    )
    if isinstance(message, GradeReply):
        if message.status not in STATUSES:
            raise MessageError(f"GradeReply.status: unknown status {message.status!r}")
        if message.status == OK and message.result is None:
            raise MessageError("GradeReply: an ok reply without a result")
    return message


def send(sock: socket.socket, message: Message) -> None:
    """Send one message (a frame of the worker's channel: a JSON header, no blob)."""
    framing.send(sock, encode(message))


def receive(sock: socket.socket, expected: type[M]) -> M:
    """The next message (MessageError for a bad one; framing.ChannelClosed when the other side went away)."""
    try:
        header, _blob = framing.recv(sock)
    except (framing.ProtocolError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MessageError(str(exc)) from None
    return decode(header, expected)


def source_stamp(root: Path = PACKAGE_ROOT) -> str:
    """The grader's and the kit's own code as its files' names, sizes and modification times (no reading: cheap
    enough for every request): a service whose stamp differs runs other code than the client's."""
    parts = [str(root)]
    for folder in SOURCE_FOLDERS:
        for base, dirs, files in os.walk(root / folder):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if name.endswith(SOURCE_SUFFIXES):
                    try:
                        stat = os.stat(os.path.join(base, name))
                    except OSError:
                        continue
                    parts.append(f"{os.path.join(base, name)}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]
