"""``grader batch DIR --cluster``: the batch on a Dask cluster of two worker processes on the loopback.

Real grading gives the local batch's grades and class files (folders, zips, notebooks, a hostile submission);
a worker killed mid-run, a resumed run and a lost scheduler leave every submission written exactly once; a
worker with another grader refuses the work in one line. Where real grading is not the point, the slots on
the workers use test_batch_runner's stand-in engine (a word in dataset.py decides). One cluster for the module;
tests wait for events (a record written), never for a clock.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from distributed import Client
from test_batch_runner import (  # the stand-in engine: a word in dataset.py decides
    ENGINE,
    RELEASE,
    make,
)

from grader import batch
from grader.batch import cluster as cluster_mod
from grader.batch.cli import run_batch_command

from paths import CACHE

HERE = Path(__file__).resolve().parent
# the reference cache test_batch.py uses


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    """The file the stand-in engine's WAIT submissions wait for, in the workers' environment too."""
    return tmp_path_factory.mktemp("release") / "release"


@pytest.fixture(scope="module")
def dask(release):
    """A client of a two-worker cluster on the loopback; the workers' slots can import the stand-in engine."""
    env = pytest.MonkeyPatch()
    env.setenv(
        "PYTHONPATH",
        os.pathsep.join([str(HERE), str(HERE.parents[1]), os.environ.get("PYTHONPATH", "")]),
    )
    env.setenv(RELEASE, str(release))
    with (
        cluster_mod.local_cluster(2) as local,
        Client(local) as client,
    ):  # what --cluster local:2 starts
        yield client
    release.touch()  # no slot left waiting
    env.undo()


def stand_in(**kw) -> batch.BatchOptions:
    return batch.BatchOptions(engine=ENGINE, start_timeout=60, **kw)


def on(dask: Client, options: batch.BatchOptions) -> cluster_mod.ClusterEngine:
    return cluster_mod.engine_for(dask.scheduler.address, options)


def written(out: Path) -> list[str]:
    return sorted(p.stem for p in (out / "students").glob("*.json"))


# --------------------------------------------------------------------------- faults (stand-in grading)


def test_a_worker_killed_mid_run_leaves_every_submission_graded_exactly_once(
    tmp_path, dask, release
):
    """The first submission is graded; the others hold their slots until the test has killed a worker that is
    grading one of them, so the kill always lands mid-run."""
    students = {"s00": "GOOD", **{f"s{i:02d}": "WAIT" for i in range(1, 8)}}
    subs, out = make(tmp_path / "subs", **students), tmp_path / "out"
    release.unlink(missing_ok=True)
    killed = []

    def kill_a_busy_worker(record):
        busy = [
            w
            for w, keys in dask.processing().items()
            if any(str(k).startswith("grade-") for k in keys)
        ]
        if killed or not busy:
            return
        pid = dask.run(os.getpid, workers=busy[:1])[busy[0]]
        os.kill(pid, signal.SIGKILL)
        killed.append(busy[0])
        release.touch()

    options = stand_in()
    summary = batch.run_batch(
        subs, out, options, progress=False, on_record=kill_a_busy_worker, engine=on(dask, options)
    )
    assert killed, "no worker was killed"
    assert sorted(summary.graded) == sorted(students) and not summary.failed
    assert [r.student for r in summary.records] == sorted(students)
    assert all(r.score == 25 for r in summary.records)
    assert written(out) == sorted(students)
    dask.wait_for_workers(
        2, timeout=120
    )  # the nanny brings the killed worker back for the next tests


def test_a_resumed_run_grades_nothing_twice(tmp_path, dask):
    students = {f"s{i:02d}": "GOOD" for i in range(6)}
    subs, out = make(tmp_path / "subs", **students), tmp_path / "out"
    options = stand_in()

    def ctrl_c_after_two(record):
        if len(written(out)) >= 2:
            raise KeyboardInterrupt

    first = batch.run_batch(
        subs, out, options, progress=False, on_record=ctrl_c_after_two, engine=on(dask, options)
    )
    assert first.interrupted
    done = written(out)
    assert 2 <= len(done) < 6 and sorted(first.graded) == done
    second = batch.run_batch(subs, out, options, progress=False, engine=on(dask, options))
    assert sorted(second.reused) == done
    assert sorted(second.graded) == sorted(set(students) - set(done))
    third = batch.run_batch(subs, out, options, progress=False, engine=on(dask, options))
    assert sorted(third.reused) == sorted(students) and not third.graded


def test_hang_and_death_cost_their_own_submission_on_the_cluster(tmp_path, dask):
    subs = make(
        tmp_path / "subs", a_good="GOOD", b_hang="HANG", c_die="DIE", d_good="GOOD", e_bad="BAD"
    )
    options = stand_in(submission_timeout=3)
    summary = batch.run_batch(
        subs, tmp_path / "out", options, progress=False, engine=on(dask, options)
    )
    records = {r.student: r for r in summary.records}
    assert {s: r.score for s, r in records.items() if r.status == "graded"} == {
        "a_good": 25,
        "d_good": 25,
        "e_bad": 0,
    }
    assert records["b_hang"].reason == (
        "b_hang: grading took longer than 3 s (the per-submission limit; an endless loop?)"
    )
    assert records["c_die"].reason.startswith("c_die: the grading process stopped unexpectedly")
    assert summary.where == f"on a 2-worker Dask cluster at {dask.scheduler.address}"


def test_a_grader_fault_on_the_cluster_is_the_graders_and_the_batch_goes_on(tmp_path, dask):
    subs = make(tmp_path / "subs", a_good="GOOD", b_raise="RAISE", c_garble="GARBLE", d_bad="BAD")
    options = stand_in()
    summary = batch.run_batch(
        subs, tmp_path / "out", options, progress=False, engine=on(dask, options)
    )
    records = {r.student: r for r in summary.records}
    assert {s: r.score for s, r in records.items() if r.status == "graded"} == {
        "a_good": 25,
        "d_bad": 0,
    }
    for student in ("b_raise", "c_garble"):
        record = records[student]
        assert record.status == "failed" and record.flags == ["not_graded", "grader_error"], record
        assert re.fullmatch(r".+ on Dask worker tcp://127\.0\.0\.1:\d+", record.grader_log or ""), (
            record
        )
    assert "GraderError: KeyError: 'lora.trainable'" in records["b_raise"].grader_error
    assert "answered a line that cannot be read" in records["c_garble"].grader_error
    assert set(dict(summary.problems())) == {"b_raise", "c_garble"}


def test_a_worker_with_another_grader_refuses_in_one_line(tmp_path, dask, monkeypatch, capsys):
    real = cluster_mod.identity

    def older_torch(options):
        mine = real(options)
        return replace(
            mine, versions=tuple((k, "2.4.0" if k == "torch" else v) for k, v in mine.versions)
        )

    monkeypatch.setattr(
        cluster_mod, "identity", older_torch
    )  # the instructor's side only: workers are as installed
    monkeypatch.setenv("GRADER_BATCH_ENGINE", ENGINE)
    subs = make(tmp_path / "subs", alice="GOOD")
    (subs / "broken.zip").write_text("not a zip")
    out = tmp_path / "out"
    code = run_batch_command(
        subs, out, progress=False, similarity=False, cluster=dask.scheduler.address
    )
    err = capsys.readouterr().err
    assert code == 3, err
    from grader.judge.reference import versions

    torch_here = versions()["torch"]
    assert re.search(
        rf"error: Dask worker tcp://127\.0\.0\.1:\d+ grades with another grader than yours: "
        rf"torch {re.escape(torch_here)} there, 2\.4\.0 here",
        " ".join(err.split()),
    ), err
    assert written(out) == ["broken"], "what was written before the refusal is kept"


def test_grading_that_cannot_start_on_a_worker_is_one_clear_error(tmp_path, dask):
    options = batch.BatchOptions(engine="test_batch_runner:broken_engine", start_timeout=60)
    wanted = (
        r"(?s)could not start on Dask worker tcp://127\.0\.0\.1:\d+:.*the reference failed probe"
    )
    with pytest.raises(batch.SlotStartError, match=wanted):
        batch.run_batch(
            make(tmp_path / "subs", alice="GOOD"),
            tmp_path / "out",
            options,
            progress=False,
            engine=on(dask, options),
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_a_lost_scheduler_stops_the_batch_and_the_same_command_resumes(
    tmp_path, dask, release, capsys, monkeypatch
):
    address = f"tcp://127.0.0.1:{free_port()}"
    monkeypatch.setenv(
        RELEASE, str(tmp_path / "release")
    )  # this scheduler's worker: its WAIT ones stay in flight
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "distributed.cli.dask_scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            address.rsplit(":", 1)[1],
            "--no-dashboard",
        ],
        **quiet,
    )
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "distributed.cli.dask_worker",
            address,
            "--nthreads",
            "1",
            "--no-dashboard",
        ],
        **quiet,
    )
    students = {
        "s00": "GOOD",
        **{f"s{i:02d}": "WAIT" for i in range(1, 6)},
    }  # the rest wait: in flight
    subs, out = make(tmp_path / "subs", **students), tmp_path / "out"
    monkeypatch.setenv("GRADER_BATCH_ENGINE", ENGINE)
    # the command's run_batch, killing the scheduler once the first record is written
    real = batch.run_batch
    monkeypatch.setattr(
        batch, "run_batch", lambda *a, **kw: real(*a, **kw, on_record=lambda r: scheduler.kill())
    )
    try:
        code = run_batch_command(subs, out, progress=False, similarity=False, cluster=address)
    finally:
        (tmp_path / "release").touch()  # the killed worker's slots finish and go
        for proc in (scheduler, worker):
            proc.kill()
            proc.wait(timeout=60)
    err = " ".join(capsys.readouterr().err.split())
    assert code == 3, err
    done = written(out)
    assert re.search(
        rf"error: lost the Dask scheduler at {address}: {len(done)} of 6 graded \(\w+\); what was "
        rf"graded is written to {re.escape(str(out))}/: run the same command again",
        err,
    ), err
    assert 1 <= len(done) < 6
    monkeypatch.undo()
    release.touch()
    options = stand_in()
    again = batch.run_batch(subs, out, options, progress=False, engine=on(dask, options))
    assert sorted(again.reused) == done and sorted(again.graded) == sorted(
        set(students) - set(done)
    )


# --------------------------------------------------------------------------- the command line


def test_the_grader_batch_command_grades_on_a_local_cluster(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from grader.instructor import main

    monkeypatch.setenv("GRADER_BATCH_ENGINE", ENGINE)
    monkeypatch.setenv(
        "PYTHONPATH",
        os.pathsep.join([str(HERE), str(HERE.parents[1]), os.environ.get("PYTHONPATH", "")]),
    )
    subs = make(tmp_path / "subs", alice="GOOD", bob="BAD", carol="GOOD")
    result = CliRunner().invoke(
        main,
        [
            "batch",
            str(subs),
            "--out",
            str(tmp_path / "out"),
            "--cluster",
            "local:2",
            "--lms",
            "canvas",
            "--no-similarity",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert re.search(
        r"3 graded now, .* on a 2-worker Dask cluster at tcp://127\.0\.0\.1:\d+\)",
        " ".join(result.output.split()),
    ), result.output
    assert (tmp_path / "out" / "lms-canvas.csv").is_file()


@pytest.mark.parametrize(
    "args,message",
    [
        (["--cluster", "local:0"], "local:N needs a number of workers"),
        (["--cluster", "http://host:8786"], "expected tcp://HOST:PORT, tls://HOST:PORT or local:N"),
        (
            ["--cluster", "tcp://host:8786", "--cluster-tls-ca", "{ca}"],
            "--cluster-tls-* need a tls:// address",
        ),
        (["--cluster", "tls://host:8786", "--cluster-tls-ca", "{ca}"], "go together"),
        (
            ["--cluster", "tls://host:8786"],
            "give --cluster-tls-ca, --cluster-tls-cert and --cluster-tls-key, or Dask's",
        ),
    ],
)
def test_a_cluster_address_that_cannot_work_is_a_usage_error(tmp_path, args, message):
    from click.testing import CliRunner

    from grader.batch.cli import batch_command

    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    result = CliRunner().invoke(
        batch_command,
        [
            str(make(tmp_path / "subs", alice="GOOD")),
            "--no-progress",
            *[a.format(ca=ca) for a in args],
        ],
    )
    assert result.exit_code == 2 and message in " ".join(result.output.split()), result.output


def test_an_unreachable_scheduler_is_one_clear_error(tmp_path, capsys):
    import dask.config

    address = f"tcp://127.0.0.1:{free_port()}"
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        code = run_batch_command(
            make(tmp_path / "subs", alice="GOOD"),
            tmp_path / "out",
            progress=False,
            similarity=False,
            cluster=address,
        )
    err = " ".join(capsys.readouterr().err.split())
    assert code == 3 and f"error: cannot reach the Dask scheduler at {address}" in err, err


# --------------------------------------------------------------------------- real grading


LORA_START = "    # BEGIN SOLUTION\n    config = LoraConfig("


def real_class(root: Path) -> Path:
    """A folder, a zip of a known-wrong version, a notebook without its train cell and a hostile submission."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    from mutants import REPO, copy_impl

    root.mkdir()
    copy_impl("solutions", root / "folder_ref")
    wrong = copy_impl(
        "solutions",
        root.parent / "maxlen",
        {"dataset.py": [("            max_length=self.question_max_length,\n", "")]},
    )
    with zipfile.ZipFile(root / "zip_maxlen.zip", "w") as zf:
        for path in sorted(wrong.glob("*.py")):
            zf.write(path, f"my-lab/{path.name}")
    notebook = new_notebook(
        cells=[new_markdown_cell("# Lab"), new_code_cell("!pip install -q peft")]
        + [
            new_code_cell(
                f"%%writefile {name}\n" + (REPO / "solutions" / name).read_text(encoding="utf-8")
            )
            for name in ("dataset.py", "lora.py", "predict.py")
        ]
    )  # no train.py cell: train scores 0, with the reason
    nbformat.write(notebook, str(root / "nb_no_train.ipynb"))
    hostile = "    import os\n    os._exit(3)\n"  # kills the process running the learner's code
    copy_impl("solutions", root / "hostile", {"lora.py": [(LORA_START, hostile + LORA_START)]})
    return root


def class_files(out: Path) -> dict[str, object]:
    """Everything a run wrote that a person reads, with its clock readings taken out."""
    files: dict[str, object] = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if not path.is_file() or rel.startswith(".work/"):
            continue
        text = path.read_text(encoding="utf-8-sig")
        if rel.endswith(".json"):
            files[rel] = untimed(json.loads(text))
        else:
            files[rel] = re.sub(r"\d{4}-\d\d-\d\dT[\d:]+\+00:00", "<time>", text)
    return files


def untimed(value):
    if isinstance(value, dict):
        return {
            k: untimed(v)
            for k, v in value.items()
            if k not in ("seconds", "graded_at", "execution_time", "generated")
        }
    if isinstance(value, list):
        return [untimed(v) for v in value]
    return value


@pytest.mark.slow
def test_a_class_grades_the_same_on_the_cluster_as_on_this_machine(tmp_path, dask, capsys):
    subs, out = real_class(tmp_path / "subs"), tmp_path / "out"
    common = dict(
        timeout=10,
        submission_timeout=120,
        cache_dir=str(CACHE),
        lms="moodle",
        progress=False,
        similarity_common_share=1,
    )
    assert run_batch_command(subs, out, jobs=2, **common) == 0, capsys.readouterr().err
    here = class_files(out)
    os.rename(
        out, tmp_path / "out-here"
    )  # the cluster writes to the same folder: the same paths in messages
    assert run_batch_command(subs, out, cluster=dask.scheduler.address, **common) == 0, (
        capsys.readouterr().err
    )
    err = " ".join(capsys.readouterr().err.split())
    assert "4 graded now" in err and "on a 2-worker Dask cluster" in err, err
    there = class_files(out)
    assert sorted(there) == sorted(here)
    for rel in here:
        assert there[rel] == here[rel], rel
    grades = {
        s: json.loads((out / "students" / f"{s}.json").read_text())["result"]["score"]
        for s in ("folder_ref", "zip_maxlen", "nb_no_train", "hostile")
    }
    assert (
        grades["folder_ref"] == 100 and grades["nb_no_train"] == 65 and grades["hostile"] == 85
    ), grades
    assert grades["zip_maxlen"] < 100
    assert (
        "crash:lora"
        in json.loads((out / "students" / "hostile.json").read_text())["result"]["flags"]
    )
    assert not any(dask.run(lambda: "torch" in sys.modules).values()), (
        "a Dask worker imported torch itself"
    )
