"""The service's typed messages and its private folder: what crosses the socket is checked field by field,
another protocol version is told apart, and the folder is the user's alone. No grading here."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from grader.service import owner as owner_mod
from grader.service import protocol
from grader.service.owner import Owner

SETTINGS = protocol.Settings(
    sandbox="none", device="cpu", timeout=8.0, memory_mb=1024, cache_dir="/tmp/cache"
)


def request(**changes) -> protocol.GradeRequest:
    fields = dict(
        token="t",
        fingerprint="f",
        source="s",
        path="exercises",
        cwd="/home/learner",
        lang="vi",
        settings=SETTINGS,
        exercises=("lora",),
    )
    return protocol.GradeRequest(**{**fields, **changes})


def test_a_request_and_a_reply_cross_as_json_and_come_back_equal():
    import json

    sent = request()
    assert (
        protocol.decode(json.loads(json.dumps(protocol.encode(sent))), protocol.GradeRequest)
        == sent
    )
    reply = protocol.GradeReply(
        protocol.OK, result={"score": 15.0}, service=protocol.ServiceInfo(pid=7, grades=2)
    )
    assert (
        protocol.decode(json.loads(json.dumps(protocol.encode(reply))), protocol.GradeReply)
        == reply
    )


def test_a_message_with_a_wrong_field_is_refused_by_name():
    data = protocol.encode(request())
    data["settings"]["memory_mb"] = "a lot"
    with pytest.raises(
        protocol.MessageError, match=r"GradeRequest.settings.memory_mb: expected int, got str"
    ):
        protocol.decode(data, protocol.GradeRequest)
    data = protocol.encode(request())
    del data["path"]
    with pytest.raises(protocol.MessageError, match="path is missing"):
        protocol.decode(data, protocol.GradeRequest)
    with pytest.raises(protocol.MessageError, match="expected a GradeReply"):
        protocol.decode(protocol.encode(request()), protocol.GradeReply)


def test_another_protocol_version_is_told_apart():
    data = {**protocol.encode(request()), "protocol": protocol.PROTOCOL + 1}
    with pytest.raises(protocol.VersionError):
        protocol.decode(data, protocol.GradeRequest)


def test_the_source_stamp_follows_the_grader_code(tmp_path):
    for folder in protocol.SOURCE_FOLDERS:
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "a.py").write_text("x = 1\n")
    before = protocol.source_stamp(tmp_path)
    assert protocol.source_stamp(tmp_path) == before
    (tmp_path / "grader" / "a.py").write_text("x = 22\n")
    assert protocol.source_stamp(tmp_path) != before


def test_an_owner_is_its_process_and_ends_with_it():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        owner = owner_mod.kernel_owner(proc.pid)
        assert owner.alive() and owner.key.startswith(f"kernel-{proc.pid}-")
    finally:
        proc.kill()
        proc.wait()
    assert not owner.alive()
    if owner.started is not None:  # a reused pid is another owner: same pid, another start time
        assert not Owner(owner.kind, os.getpid(), owner.started).alive()
    terminal = owner_mod.terminal_owner()
    assert terminal.pid == os.getsid(0) and terminal.kind == owner_mod.TERMINAL


def test_the_folder_is_private(tmp_path, monkeypatch):
    folder = tmp_path / "services"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    monkeypatch.setenv(owner_mod.DIR_VAR, str(folder))
    assert owner_mod.service_dir() == folder
    assert folder.stat().st_mode & 0o777 == 0o700
    paths = owner_mod.paths_for(owner_mod.kernel_owner())
    assert paths.socket.parent == folder and paths.socket.name.endswith(".sock")
    monkeypatch.setenv(owner_mod.DIR_VAR, str(tmp_path / ("x" * 120)))
    with pytest.raises(owner_mod.ServiceDirError, match="too long a path for a socket"):
        owner_mod.paths_for(owner_mod.kernel_owner())


def test_the_idle_time_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(owner_mod.IDLE_VAR, "2.5")
    assert owner_mod.idle_seconds() == 2.5
    monkeypatch.setenv(owner_mod.IDLE_VAR, "soon")
    assert owner_mod.idle_seconds() == owner_mod.IDLE_SECONDS
