"""Similar submissions: copies are found even with names changed; the stub text never counts."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

from grader.reports.similarity import SimilarityUnavailable, find_similar

REPO = Path(__file__).resolve().parents[3]

OWN_CODE = '''
def build_lora_model(model, r=16, lora_alpha=32, lora_dropout=0.05, target_modules=("query", "key")):
    """My own take."""
    import peft
    chosen = []
    for module_name in target_modules:
        if module_name not in chosen:
            chosen.append(module_name)
    settings = {"r": r, "lora_alpha": lora_alpha, "lora_dropout": lora_dropout}
    settings["bias"] = "none"
    settings["target_modules"] = chosen
    wrapped = peft.get_peft_model(model, peft.LoraConfig(**settings))
    total, trainable = 0, 0
    for name, weight in wrapped.named_parameters():
        total += weight.numel()
        if "lora_" in name:
            trainable += weight.numel()
        else:
            weight.requires_grad_(False)
    print(f"{trainable} of {total} weights will learn ({100 * trainable / max(total, 1):.2f}%)")
    while trainable > total:
        trainable //= 2
    return wrapped
'''


def copy(src: str, dest: Path) -> Path:
    shutil.copytree(REPO / src, dest, ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))
    return dest


def disguise(folder: Path) -> Path:
    """Rename variables, add comments and blank lines: what a copier does."""
    for path in folder.glob("*.py"):
        text = path.read_text()
        for old, new in (("losses", "loss_history"), ("batch", "mb"), ("inputs", "feed"), ("records", "rows"),
                         ("optimizer", "opt"), ("config", "cfg")):
            text = re.sub(rf"\b{old}\b", new, text)
        text = text.replace("\n\n\n", "\n\n# my own helper section\n\n")
        path.write_text(text)
    return folder


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("sim")
    own = copy("exercises", root / "own")
    (own / "lora.py").write_text(OWN_CODE)
    (root / "empty").mkdir()
    return {
        "alice": copy("solutions", root / "alice"),
        "bob": disguise(copy("solutions", root / "bob")),
        "stub1": copy("exercises", root / "stub1"),
        "stub2": copy("exercises", root / "stub2"),
        "own": own,
        "empty": root / "empty",
    }


def test_a_disguised_copy_is_found_and_shown_side_by_side(folders):
    pairs = find_similar(folders)
    top = pairs[0]
    assert (top.left, top.right) == ("alice", "bob")
    assert top.similarity >= 0.75
    assert {f.file for f in top.files} == {"dataset.py", "lora.py", "train.py", "predict.py"}
    left = top.files[0].left_html
    assert "<mark>" in left
    assert "<" not in re.sub(r"</?mark>", "", left), "code must be HTML-escaped around the highlights"
    assert "loss_history" in "".join(f.right_html for f in top.files)


def test_the_stub_text_is_boilerplate_and_own_code_is_not_a_copy(folders):
    pairs = find_similar(folders)
    names = {n for p in pairs for n in (p.left, p.right)}
    assert not names & {"stub1", "stub2", "empty"}, "handing in the stub is not copying"
    assert not any("own" in (p.left, p.right) for p in pairs)
    assert len(pairs) == 1


def test_the_threshold_decides(folders):
    assert find_similar({k: folders[k] for k in ("alice", "bob")}, threshold=1.01) == []


def test_without_copydetect_the_report_says_why(folders, monkeypatch):
    monkeypatch.setitem(sys.modules, "copydetect", None)
    with pytest.raises(SimilarityUnavailable, match="pip install copydetect"):
        find_similar(folders)
