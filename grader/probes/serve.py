"""The worker child's request loop, and the zygote's preload (every library and probe imported once, and the
shared fixtures loaded once, before any fork and before the import guard is armed)."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from grader.probes.context import Context
from grader.probes.errors import error_response
from grader.probes.plain import pack
from grader.probes.registry import PROBES, ProbeSpec
from grader.worker import protocol
from grader.worker.contract import Reply, encode


def preload(fixtures: str | None = None) -> list[str]:
    """Import everything a probe needs, before any fork and before the guard is armed; with ``fixtures`` (the
    artifacts folder the reference's set-up wrote), also load the models every child would otherwise load on
    its own (:func:`preload_fixtures`). Returns the fixtures loaded."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # peft imports bitsandbytes where it is installed, for quantised layers the grading never builds: with its
    # kernels, a good part of the start-up. Hidden while the libraries import, peft and transformers take it as
    # absent (and remember so); a learner's own ``import bitsandbytes`` still works in a child afterwards.
    # With CUDA it stays hidden: its import queries the GPU, which would initialise CUDA in this process, and
    # no child forked afterwards could use CUDA.
    hidden = "bitsandbytes" not in sys.modules
    if hidden:
        sys.modules["bitsandbytes"] = None  # type: ignore[assignment]  # None: the import fails
    import numpy  # noqa: F401
    import peft  # noqa: F401
    import PIL.Image  # noqa: F401
    import safetensors.torch  # noqa: F401
    import torch  # noqa: F401
    import torch.utils.data  # noqa: F401
    import transformers  # noqa: F401
    from peft import LoraConfig, PeftModel, get_peft_model, import_utils  # noqa: F401
    from transformers import BlipForQuestionAnswering, BlipProcessor  # noqa: F401

    for check in (
        "is_bnb_available",
        "is_bnb_4bit_available",
    ):  # cached answers: False while it is hidden
        getattr(import_utils, check, lambda: False)()
    if hidden and not os.environ.get("GRADER_WORKER_CUDA"):
        del sys.modules["bitsandbytes"]

    import vqa.data  # noqa: F401
    import vqa.impl  # noqa: F401
    import vqa.tiny  # noqa: F401
    from grader.probes import (  # noqa: F401
        common,  # noqa: F401
        dataset,
        lora,
        predict,
        selftest,  # noqa: F401
        setup,
        train,
    )
    from grader.worker import guard  # noqa: F401

    return preload_fixtures(Path(fixtures)) if fixtures else []


def preload_fixtures(artifacts: Path) -> list[str]:
    """Load the shared fixtures (processor, tiny base, the train probes' LoRA model, the predict probes' model)
    into :func:`grader.probes.common.cached` once, in the zygote: each child forked afterwards inherits them
    and still gets its own deep copy per use, as when it loads them itself. Nothing is loaded where the set-up
    has not written the fixtures yet (the reference's own zygote)."""
    from types import SimpleNamespace

    from grader.probes import common, predict

    if not (artifacts / common.FIXTURES_STAMP).is_file():
        return []
    ctx = SimpleNamespace(artifacts=artifacts)
    loaded = {
        "processor": common.processor,
        "tiny-random": common.base_model,
        common.INIT_ADAPTER: lambda: common.init_model(ctx),
        common.PREDICT_MODEL: lambda: predict.trusted_model(ctx),
    }
    for load in loaded.values():
        load()
    return list(loaded)


def serve(sock, config: dict) -> None:
    import torch

    torch.set_num_threads(1)
    ctx = Context(config)
    guard = None
    if config.get("guard"):
        from grader.worker.guard import ImportGuard

        guard = ImportGuard(config["guard"]["blocked_dirs"], config["guard"]["allowed_dirs"])
        guard.arm()
    send, recv = protocol.send, protocol.recv
    while True:
        try:
            request, _blob = recv(sock)
        except protocol.ChannelClosed:
            return
        op = request.get("op")
        if op == "bye":
            send(sock, {"ok": True})
            return
        spec = PROBES.get(request.get("probe", ""))
        if spec is None:
            send(
                sock,
                encode(
                    Reply(
                        ok=False, kind="internal", message=f"unknown probe {request.get('probe')!r}"
                    )
                ),
            )
            continue
        if guard is not None:
            guard.active = spec.exercise
        start = time.perf_counter()
        blob = b""
        try:
            result = spec.fn(ctx, **request.get("args", {}))
            data, tensors = result if isinstance(result, tuple) else (result, {})
            reply = Reply(ok=True, kind="ok", data=_encoded(spec, data))
            blob = pack(tensors)
        except (
            protocol.ProtocolError
        ) as exc:  # the probe's result is not what the contract says: the grader's bug
            blob = b""
            reply = Reply(ok=False, kind="internal", message=f"probe {spec.probe.name}: {exc}")
        except BaseException as exc:  # noqa: BLE001 - includes SystemExit and KeyboardInterrupt from student code
            blob = b""
            if guard is not None:
                guard.armed = False  # formatting the traceback reads the grader's own source
            reply = error_response(exc, ctx.folder)
            del exc
            if guard is not None:
                guard.armed = True
        violations = guard.take(spec.exercise) if guard is not None else []
        if guard is not None:
            guard.active = None
        reply = dataclasses.replace(
            reply, seconds=round(time.perf_counter() - start, 4), violations=violations
        )
        sys.stdout.flush()
        sys.stderr.flush()
        send(sock, encode(reply), blob)


def _encoded(spec: ProbeSpec, data: object) -> dict[str, Any]:
    """A probe's result as JSON data, after making sure it is the type the contract declares for the probe."""
    if not isinstance(data, spec.probe.result):
        raise protocol.ProtocolError(
            f"returned a {type(data).__name__}, not a {spec.probe.result.__name__}"
        )
    encoded: dict[str, Any] = encode(data)
    json.dumps(encoded)  # fail here, not half-way through a send
    return encoded
