"""The worker: the only process that runs submission code.

``python -m grader.worker.zygote --ctl-fd N`` starts a *zygote*: it imports torch,
transformers, peft and the probes once, runs no submission code itself, and
forks one *child* per submission on request.  A child starts its own session
(so the judge can kill its whole process group), sends its output to a pipe the
judge drains and truncates, lowers its resource limits, works in its own scratch
folder and answers probe requests over a socket: JSON headers plus safetensors
blobs, never pickle.

Control messages (judge -> zygote, SOCK_SEQPACKET, JSON, file descriptors
attached with SCM_RIGHTS):

* ``{"op": "spawn", ...config}`` + [socket fd, output fd] -> ``{"pid": pid}``
* ``{"op": "kill", "pid": pid}`` -> ``{"status": {...}}`` (kills the group, reaps)
* ``{"op": "exit"}``
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import signal
import socket
import sys
import traceback

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:  # pragma: no cover - non-Linux
        pass


def _vsize() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):  # pragma: no cover
        return 0


def _set_limit(which: int, value: int) -> None:
    try:
        resource.setrlimit(which, (value, value))
    except (ValueError, OSError):
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY and value > hard:
            resource.setrlimit(which, (hard, hard))


def describe_status(status: int) -> dict:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return {"signal": sig, "signal_name": name}
    if os.WIFEXITED(status):
        return {"exit_code": os.WEXITSTATUS(status)}
    return {"raw": status}


# --------------------------------------------------------------------------- child


def _writable_home(scratch: str) -> None:
    """Point the home, temp and library cache folders into the child's scratch folder (the only writable place
    in the sandbox), so that submission code can use its libraries normally: ``datasets.load_dataset``
    writes its cache, ``tempfile`` its files, matplotlib its config. Modules the zygote imported already
    read these variables at import; their copies are updated too."""
    folders = {
        "HOME": scratch,
        "TMPDIR": os.path.join(scratch, "tmp"),
        "XDG_CACHE_HOME": os.path.join(scratch, ".cache"),
        "HF_HOME": os.path.join(scratch, ".cache", "huggingface"),
        "HF_DATASETS_CACHE": os.path.join(scratch, ".cache", "huggingface", "datasets"),
        "MPLCONFIGDIR": os.path.join(scratch, ".config", "matplotlib"),
    }
    for name, path in folders.items():
        os.makedirs(path, exist_ok=True)
        os.environ[name] = path
    import tempfile

    tempfile.tempdir = None
    from huggingface_hub import constants

    home = folders["HF_HOME"]
    constants.HF_HOME = home
    constants.HF_HUB_CACHE = constants.HUGGINGFACE_HUB_CACHE = os.path.join(home, "hub")
    constants.HF_ASSETS_CACHE = constants.HUGGINGFACE_ASSETS_CACHE = os.path.join(home, "assets")
    constants.HF_XET_CACHE = os.path.join(home, "xet")
    constants.HF_TOKEN_PATH = os.path.join(home, "token")


def _child(fds: list[int], config: dict) -> None:
    os.setsid()
    _die_with_parent()
    sock_fd, out_fd = fds
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    os.close(out_fd)
    scratch = config["scratch"]
    os.makedirs(scratch, exist_ok=True)
    os.chdir(scratch)
    if config.get("token"):
        os.environ["GRADER_CHILD_TOKEN"] = config["token"]
    _writable_home(scratch)

    memory_mb = config.get("memory_mb")
    if memory_mb:
        _set_limit(resource.RLIMIT_AS, _vsize() + int(memory_mb) * 1024 * 1024)
    _set_limit(resource.RLIMIT_CORE, 0)
    _set_limit(resource.RLIMIT_FSIZE, int(config.get("file_mb", 512)) * 1024 * 1024)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an over-long write raises OSError instead

    sock = socket.socket(fileno=sock_fd)
    from grader.probes import serve

    serve.serve(sock, config)


# --------------------------------------------------------------------------- zygote


def _reply(ctl: socket.socket, message: dict) -> None:
    ctl.send(json.dumps(message).encode())


def zygote(ctl_fd: int) -> int:
    _die_with_parent()
    _set_limit(resource.RLIMIT_CORE, 0)
    ctl = socket.socket(fileno=ctl_fd)
    try:
        from grader.probes import serve

        serve.preload()
    except BaseException:  # noqa: BLE001 - report any start-up failure to the judge
        _reply(ctl, {"ready": False, "error": traceback.format_exc(limit=8)})
        return 1
    _reply(ctl, {"ready": True, "pid": os.getpid(), "vsize": _vsize()})
    sys.stdout.flush()
    sys.stderr.flush()
    children: set[int] = set()
    while True:
        try:
            msg, fds, _flags, _addr = socket.recv_fds(ctl, 1 << 20, 4)
        except (ConnectionError, OSError):
            break
        if not msg:
            break
        request = json.loads(msg)
        op = request.get("op")
        if op == "spawn":
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    ctl.close()
                    _child(fds, request)
                except SystemExit as exc:  # pragma: no cover
                    code = exc.code if isinstance(exc.code, int) else 1
                except BaseException:  # noqa: BLE001
                    traceback.print_exc()
                    code = 70
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
            for fd in fds:
                os.close(fd)
            children.add(pid)
            _reply(ctl, {"pid": pid})
        elif op == "kill":
            pid = int(request["pid"])
            for kill in (os.killpg, os.kill):
                try:
                    kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            status = None
            if pid in children:
                try:
                    _, raw = os.waitpid(pid, 0)
                    status = describe_status(raw)
                except ChildProcessError:
                    pass
                children.discard(pid)
            _reply(ctl, {"status": status})
        elif op == "exit":
            break
        else:
            _reply(ctl, {"error": f"unknown op {op!r}"})
    for pid in children:
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.worker.zygote")
    parser.add_argument("--ctl-fd", type=int, required=True)
    args = parser.parse_args(argv)
    return zygote(args.ctl_fd)


if __name__ == "__main__":
    sys.exit(main())
