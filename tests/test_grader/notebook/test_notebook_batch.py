"""``grader batch`` over a class that hands in folders, zips and notebooks: each is graded, a notebook's
messages name its cells, a broken notebook fails with the reason, re-running a notebook re-grades nothing.
A stand-in engine grades by a word in dataset.py; the last test grades for real."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from grader import batch

from notebook_files import lab, save, writefile
from paths import CACHE

HERE = Path(__file__).resolve().parent
ENGINE = "test_notebook_batch:fake_engine"


class FakeEngine:
    """Grades dataset.py by a word: GOOD 25 points, BAD 0 with an error at the word's line; no file: load_error."""

    def __init__(self, options: dict):
        self.options = options

    def grade(self, folder: str) -> dict:
        path = Path(folder) / "dataset.py"
        if not path.is_file():
            summary = f"dataset.py cannot be loaded: {path}: missing."
            ex = {
                "score": 0,
                "max_score": 25,
                "status": "load_error",
                "summary": summary,
                "checks": [
                    {
                        "name": "dataset.item_shapes",
                        "title": "item shapes",
                        "score": 0,
                        "max_score": 25,
                        "passed": False,
                        "message": summary,
                        "hint": "",
                        "output": "",
                    }
                ],
            }
            return {
                "score": 0,
                "max_score": 25,
                "flags": ["load_error:dataset"],
                "lang": "en",
                "exercises": {"dataset": ex},
            }
        lines = path.read_text().splitlines()
        ok = any("GOOD" in line for line in lines)
        where = next((i for i, line in enumerate(lines, 1) if "BAD" in line), 1)
        check = {
            "name": "dataset.item_shapes",
            "title": "item shapes",
            "score": 25 if ok else 0,
            "max_score": 25,
            "passed": ok,
            "message": ""
            if ok
            else f"labels: got shape [1, 8], expected [8] (at {path}:{where} in f)",
            "hint": "" if ok else "squeeze the batch dimension",
            "output": "",
        }
        return {
            "score": check["score"],
            "max_score": 25,
            "flags": [],
            "lang": "en",
            "exercises": {
                "dataset": {
                    "score": check["score"],
                    "max_score": 25,
                    "status": "graded",
                    "summary": "",
                    "checks": [check],
                }
            },
        }

    def close(self) -> None:
        pass


def fake_engine(options: dict) -> FakeEngine:
    return FakeEngine(options)


@pytest.fixture()
def engine_on_path(monkeypatch):
    # the slots import this module, and with it the tests' helpers (tests/paths.py)
    path = [str(HERE), str(HERE.parents[1]), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(path))


def notebook(path: Path, *bodies: str, dataset: bool = True) -> Path:
    cells = [new_code_cell("!pip install -q peft")]
    if dataset:
        cells += [writefile("dataset.py", body, append=i > 0) for i, body in enumerate(bodies)]
    cells += [writefile("lora.py", "X = 1\n"), new_code_cell("print('experiment')")]
    return save(path, cells)


def zipped(archive: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return archive


def make_class(root: Path) -> Path:
    root.mkdir()
    (root / "alice").mkdir()
    (root / "alice" / "dataset.py").write_text("# GOOD\n")
    zipped(root / "bob.zip", {"dataset.py": b"# BAD\n"})
    notebook(root / "carol.ipynb", "# GOOD\n")
    notebook(root / "dave.ipynb", "import torch\n", "x = 1\n# BAD\n")  # BAD: line 2 of the -a cell
    (root / "erin").mkdir()
    notebook(root / "erin" / "lab.ipynb", "# GOOD\n")  # a folder holding the notebook alone
    zipped(
        root / "frank.zip",
        {"frank/lab.ipynb": notebook(root / "tmp.ipynb", "# GOOD\n").read_bytes()},
    )
    (root / "tmp.ipynb").unlink()
    (root / "gina.ipynb").write_text(notebook(root / "g.ipynb", "# GOOD\n").read_text()[:300])
    (root / "g.ipynb").unlink()
    notebook(root / "hank.ipynb", dataset=False)
    (root / "ivan").mkdir()  # two notebooks and no module: which one?
    notebook(root / "ivan" / "a.ipynb", "# GOOD\n")
    notebook(root / "ivan" / "b.ipynb", "# BAD\n")
    return root


def options(**kw) -> batch.BatchOptions:
    return batch.BatchOptions(engine=ENGINE, jobs=2, start_timeout=60, **kw)


def test_a_class_of_folders_zips_and_notebooks(tmp_path, engine_on_path):
    subs = make_class(tmp_path / "subs")
    out = tmp_path / "out"
    entries, _ = batch.discover(subs)
    assert {e.student: e.kind for e in entries} == {
        "alice": "folder",
        "bob": "zip",
        "carol": "notebook",
        "dave": "notebook",
        "erin": "folder",
        "frank": "zip",
        "gina": "notebook",
        "hank": "notebook",
        "ivan": "folder",
    }
    summary = batch.run_batch(subs, out, options(), progress=False)
    records = {r.student: r for r in summary.records}
    assert {s: r.score for s, r in records.items() if r.status == "graded"} == {
        "alice": 25,
        "bob": 0,
        "carol": 25,
        "dave": 0,
        "erin": 25,
        "frank": 25,
        "hank": 0,
    }
    assert sorted(summary.failed) == ["gina", "ivan"]
    assert records["gina"].reason.startswith(
        "gina.ipynb is not a readable notebook: its JSON breaks at line "
    )
    assert "or one notebook: it holds a.ipynb, b.ipynb" in records["ivan"].reason
    # a notebook's record holds the modules it wrote (what the similarity report reads)
    for student in ("carol", "dave", "erin", "frank", "hank"):
        folder = Path(records[student].folder)
        assert folder.is_relative_to(out / ".work" / "notebooks"), student
        assert (folder / "lora.py").read_text() == "X = 1\n"
    assert (
        Path(records["dave"].folder) / "dataset.py"
    ).read_text() == "import torch\nx = 1\n# BAD\n"
    # its messages name the notebook's cells and lines, on disk and in the learner's feedback
    dave = batch.load_record(out / "students" / "dave.json")
    message = dave.result["exercises"]["dataset"]["checks"][0]["message"]
    assert message == "labels: got shape [1, 8], expected [8] (at dave.ipynb cell 3, line 3 in f)"
    assert "dave.ipynb cell 3, line 3" in (out / "feedback" / "dave.md").read_text()
    hank = batch.load_record(out / "students" / "hank.json").result["exercises"]["dataset"]
    assert hank["status"] == "load_error"
    assert hank["summary"].startswith("hank.ipynb has no `%%writefile dataset.py` cell")
    assert "notebooks" not in json.dumps(hank)  # no work folder in what the learner reads


def test_running_the_notebook_again_grades_nothing_again(tmp_path, engine_on_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    path = notebook(subs / "carol.ipynb", "# GOOD\n")
    out = tmp_path / "out"
    assert batch.run_batch(subs, out, options(), progress=False).graded == ["carol"]
    nb = nbformat.read(str(path), as_version=4)
    for count, cell in enumerate(
        nb.cells, 1
    ):  # run top to bottom: new outputs and execution counts
        cell.execution_count = count
        cell.outputs = [
            nbformat.v4.new_output("stream", name="stdout", text="Overwriting dataset.py\n")
        ]
    nbformat.write(nb, str(path))
    again = batch.run_batch(subs, out, options(), progress=False)
    assert again.reused == ["carol"] and not again.graded
    assert (Path(again.records[0].folder) / "dataset.py").is_file()
    nb.cells[1].source = "%%writefile dataset.py\n# BAD now\n"
    nbformat.write(nb, str(path))
    changed = batch.run_batch(subs, out, options(), progress=False)
    assert changed.graded == ["carol"] and changed.records[0].score == 0


@pytest.mark.slow
def test_a_mixed_class_graded_for_real(tmp_path):
    from mutants import copy_impl

    subs = tmp_path / "subs"
    subs.mkdir()
    copy_impl("solutions", subs / "folder_ref")
    stub = copy_impl("exercises", tmp_path / "stub")
    zipped(subs / "zip_stub.zip", {p.name: p.read_bytes() for p in stub.glob("*.py")})
    save(subs / "nb_ref.ipynb", lab("solutions"))
    save(subs / "nb_broken.ipynb", lab("solutions", skip=("train.py",)))
    out = tmp_path / "out"
    summary = batch.run_batch(
        subs,
        out,
        batch.BatchOptions(jobs=2, sandbox="none", cache_dir=str(CACHE), submission_timeout=300),
        progress=False,
    )
    scores = {r.student: r.score for r in summary.records}
    assert scores == {"folder_ref": 100, "nb_broken": 65, "nb_ref": 100, "zip_stub": 0}, {
        r.student: r.reason for r in summary.records
    }
    train = next(r for r in summary.records if r.student == "nb_broken").result["exercises"][
        "train"
    ]
    assert train["status"] == "load_error"
    assert train["summary"].startswith("nb_broken.ipynb has no `%%writefile train.py` cell")
