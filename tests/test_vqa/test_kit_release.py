"""exercises/ is generated from solutions/, stays in sync, and every stub raises naming its exercise."""

import inspect

import pytest

from vqa import release
from vqa.impl import CONTRACT, load_implementation, resolve_folder


def test_exercises_are_in_sync_with_the_generator():
    stale = release.drift(resolve_folder("solutions"), resolve_folder("exercises"))
    assert stale == [], f"run `vqa release`: {stale} out of date"


def test_generated_exercises_hold_no_solution_code():
    for path in resolve_folder("exercises").glob("*.py"):
        text = path.read_text()
        assert release.BEGIN not in text and release.END not in text
    assert "get_peft_model(model, config)\n" not in (resolve_folder("exercises") / "lora.py").read_text().split('"""')[-1]


def _call_with_dummies(fn):
    params = [p for p in inspect.signature(fn).parameters.values() if p.default is inspect.Parameter.empty]
    return fn(*[None] * len(params))


@pytest.mark.parametrize("exercise", list(CONTRACT))
def test_every_stub_raises_not_implemented_naming_the_exercise(exercise):
    module = getattr(load_implementation("exercises"), exercise)
    for name in CONTRACT[exercise]:
        obj = getattr(module, name)
        targets = [obj] if not inspect.isclass(obj) else [obj.__init__]
        for target in targets:
            with pytest.raises(NotImplementedError, match=f"Exercise {exercise}:.*Bài tập {exercise}"):
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


def test_handout_has_stubs_and_readme_but_no_solutions(tmp_path):
    out = release.write_handout(resolve_folder("solutions"), tmp_path / "handout")
    names = sorted(p.name for p in out.iterdir())
    assert names == ["README.md", "dataset.py", "lora.py", "predict.py", "train.py"]
    assert "grade ." in (out / "README.md").read_text()
    assert "NotImplementedError" in (out / "train.py").read_text()


def test_unbalanced_markers_are_reported_with_the_line():
    with pytest.raises(release.ReleaseError, match=r"x.py:2: # BEGIN SOLUTION never closed"):
        release.stub_source("def f():\n    # BEGIN SOLUTION\n    return 1\n", "lora", "x.py")
    with pytest.raises(release.ReleaseError, match=r"x.py:2: # END SOLUTION without"):
        release.stub_source("def f():\n    # END SOLUTION\n", "lora", "x.py")
