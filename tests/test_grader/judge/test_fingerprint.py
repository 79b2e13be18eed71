"""One fingerprint decides both the reference cache and the batch's re-use: a change of the fixtures in the
course kit (not only of the grader's code) computes the reference again and grades every submission again."""

from __future__ import annotations

import shutil

from grader.batch.fingerprint import grader_fingerprint
from grader.judge import reference
from vqa import course


def test_the_batch_and_the_reference_cache_share_one_fingerprint():
    assert grader_fingerprint() == reference.fingerprint()[:16]
    assert reference.cache_key("cpu", reference.reference_dir()) != reference.cache_key(
        "cuda", reference.reference_dir()
    )


def test_a_fixture_change_in_the_kit_changes_the_fingerprint(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    shutil.copytree(course.ROOT / "vqa", repo / "vqa", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(course, "ROOT", repo)
    before = reference.fingerprint()
    assert reference.fingerprint() == before  # stable
    data = repo / "vqa" / "data.py"
    data.write_text(data.read_text() + "\n# another fixture\n")
    after_code = reference.fingerprint()
    assert after_code != before
    weights = next((repo / "vqa" / "models_data").rglob("model.safetensors"))
    weights.write_bytes(weights.read_bytes()[:-1] + b"\0")
    assert reference.fingerprint() != after_code  # the shipped tiny models count too


def test_a_check_change_changes_the_fingerprint(tmp_path, monkeypatch):
    grader = tmp_path / "grader"
    shutil.copytree(reference.GRADER_DIR, grader, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(reference, "GRADER_DIR", grader)
    before = reference.fingerprint()
    check = grader / "checks" / "test_lora.py"
    check.write_text(check.read_text() + "\n")
    assert reference.fingerprint() != before
