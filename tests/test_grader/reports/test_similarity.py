"""Similar submissions: copies are found even with names changed; the stub text and the class's common
passages never count; at a class's size only pairs sharing distinctive code are compared."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from grader.reports.similarity import find_similar

from paths import ROOT as REPO
from synthetic_class import build_class

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
        for old, new in (
            ("losses", "loss_history"),
            ("batch", "mb"),
            ("inputs", "feed"),
            ("records", "rows"),
            ("optimizer", "opt"),
            ("config", "cfg"),
        ):
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
    pairs = find_similar(folders).pairs
    top = pairs[0]
    assert (top.left, top.right) == ("alice", "bob")
    assert top.similarity >= 0.75
    assert {f.file for f in top.files} == {"dataset.py", "lora.py", "train.py", "predict.py"}
    left = top.files[0].left_html
    assert "<mark>" in left
    assert "<" not in re.sub(r"</?mark>", "", left), (
        "code must be HTML-escaped around the highlights"
    )
    assert "loss_history" in "".join(f.right_html for f in top.files)


def test_the_stub_text_is_boilerplate_and_own_code_is_not_a_copy(folders):
    pairs = find_similar(folders).pairs
    names = {n for p in pairs for n in (p.left, p.right)}
    assert not names & {"stub1", "stub2", "empty"}, "handing in the stub is not copying"
    assert not any("own" in (p.left, p.right) for p in pairs)
    assert len(pairs) == 1


def test_the_threshold_decides(folders):
    assert find_similar({k: folders[k] for k in ("alice", "bob")}, threshold=1.01).pairs == []


def test_a_passage_most_of_the_class_shares_is_common_knowledge(tmp_path):
    """Twelve hand in the same own lora.py: by default that is common knowledge (more than ten share it);
    counted as evidence (common_share=1), they form one cluster of twelve."""
    folders = {}
    for i in range(12):
        folder = copy("exercises", tmp_path / f"s{i:02d}")
        (folder / "lora.py").write_text(OWN_CODE)
        folders[f"s{i:02d}"] = folder
    assert find_similar(folders).pairs == []
    everything = find_similar(folders, common_share=1.0)
    assert len(everything.pairs) == 66
    assert [c.members for c in everything.clusters] == [sorted(folders)]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return build_class(
        tmp_path_factory.mktemp("class") / "subs", 200, seed=3, group_sizes=(2, 3, 4)
    )


def test_planted_copies_are_found_as_clusters_and_look_alikes_are_not(synthetic):
    result = find_similar(synthetic.folders)
    clusters = [set(c.members) for c in result.clusters]
    for group in synthetic.groups:
        assert set(group) in clusters, (group, clusters)
    assert max(len(c) for c in clusters) == 4, (
        "near-duplicates of the reference must not chain into one cluster"
    )
    assert result.candidates < 200 * 199 / 2 / 10, (
        "only pairs sharing distinctive code are compared"
    )
    assert all(p.cluster for p in result.pairs)


def test_only_the_top_pairs_carry_their_code(synthetic):
    result = find_similar(synthetic.folders, top=2)
    assert len(result.pairs) >= 4
    assert [bool(p.files) for p in result.pairs[:3]] == [True, True, False]
    assert len(result.shown()) == 2
    assert "code" not in result.pairs[3].to_dict(with_code=True)


def test_the_same_class_gives_the_same_pairs(synthetic):
    first, second = (
        find_similar(synthetic.folders),
        find_similar(dict(reversed(list(synthetic.folders.items())))),
    )
    assert [p.to_dict() for p in first.pairs] == [p.to_dict() for p in second.pairs]
