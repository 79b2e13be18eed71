"""exercises/ is generated from solutions/, stays in sync, and every stub raises naming its exercise; the lab
notebooks' %%writefile cells hold exactly the solution and exercise files."""

import inspect
import shutil

import pytest

from vqa import nbfile, release
from vqa.course import EXERCISES, FILES
from vqa.impl import CONTRACT, load_implementation, resolve_folder


def test_exercises_are_in_sync_with_the_generator():
    stale = release.drift(resolve_folder("solutions"), resolve_folder("exercises"))
    assert stale == [], f"run `vqa release`: {stale} out of date"
    assert release.NOTEBOOK in release.render_exercises(resolve_folder("solutions"))


def test_the_solution_notebook_is_in_sync_with_the_solution_files():
    assert release.solution_drift(resolve_folder("solutions")) == [], (
        "run `vqa release`: solutions/lab.ipynb"
    )


def test_generated_exercises_hold_no_solution_code():
    for path in resolve_folder("exercises").glob("*.py"):
        text = path.read_text()
        assert release.BEGIN not in text and release.END not in text
    assert (
        "get_peft_model(model, config)\n"
        not in (resolve_folder("exercises") / "lora.py").read_text().split('"""')[-1]
    )


def _call_with_dummies(fn):
    params = [
        p for p in inspect.signature(fn).parameters.values() if p.default is inspect.Parameter.empty
    ]
    return fn(*[None] * len(params))


@pytest.mark.parametrize("exercise", list(CONTRACT))
def test_every_stub_raises_not_implemented_naming_the_exercise(exercise):
    module = getattr(load_implementation("exercises"), exercise)
    for name in CONTRACT[exercise]:
        obj = getattr(module, name)
        targets = [obj] if not inspect.isclass(obj) else [obj.__init__]
        for target in targets:
            with pytest.raises(
                NotImplementedError, match=f"Exercise {exercise}:.*Bài tập {exercise}"
            ):
                _call_with_dummies(target)
    if exercise == "dataset":
        for method in ("__len__", "__getitem__"):
            fn = getattr(module.VQADataset, method)
            with pytest.raises(NotImplementedError, match=f"VQADataset.{method}"):
                _call_with_dummies(fn)


def test_stub_keeps_signature_and_docstring_of_the_reference():
    ref, ex = load_implementation("solutions"), load_implementation("exercises")
    for exercise, names in CONTRACT.items():
        for name in names:
            a, b = getattr(getattr(ref, exercise), name), getattr(getattr(ex, exercise), name)
            assert inspect.signature(a) == inspect.signature(b)
            assert inspect.getdoc(a) == inspect.getdoc(b)


def test_handout_has_stubs_notebook_and_readme_but_no_solutions(tmp_path):
    out = release.write_handout(resolve_folder("solutions"), tmp_path / "handout")
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["README.md", release.NOTEBOOK, *FILES.values()])
    assert "grade ." in (out / "README.md").read_text()
    assert "NotImplementedError" in (out / "train.py").read_text()
    notebook_files = nbfile.files_of(nbfile.reads((out / release.NOTEBOOK).read_text()))
    assert notebook_files == {name: (out / name).read_text() for name in FILES.values()}


def test_unbalanced_markers_are_reported_with_the_line():
    with pytest.raises(release.ReleaseError, match=r"x.py:2: # BEGIN SOLUTION never closed"):
        release.stub_source("def f():\n    # BEGIN SOLUTION\n    return 1\n", "lora", "x.py")
    with pytest.raises(release.ReleaseError, match=r"x.py:2: # END SOLUTION without"):
        release.stub_source("def f():\n    # END SOLUTION\n", "lora", "x.py")


# ---------------------------------------------------------------------------- the lab notebooks


def _notebook(folder):
    return nbfile.reads((resolve_folder(folder) / release.NOTEBOOK).read_text(encoding="utf-8"))


@pytest.mark.parametrize("folder", ["solutions", "exercises"])
def test_each_notebook_writes_exactly_its_folders_files(folder):
    written = nbfile.files_of(_notebook(folder))
    assert written == {
        name: (resolve_folder(folder) / name).read_text(encoding="utf-8") for name in FILES.values()
    }


def test_the_exercise_notebook_differs_only_inside_writefile_cells():
    solution, exercise = _notebook("solutions"), _notebook("exercises")
    assert len(solution.cells) == len(exercise.cells)
    stubbed = 0
    for a, b in zip(solution.cells, exercise.cells):
        if nbfile.writefile_target(a):
            assert a.source.split("\n", 1)[0] == b.source.split("\n", 1)[0]
            stubbed += a.source != b.source
        else:
            assert a == b
    assert stubbed >= len(EXERCISES)
    assert all(release.BEGIN not in c.source for c in exercise.cells)


@pytest.mark.parametrize("folder", ["solutions", "exercises"])
def test_notebooks_are_stored_clean(folder):
    text = (resolve_folder(folder) / release.NOTEBOOK).read_text(encoding="utf-8")
    nb = nbfile.reads(text)
    assert (nb.nbformat, nb.metadata.kernelspec.name, nb.metadata.kernelspec.language) == (
        4,
        "python3",
        "python",
    )
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert nbfile.writes(nb) == text  # the stable form: writing it again changes nothing


def test_each_exercise_is_followed_by_its_check_cell_and_the_notebook_ends_with_all_of_them():
    cells = _notebook("exercises").cells
    checks = [c.source for c in cells if "check" in c.metadata.get("tags", [])]
    assert checks == [f'from grader.notebook import check\ncheck("{e}")' for e in EXERCISES] + [
        "from grader.notebook import check\ncheck()"
    ]
    for exercise in EXERCISES:
        last_writefile = max(
            i
            for i, c in enumerate(cells)
            if (nbfile.writefile_target(c) or ("",))[0] == FILES[exercise]
        )
        following = next(c for c in cells[last_writefile + 1 :] if c.cell_type == "code")
        assert following.source.endswith(f'check("{exercise}")')


def test_the_set_up_cell_installs_the_one_install_target():
    for folder in ("solutions", "exercises"):
        setup = next(c for c in _notebook(folder).cells if "setup" in c.metadata.get("tags", []))
        assert f'INSTALL_TARGET = "{nbfile.INSTALL_TARGET}"' in setup.source
        assert "%pip install" in setup.source and "except ImportError:" in setup.source


def _copy_solutions(tmp_path):
    root = tmp_path / "solutions"
    shutil.copytree(resolve_folder("solutions"), root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_release_refills_the_solution_notebook_after_an_edit_and_check_reports_it(tmp_path):
    root = _copy_solutions(tmp_path)
    path = root / "lora.py"
    path.write_text(
        path.read_text().replace(
            "    return get_peft_model(model, config)\n",
            "    peft_model = get_peft_model(model, config)\n    return peft_model\n",
        )
    )
    assert release.solution_drift(root) == [release.NOTEBOOK]
    assert release.sync_solution_notebook(root) == root / release.NOTEBOOK
    assert release.solution_drift(root) == [] and release.sync_solution_notebook(root) is None
    assert (
        nbfile.files_of(nbfile.reads((root / release.NOTEBOOK).read_text()))["lora.py"]
        == path.read_text()
    )
    exercise = nbfile.reads(release.render_exercises(root)[release.NOTEBOOK])
    assert "peft_model = " not in nbfile.files_of(exercise)["lora.py"]


def test_a_cell_split_survives_edits_of_the_file_and_fails_plainly_when_its_line_is_gone(tmp_path):
    root = _copy_solutions(tmp_path)
    path = root / "dataset.py"
    path.write_text(
        path.read_text().replace("import random\n", "import random\nimport math  # new\n")
    )
    nb = nbfile.reads(release.render_solution_notebook(root))
    cells = [c for c in nb.cells if (nbfile.writefile_target(c) or ("",))[0] == "dataset.py"]
    assert "import math  # new" in cells[0].source
    assert cells[1].source.startswith("%%writefile -a dataset.py\n\n\ndef load_splits(")
    path.write_text(path.read_text().replace("def load_splits(", "def read_splits("))
    with pytest.raises(
        release.ReleaseError, match=r"lab.ipynb: dataset.py: no line 'def load_splits"
    ):
        release.render_solution_notebook(root)


def test_split_gives_the_blank_lines_above_an_anchor_to_its_cell():
    text = "a = 1\n\n\ndef f():\n    pass\n\ndef g():\n    pass\n"
    parts = nbfile.split(text, ["def f():", "def g():"])
    assert parts == ["a = 1\n", "\n\ndef f():\n    pass\n", "\ndef g():\n    pass\n"]
    assert "".join(parts) == text


def test_a_file_the_notebook_cannot_hold_exactly_is_refused(tmp_path):
    root = _copy_solutions(tmp_path)
    path = root / "train.py"
    path.write_text(path.read_text().replace("import contextlib\n", "import contextlib\n    \n"))
    with pytest.raises(release.ReleaseError, match=r"train.py:\d+: a line of only spaces"):
        release.render_solution_notebook(root)


def test_a_notebook_saved_by_jupyter_with_outputs_is_cleaned_back_to_the_stored_form(tmp_path):
    import nbformat

    root = _copy_solutions(tmp_path)
    path = root / release.NOTEBOOK
    clean_text = path.read_text()
    nb = nbformat.reads(clean_text, as_version=4)
    nb.nbformat_minor = 5
    for n, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{n}"
        if cell.cell_type == "code":
            cell.execution_count = n
            cell.outputs = [
                nbformat.v4.new_output("stream", name="stdout", text="Writing dataset.py\n")
            ]
    cell.metadata["collapsed"] = True
    nbformat.write(nb, path)
    assert release.solution_drift(root) == [release.NOTEBOOK]
    release.sync_solution_notebook(root)
    assert path.read_text() == clean_text


def test_the_stub_says_what_to_write_in_the_learners_language():
    from vqa.course import stub_message, stub_task

    en, vi = stub_message("dataset", "VQADataset.__init__")
    raised = f"NotImplementedError: {en}{vi}"
    assert stub_task(raised) == "write VQADataset.__init__"
    assert stub_task(raised, "vi") == "hãy viết VQADataset.__init__"
    assert stub_task("something else", "vi") == "something else"
