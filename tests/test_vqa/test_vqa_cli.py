"""The `vqa` command: the pipeline end to end, and plain errors for bad input."""

import json
import os
import subprocess
import sys

import pytest
import torch
from click.testing import CliRunner

from vqa import data
from vqa.cli import main

from mutants import copy_impl


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result


def test_data_command_writes_the_layout(tmp_path):
    result = run("data", tmp_path / "d", "--n", 12, "--n-test", 3)
    assert result.exit_code == 0, result.output
    assert len(data.read_records(tmp_path / "d")) == 12
    assert len(data.read_test_items(tmp_path / "d")) == 3


def test_train_and_predict_with_any_model_folder(tmp_path, small_data, tiny_random_dir):
    out = tmp_path / "model"
    result = run(
        "train",
        "--impl",
        "solutions",
        "--data",
        small_data,
        "--model",
        tiny_random_dir,
        "--epochs",
        2,
        "--out",
        out,
        "--device",
        "cpu",
    )
    assert result.exit_code == 0, result.output
    assert "held-out accuracy before" in result.output and "epoch 2:" in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["history"]) == 2 and metrics["after"]["n"] == 8
    assert (out / "adapter_config.json").is_file() and (out / "tokenizer_config.json").is_file()
    predictions = tmp_path / "p.jsonl"
    result = run(
        "predict", "--model-dir", out, "--data", small_data, "--out", predictions, "--device", "cpu"
    )
    assert result.exit_code == 0, result.output
    assert "accuracy:" in result.output
    assert len(predictions.read_text().splitlines()) == 8


def test_demo_defaults_show_learning(tmp_path):
    """`vqa train` with no data or model: generated shifted-style icons on tiny-pretrained, +15 points at least
    (`python bench/demo_gain.py` measures every seed 0-4)."""
    result = run("train", "--out", tmp_path / "demo", "--device", "cpu")
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "demo" / "metrics.json").read_text())
    assert metrics["after"]["exact"] >= metrics["before"]["exact"] + 0.15, metrics


def test_piped_output_is_a_short_log_without_progress_bars(tmp_path, small_data):
    env = {k: v for k, v in os.environ.items() if k != "TQDM_DISABLE"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "vqa.cli",
            "train",
            "--data",
            str(small_data),
            "--model",
            "tiny-random",
            "--epochs",
            "2",
            "--out",
            str(tmp_path / "o"),
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    log = proc.stdout + proc.stderr
    assert "\r" not in log and "it/s" not in log and "%|" not in log, log
    assert len(log.splitlines()) <= 10, log


def test_exercises_stop_at_the_first_stub_with_its_name(tmp_path, small_data, tiny_random_dir):
    result = run(
        "train",
        "--impl",
        "exercises",
        "--data",
        small_data,
        "--model",
        tiny_random_dir,
        "--out",
        tmp_path,
    )
    assert result.exit_code == 1
    assert (
        "Exercise dataset is not implemented yet" in result.output
        and "load_splits" in result.output
    )
    assert "Traceback" not in result.output


def test_a_learners_error_points_at_their_line(tmp_path, small_data, tiny_random_dir):
    folder = copy_impl(
        "solutions",
        tmp_path / "mine",
        {
            "dataset.py": [
                (
                    "        record = self.records[idx]\n",
                    "        record = self.records[idx]\n        1 / 0\n",
                )
            ]
        },
    )
    result = run(
        "train",
        "--impl",
        folder,
        "--data",
        small_data,
        "--model",
        tiny_random_dir,
        "--out",
        tmp_path / "o",
    )
    assert result.exit_code == 1
    assert "ZeroDivisionError" in result.output and "dataset.py:" in result.output
    assert "grade" in result.output  # points to the grader for hints


@pytest.mark.parametrize(
    "args, message",
    [
        (["--impl", "/no/such/folder"], "no such folder"),
        (["--data", "/no/such/data"], "train.jsonl: not found"),
        (["--model", "Salesforce/not-a-model"], "cannot download"),
    ],
)
def test_bad_input_gives_a_plain_error(args, message, tmp_path):
    result = run("train", *args, "--out", tmp_path)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_malformed_json_line_and_corrupt_image_are_named(tmp_path, tiny_random_dir):
    folder = data.generate_dataset(tmp_path / "d", n_train=4, n_test=1, seed=0)
    records = data.read_records(folder)
    (folder / data.TRAIN_IMAGES / records[2]["pid"] / "image.png").write_bytes(b"\x89PNG broken")
    result = run("train", "--data", folder, "--model", tiny_random_dir, "--out", tmp_path / "o")
    assert result.exit_code == 1 and f"pid {records[2]['pid']}" in result.output
    with open(folder / "train.jsonl", "a") as handle:
        handle.write("{not json\n")
    result = run("train", "--data", folder, "--model", tiny_random_dir, "--out", tmp_path / "o")
    assert result.exit_code == 1 and "train.jsonl:5: not valid JSON" in result.output


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu_is_refused_clearly(tmp_path):
    result = run("train", "--device", "cuda", "--out", tmp_path)
    assert result.exit_code == 1 and "no usable CUDA GPU" in result.output


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_quantised_loading_is_refused_without_cuda(tmp_path, tiny_random_dir, small_data):
    result = run(
        "train",
        "--model",
        tiny_random_dir,
        "--data",
        small_data,
        "--load-in-8bit",
        "--device",
        "cpu",
        "--out",
        tmp_path,
    )
    assert result.exit_code == 1 and "need a CUDA GPU" in result.output


def test_release_check_reports_sync_and_drift(tmp_path):
    assert run("release", "--check").exit_code == 0
    out = tmp_path / "ex"
    assert run("release", "--out", out, "--handout", tmp_path / "handout").exit_code == 0
    (out / "train.py").write_text("# edited by hand\n")
    result = run("release", "--check", "--out", out)
    assert result.exit_code == 1 and "train.py" in result.output
