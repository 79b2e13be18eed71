"""Both lab notebooks run top to bottom in a real Jupyter kernel (nbclient), CPU only, on the tiny model and a
small generated data set: the reference scores full marks in every check cell and its pipeline gets through;
the stubs show "not implemented" in every check cell, one kind line in every pipeline cell, and no error.

A check cell's result is read from what ``grader.notebook.check`` displays: the ``grade`` command's text
(text/plain), whose points line is ``Points X/Y`` (``Điểm X/Y`` in Vietnamese) and whose exercise line says
"not implemented yet" (``chưa làm``); the words come from the grader's own messages, not from this file.
The quiz is answered without a person: the reference run presses the form's button after ``select``, the
exercise run types the key into the text cell's MY_ANSWERS, as a learner without ipywidgets would.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from vqa.course import EXERCISES, FILES, POINTS, TOTAL_POINTS

from paths import ROOT

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

# appended to the settings cell: seconds, not minutes
QUICK = "N_TRAIN, N_TEST = 48, 8\nEPOCHS = 1\n"
TIMEOUT = 300  # per cell


@pytest.fixture(autouse=True)
def warm_service(monkeypatch):
    """The kernel's check() cells use its warm grading service, as a learner's do (it ends with the kernel)."""
    monkeypatch.delenv("GRADER_NO_SERVICE", raising=False)


def tagged(nb, tag: str) -> list:
    return [c for c in nb.cells if tag in c.metadata.get("tags", [])]


def run_notebook(
    folder: str, tmp_path: Path, *, settings: str = "", quiz: str = "", typed: str = ""
):
    """Copy ``<folder>/lab.ipynb`` into tmp_path, adjust it as a learner would, and execute it there."""
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / folder / "lab.ipynb", as_version=4)
    (cell,) = tagged(nb, "settings")
    cell.source += "\n" + QUICK + settings
    if typed:
        (cell,) = tagged(nb, "quiz-text")
        cell.source = cell.source.replace('MY_ANSWERS = ""', f"MY_ANSWERS = {typed!r}")
    if quiz:
        index = nb.cells.index(tagged(nb, "quiz")[0])
        nb.cells.insert(index + 1, nbformat.v4.new_code_cell(quiz, metadata={"tags": ["test"]}))
    path = tmp_path / "lab.ipynb"
    nbformat.write(nb, path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    return nb


def text_of(cell) -> str:
    """What a reader sees of a cell as text: its streams and the text/plain of its displays."""
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("display_data", "execute_result"):
            parts.append(out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def errors(nb) -> list[str]:
    found = []
    for n, cell in enumerate(nb.cells, 1):
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                found.append(f"cell {n}: {out.ename}: {out.evalue}")
            elif out.output_type == "stream" and "Traceback" in out.text:
                found.append(f"cell {n}: {out.text[-500:]}")
    return found


def points(cell, lang: str) -> tuple[float, float]:
    """The ``Points X/Y`` line of the one result a check cell displays (an HTML table with its text beside it)."""
    from grader.judge.messages import message

    shown = [
        out
        for out in cell.get("outputs", [])
        if out.output_type in ("display_data", "execute_result")
    ]
    assert len(shown) == 1 and not any(
        out.output_type == "stream" for out in cell.get("outputs", [])
    ), f"a check cell shows its result once, as a display: {cell.get('outputs')}"
    data = shown[0].get("data", {})
    assert "<table" in data.get("text/html", "")
    found = re.findall(
        rf"^{re.escape(message('points', lang))} ([\d.]+)/([\d.]+)\s*$",
        data.get("text/plain", ""),
        re.MULTILINE,
    )
    assert found, f"no points line in the check cell's output:\n{text_of(cell)[-2000:]}"
    return float(found[-1][0]), float(found[-1][1])


def quiz_key() -> str:
    from quiz.bank import load_bank

    return " ".join(f"{n}{q.seed_letter(q.answer)}" for n, q in enumerate(load_bank().questions, 1))


def nothing_was_installed(nb) -> bool:
    (setup,) = tagged(nb, "setup")
    return "pip" not in text_of(setup).lower()


@pytest.mark.slow
def test_the_solution_notebook_runs_with_full_marks_and_its_pipeline_gets_through(tmp_path):
    probe = (
        f"quiz_form.select({quiz_key()!r})\nquiz_form.button.click()\n"
        "print('quiz', quiz_form.attempt.total, quiz_form.attempt.max_score)"
    )
    nb = run_notebook("solutions", tmp_path, settings='LANG = "en"\n', quiz=probe)
    assert errors(nb) == []
    assert nothing_was_installed(nb)
    checks = tagged(nb, "check")
    assert [points(c, "en") for c in checks] == [(POINTS[e], POINTS[e]) for e in EXERCISES] + [
        (TOTAL_POINTS, TOTAL_POINTS)
    ]
    pipeline = "\n".join(text_of(c) for c in tagged(nb, "pipeline"))
    assert "VQADataset[0]: input_ids [32] int64" in pipeline
    assert re.search(
        r"epoch 1: train loss [\d.]+ · valid loss [\d.]+ · lr 3\.00e-03 · saved", pipeline
    )
    assert (
        "held-out accuracy after fine-tuning" in pipeline
        and "predict_folder: 8 answers" in pipeline
    )
    for exercise in EXERCISES:  # the kernel wrote exactly the reference files
        assert (tmp_path / FILES[exercise]).read_text() == (
            ROOT / "solutions" / FILES[exercise]
        ).read_text()
    assert "quiz 10 10" in text_of(tagged(nb, "test")[0])
    assert json.loads((tmp_path / "quiz-attempt.json").read_text())["total"] == 10


@pytest.mark.slow
def test_the_exercise_notebook_runs_and_says_what_is_not_implemented_without_an_error(tmp_path):
    from grader.judge.messages import message
    from quiz import messages as quiz_messages

    nb = run_notebook(
        "exercises", tmp_path, typed=quiz_key()
    )  # LANG stays "vi", the notebook's default
    assert errors(nb) == []
    assert nothing_was_installed(nb)
    not_implemented = message("not_implemented", "vi")
    checks = tagged(nb, "check")
    for exercise, cell in zip(EXERCISES, checks):
        assert points(cell, "vi") == (0, POINTS[exercise])
        assert re.search(
            rf"✘ {exercise} 0/{POINTS[exercise]}\s+{re.escape(not_implemented)}", text_of(cell)
        )
    final = text_of(checks[-1])
    assert points(checks[-1], "vi") == (0, TOTAL_POINTS)
    assert all(re.search(rf"✘ {e} 0/\d+\s+{re.escape(not_implemented)}", final) for e in EXERCISES)
    for cell in tagged(nb, "pipeline")[
        1:
    ]:  # after the data cell, each step says in one line what to do first
        said = [line for line in text_of(cell).splitlines() if "ở trên" in line]
        assert len(said) == 1, text_of(cell)
    for exercise in EXERCISES:  # the kernel wrote exactly the stubs
        assert (tmp_path / FILES[exercise]).read_text() == (
            ROOT / "exercises" / FILES[exercise]
        ).read_text()
    assert quiz_messages.message("score", "vi", score=10, total=10) in text_of(
        tagged(nb, "quiz-text")[0]
    )
