"""Judge side of the worker: start a zygote, fork a child per submission, call
probes with a time limit, capture and truncate output, kill whole process groups.

Nothing here imports torch.
"""

from __future__ import annotations

import io
import json
import logging
import os
import queue
import selectors
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.worker import contract, protocol, sandbox
from grader.worker.contract import CallKind, MessageData, MessageField, ProbeResult
from vqa import course

TOKEN_VAR = "GRADER_RUN_TOKEN"
CHILD_TOKEN_VAR = "GRADER_CHILD_TOKEN"
CUDA_VAR = "GRADER_WORKER_CUDA"  # set for a zygote whose children may use CUDA (--device cuda)
logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from numpy.typing import NDArray


class WorkerStartError(RuntimeError):
    """The worker could not start (an environment problem, not the submission's)."""


@dataclass
class CallResult:
    """The outcome of one probe call: the probe's typed result (``ok``), or how the call ended and what went wrong;
    the tensors beside the result, the output the call printed, its time and the import guard's violations."""

    ok: bool
    kind: CallKind = "ok"
    data: ProbeResult | None = None
    tensors: dict[str, NDArray[Any]] = field(default_factory=dict)
    message: str = ""
    where: str | None = None
    output: str = ""
    output_bytes: int = 0
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0
    msg: MessageData | None = None  # the message as data, where the grader wrote it

    def describe(self) -> str:
        text = self.message
        if self.where and self.kind not in ("timeout", "crash", "load_error"):
            text += f" (at {self.where})"
        return text


def decode_tensors(blob: bytes) -> dict[str, NDArray[Any]]:
    if not blob:
        return {}
    from safetensors.numpy import load

    return load(blob)


def base_env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "GRADER_"))}
    env.update(
        {
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
            "PYTHONUNBUFFERED": "1",
            "PYTHONNOUSERSITE": "1",
            "TRANSFORMERS_VERBOSITY": "error",
            "PYTHONWARNINGS": "ignore",
            "TQDM_DISABLE": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        }
    )
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(course.ROOT) + (os.pathsep + path if path else "")
    if extra:
        env.update(extra)
    return env


class _Launcher:
    """Starts processes from a thread that lasts as long as this process. A zygote dies with the *thread* that
    started it (its PR_SET_PDEATHSIG and bubblewrap's --die-with-parent follow the thread, not the process):
    one restarted from a lane's thread would be killed as soon as that lane's grading ended."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[tuple[Callable[[], subprocess.Popen], Future[subprocess.Popen]]] = (
            queue.Queue()
        )
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def popen(self, start: Callable[[], subprocess.Popen]) -> subprocess.Popen:
        """``start()`` (which makes the Popen) on the main thread, or else on the launcher's own thread."""
        if threading.current_thread() is threading.main_thread():
            return start()
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name="zygote-launcher", daemon=True
                )
                self._thread.start()
        done: Future[subprocess.Popen] = Future()
        self._jobs.put((start, done))
        return done.result()

    def _serve(self) -> None:
        while True:
            start, done = self._jobs.get()
            try:
                done.set_result(start())
            except BaseException as exc:  # noqa: BLE001 - handed to the caller, which raises it
                done.set_exception(exc)


_launcher = _Launcher()


class Zygote:
    """A pre-imported worker parent that forks children on request."""

    def __init__(
        self,
        *,
        sandbox_mode: str = "none",
        writable: Sequence[str] = (),
        readable: Sequence[str] = (),
        hidden: Sequence[str] = (),
        env: dict | None = None,
        cwd: str,
        log_path: str | None = None,
        start_timeout: float = 180.0,
        cuda: bool = False,
        fixtures: str | None = None,
    ):
        self.sandbox_mode = sandbox_mode
        # the artifacts folder whose models the zygote loads before it forks
        self.fixtures = fixtures
        self.cuda = cuda
        if cuda:
            # the zygote must not touch CUDA (its forked children could not use it): a fork-safe availability
            # check, and no bitsandbytes (its import queries the GPU); the GPU's device files in the sandbox
            env = {**(env or {}), "PYTORCH_NVML_BASED_CUDA_CHECK": "1", CUDA_VAR: "1"}
        self.writable = list(writable)
        self.readable = list(readable)
        self.hidden = list(hidden)
        self.token = uuid.uuid4().hex
        self.env = base_env({**(env or {}), TOKEN_VAR: self.token})
        self.cwd = cwd
        self.log_path = log_path
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen | None = None
        self.ctl: socket.socket | None = None
        self.ready = False
        # the control channel failed: the zygote died (a child may have killed it)
        self.broken = False
        self.info: dict = {}
        self.starts = 0  # how many times it was started (a warm grader restarts a zygote that died)
        self._lock = threading.RLock()

    # -- life cycle
    def start(self) -> Zygote:
        os.makedirs(self.cwd, exist_ok=True)
        self.starts += 1
        ctl, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        cmd = sandbox.prefix(
            self.sandbox_mode,
            [self.cwd, *self.writable],
            self.readable,
            self.hidden,
            sandbox.gpu_devices() if self.cuda else (),
        )
        cmd += [sys.executable, "-m", "grader.worker.zygote", "--ctl-fd", str(theirs.fileno())]
        if self.fixtures:
            cmd += ["--fixtures", self.fixtures]
        log = open(self.log_path, "wb") if self.log_path else None
        try:
            out = log if log is not None else subprocess.DEVNULL
            self.proc = _launcher.popen(
                lambda: subprocess.Popen(
                    cmd,
                    pass_fds=[theirs.fileno()],
                    start_new_session=True,
                    cwd=self.cwd,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stderr=subprocess.STDOUT,
                    stdout=out,
                )
            )
        finally:
            theirs.close()
            if log is not None:
                log.close()
        self.ctl = ctl
        return self

    def wait_ready(self) -> dict:
        with self._lock:
            return self._wait_ready()

    def _wait_ready(self) -> dict:
        if self.ready:
            return self.info
        if self.proc is None:
            self.start()
        assert self.ctl is not None  # set by start()
        self.ctl.settimeout(self.start_timeout)
        try:
            msg = self.ctl.recv(1 << 20)
        except (TimeoutError, OSError) as exc:
            self.close()
            raise WorkerStartError(f"the worker did not start: {exc}{self._log_tail()}") from None
        if not msg:
            self.close()
            raise WorkerStartError(f"the worker exited while starting{self._log_tail()}")
        info = json.loads(msg)
        if not info.get("ready"):
            self.close()
            error = info.get("error") or f"its first message was not its ready line: {msg[:200]!r}"
            raise WorkerStartError(f"the worker failed to start:\n{error}{self._log_tail()}")
        self.ctl.settimeout(30)
        self.info = info
        self.ready = True
        return info

    def _log_tail(self) -> str:
        if self.log_path and os.path.exists(self.log_path):
            with open(self.log_path, "rb") as fh:
                return "\n" + fh.read()[-3000:].decode(errors="replace")
        return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _request(self, message: dict, fds: Sequence[int] = ()) -> dict:
        data = json.dumps(message).encode()
        with self._lock:
            if self.ctl is None:
                raise ConnectionError("worker is not running")
            try:
                if fds:
                    socket.send_fds(self.ctl, [data], list(fds))
                else:
                    self.ctl.send(data)
                reply = self.ctl.recv(1 << 20)
            except OSError:
                self.broken = True
                raise
            if not reply:
                self.broken = True
                raise ConnectionError("worker went away")
        return json.loads(reply)

    def restart(self) -> bool:
        """Start the zygote again when its control channel broke (it died); True when this call did. Under the
        zygote's lock, so that lanes which found it dead at the same time start one new zygote, not several."""
        with self._lock:
            if not self.broken:
                return False
            self.close()
            self.start()
            return True

    def spawn(self, config: dict, *, output_limit: int = 8192) -> Child:
        self.wait_ready()
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        read_fd, write_fd = os.pipe()
        token = uuid.uuid4().hex
        try:
            reply = self._request(
                {"op": "spawn", **config, "token": token}, [theirs.fileno(), write_fd]
            )
        finally:
            theirs.close()
            os.close(write_fd)
        child = Child(self, int(reply["pid"]), mine, read_fd, output_limit)
        child.token = token
        child.generation = self.starts
        return child

    def kill_child(self, pid: int, generation: int) -> dict | None:
        """Ask the zygote that forked ``pid`` (its ``generation``: the zygote's start count then) to end it and
        say how it ended; None when that zygote is gone (its children went with it, and a newer zygote's
        channel must carry only its own requests: its first message is its ready line)."""
        with self._lock:
            if generation != self.starts or not self.ready:
                return None
            try:
                return self._request({"op": "kill", "pid": pid}).get("status")
            except (OSError, ValueError):
                return None

    def close(self) -> None:
        if self.ctl is not None:
            try:
                self.ctl.send(json.dumps({"op": "exit"}).encode())
            except OSError:
                pass
        if self.proc is not None:
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover
                pass
        if self.ctl is not None:
            self.ctl.close()
            self.ctl = None
        sweep(self.token)
        self.proc = None
        self.ready = False
        self.broken = False

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


class Child:
    """One forked worker child serving probe calls for one implementation."""

    def __init__(
        self, zygote: Zygote, pid: int, sock: socket.socket, out_fd: int, output_limit: int
    ):
        self.zygote = zygote
        self.pid = pid
        self.sock = sock
        self.out_fd = out_fd
        os.set_blocking(out_fd, False)
        self.output_limit = output_limit
        self._out = io.BytesIO()
        self._out_total = 0
        self.dead = False
        self.status: dict | None = None
        self.token: str | None = None
        self.generation = zygote.starts  # which start of the zygote forked it

    def _drain(self) -> bool:
        """Read what output is there; False at end of file."""
        while True:
            try:
                chunk = os.read(self.out_fd, 1 << 16)
            except BlockingIOError:
                return True
            except OSError:
                return False
            if not chunk:
                return False
            room = self.output_limit - self._out.tell()
            if room > 0:
                self._out.write(chunk[:room])
            self._out_total += len(chunk)

    def _take_output(self) -> tuple[str, int]:
        text = _render_carriage_returns(self._out.getvalue().decode(errors="replace"))
        total = self._out_total
        if total > self.output_limit:
            text += f"\n[output truncated: {total} bytes in all, {self.output_limit} shown]"
        self._out = io.BytesIO()
        self._out_total = 0
        return text, total

    def call(self, request: dict, timeout: float) -> CallResult:
        if self.dead:
            return CallResult(
                ok=False,
                kind="crash",
                message="the worker is not running",
                msg=MessageData("worker_not_running"),
            )
        deadline = time.monotonic() + timeout
        try:
            protocol.send(self.sock, request)
        except OSError:
            return self._died(deadline)
        selector = selectors.DefaultSelector()
        selector.register(self.sock, selectors.EVENT_READ, "sock")
        out_open = True
        selector.register(self.out_fd, selectors.EVENT_READ, "out")
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return self._timed_out(timeout)
                events = selector.select(min(remaining, 1.0))
                ready = {key.data for key, _ in events}
                if "out" in ready and out_open:
                    if not self._drain():
                        out_open = False
                        selector.unregister(self.out_fd)
                if "sock" in ready:
                    self.sock.settimeout(max(remaining, 0.5))
                    try:
                        header, blob = protocol.recv(self.sock)
                    except TimeoutError:
                        return self._timed_out(timeout)
                    except (
                        protocol.ChannelClosed,
                        OSError,
                    ):  # the child went away: its code crashed or exited
                        return self._died(deadline)
                    except (
                        protocol.ProtocolError,
                        ValueError,
                        struct.error,
                    ) as exc:  # a reply not in the protocol
                        return self._unreadable(exc)
                    self._drain()
                    return self._result(str(request.get("probe", "")), header, blob)
        finally:
            selector.close()

    def _result(self, probe: str, header: dict[str, Any], blob: bytes) -> CallResult:
        """The reply to a call of ``probe``, read by the contract; a reply that does not follow it is the grader's
        fault (kind "internal"), never scored as the learner's."""
        output, total = self._take_output()
        try:
            reply = contract.decode(contract.Reply, header)
            data = (
                contract.decode(contract.probe_named(probe).result, reply.data)
                if reply.ok
                else None
            )
        except protocol.ProtocolError as exc:
            logger.error(
                "worker child %s: the reply to probe %s does not follow the contract: %s",
                self.pid,
                probe,
                exc,
            )
            return CallResult(
                ok=False,
                kind="internal",
                output=output,
                output_bytes=total,
                message=f"the worker's reply to probe {probe} does not follow the contract: {exc}",
            )
        try:
            tensors = decode_tensors(blob)
        except Exception as exc:  # noqa: BLE001 - safetensors' own errors: said as the grader's fault
            return CallResult(
                ok=False,
                kind="internal",
                message=f"bad tensors from the worker: {exc}",
                output=output,
            )
        return CallResult(
            ok=reply.ok,
            kind="ok" if reply.ok else reply.kind,
            data=data,
            tensors=tensors,
            message=reply.message,
            where=reply.where,
            output=output,
            output_bytes=total,
            violations=reply.violations,
            seconds=reply.seconds,
            msg=reply.msg,
        )

    def _finish(self) -> None:
        if not self.dead:
            self.dead = True
            self.status = self.zygote.kill_child(self.pid, self.generation)
            if self.token:  # processes that left the child's process group
                sweep(self.token, CHILD_TOKEN_VAR)
            end = time.monotonic() + 1.0
            while time.monotonic() < end and self._drain():
                time.sleep(0.01)
            try:
                self.sock.close()
            except OSError:
                pass
            try:
                os.close(self.out_fd)
            except OSError:
                pass

    def _unreadable(self, exc: Exception) -> CallResult:
        """A reply the judge cannot read: a fault of the grader's channel (or of code that wrote into it), never
        scored as the learner's failure; the child is ended, its output kept."""
        self._finish()
        output, total = self._take_output()
        logger.error("unreadable reply from worker child %s: %s", self.pid, exc)
        return CallResult(
            ok=False,
            kind="internal",
            output=output,
            output_bytes=total,
            message=f"the worker's reply could not be read ({type(exc).__name__}: {exc})",
        )

    def _timed_out(self, timeout: float) -> CallResult:
        self._finish()
        output, total = self._take_output()
        return CallResult(
            ok=False,
            kind="timeout",
            output=output,
            output_bytes=total,
            message=f"timed out after {timeout:g} s (an endless loop? use --timeout to allow more)",
            msg=MessageData("timeout", {"seconds": f"{timeout:g}"}),
        )

    def _died(self, deadline: float) -> CallResult:
        self._finish()
        output, total = self._take_output()
        status = self.status or {}
        fields: dict[str, MessageField]
        if "signal" in status:
            name = status.get("signal_name")
            if name == "SIGSEGV":
                what, key, fields = "crashed with a segmentation fault (SIGSEGV)", "crash_segv", {}
            elif name == "SIGKILL":
                what, key, fields = "was killed (SIGKILL; out of memory?)", "crash_killed", {}
            else:
                what, key, fields = f"was killed by {name}", "crash_signal", {"name": name}
        elif "exit_code" in status:
            what = f"exited with code {status['exit_code']} (os._exit or a fatal error)"
            key, fields = "crash_exit", {"code": status["exit_code"]}
        else:
            what, key, fields = "stopped unexpectedly", "crash_unexpected", {}
        return CallResult(
            ok=False,
            kind="crash",
            message=f"the worker {what}",
            output=output,
            output_bytes=total,
            msg=MessageData("worker_crash", {"what": MessageData(key, fields)}),
        )

    def close(self) -> None:
        if not self.dead:
            try:
                self.sock.settimeout(2)
                protocol.send(self.sock, {"op": "bye"})
            except OSError:
                pass
        self._finish()


def _render_carriage_returns(text: str) -> str:
    """What a terminal would show: a progress bar's earlier states (before a carriage return) are dropped."""
    if "\r" not in text:
        return text
    lines = []
    for line in text.split("\n"):
        parts = [p for p in line.split("\r") if p.strip()]
        lines.append(parts[-1] if parts else "")
    return "\n".join(lines)


def sweep(token: str, var: str = TOKEN_VAR) -> int:
    """Kill every process still carrying ``token`` in its environment (escaped children); return how many."""
    needle = f"{var}={token}".encode()
    killed = 0
    me = os.getpid()
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ:
            try:
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
    return killed
