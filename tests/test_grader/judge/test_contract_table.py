"""The contract table (tests/contract_table.py) covers every TODO sentence of the stubs, and each row's
known-wrong submission is one the defects test shows failing that row's check."""

from __future__ import annotations

import ast
import re

import pytest

from vqa import course

from contract_table import ROWS
from paths import ROOT
from test_grader_defects import DEFECTS

pytestmark = pytest.mark.slow  # grades many submissions end to end: `pytest -m "not slow"` skips it

VIETNAMESE = set("ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹđ")


def docstrings() -> dict[str, str]:
    """{"exercise.function": its docstring on one line} for every function and class of the stubs."""
    out = {}
    for exercise in course.EXERCISES:
        tree = ast.parse((ROOT / "exercises" / f"{exercise}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and ast.get_docstring(node):
                out[f"{exercise}.{node.name}"] = " ".join(ast.get_docstring(node).split())
    return out


def todo_sentences() -> list[tuple[str, str]]:
    """(exercise.function, sentence) for each English TODO sentence (clauses split at ';' and '. ')."""
    found = []
    for where, text in docstrings().items():
        for match in re.finditer(r"TODO: (.*?)(?= TODO: |$)", text):
            todo = match.group(1)
            if VIETNAMESE & set(todo):
                continue
            found += [(where, s) for s in re.split(r";\s+|\.\s+(?=[A-Z])", todo) if s.strip()]
    return found


def test_every_todo_sentence_has_a_row():
    assert len(todo_sentences()) >= 30
    missing = [
        (where, sentence)
        for where, sentence in todo_sentences()
        if not any(w == where and words in sentence for w, words, *_ in ROWS)
    ]
    assert not missing, "TODO sentences without a row in tests/contract_table.py:\n" + "\n".join(
        map(str, missing)
    )


def test_rows_quote_the_stubs():
    docs = docstrings()
    wrong = [(where, words) for where, words, *_ in ROWS if words not in docs.get(where, "")]
    assert not wrong, wrong


@pytest.mark.parametrize("row", ROWS, ids=[f"{r[0]}: {r[1][:40]}" for r in ROWS])
def test_row_names_a_check_and_a_wrong_submission(row):
    from grader.judge import messages

    where, words, check, mutant, note = row
    if check is None or mutant is None:
        assert note, f"{where} {words!r}: a row without a check or a mutant says why"
    if check is None:
        return
    assert check in messages.table()["checks"], f"unknown check {check}"
    assert check.split(".")[0] == where.split(".")[0]
    if mutant is not None:
        defects = {d[0]: d for d in DEFECTS}
        assert mutant in defects, (
            f"{mutant} is not in tests/test_grader/judge/test_grader_defects.py"
        )
        _, _, _, _, exercise, checks = defects[mutant]
        assert (
            f"{exercise}.{check.split('.', 1)[1]}" == check and check.split(".", 1)[1] in checks
        ), f"{mutant} is not shown failing {check}"


def test_rgb_conversion_is_the_processors_own(tiny_random_dir, small_data):
    """The rows that say leaving out .convert('RGB') is no mistake: BlipProcessor gives the same tensors."""
    import torch
    from PIL import Image
    from transformers import BlipProcessor

    from vqa.data import TRAIN_IMAGES

    processor = BlipProcessor.from_pretrained(tiny_random_dir)
    path = next((small_data / TRAIN_IMAGES).glob("*/image.png"))
    with Image.open(path) as image:
        assert image.mode == "RGBA"
        raw = processor(images=image, text="q", return_tensors="pt").pixel_values
        rgb = processor(images=image.convert("RGB"), text="q", return_tensors="pt").pixel_values
    assert torch.equal(raw, rgb)
