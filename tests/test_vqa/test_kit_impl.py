"""Loading an implementation from any folder, under a private name, with plain errors."""

import sys
import textwrap

import pytest

from vqa.impl import ImplementationError, load_exercise, load_implementation


def _write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(textwrap.dedent(text))


def test_loads_a_learners_folder_without_touching_sys_path(tmp_path):
    _write(tmp_path, "lora.py", "def build_lora_model(model, **kw):\n    return 'mine'\n")
    path_before = list(sys.path)
    module = load_exercise(tmp_path, "lora")
    assert module.build_lora_model(None) == "mine"
    assert sys.path == path_before
    assert module.__name__.startswith("_vqa_impl_") and "lora" not in sys.modules


def test_two_folders_do_not_share_modules(tmp_path):
    for tag in ("a", "b"):
        _write(
            tmp_path / tag, "lora.py", f"def build_lora_model(model, **kw):\n    return {tag!r}\n"
        )
    assert load_exercise(tmp_path / "a", "lora").build_lora_model(None) == "a"
    assert load_exercise(tmp_path / "b", "lora").build_lora_model(None) == "b"


def test_sibling_import_by_plain_name_works_and_stays_private(tmp_path):
    _write(tmp_path, "helpers.py", "VALUE = 41\n")
    _write(
        tmp_path,
        "lora.py",
        "import helpers\ndef build_lora_model(model, **kw):\n    return helpers.VALUE + 1\n",
    )
    assert load_exercise(tmp_path, "lora").build_lora_model(None) == 42
    assert "helpers" not in sys.modules


def test_missing_folder_file_and_function_are_named(tmp_path):
    with pytest.raises(ImplementationError, match="no such folder"):
        load_implementation(tmp_path / "nope")
    with pytest.raises(ImplementationError, match=r"train.py: missing"):
        load_exercise(tmp_path, "train")
    _write(tmp_path, "train.py", "def fit(*a):\n    pass\n")
    with pytest.raises(ImplementationError, match="missing train_one_epoch, evaluate"):
        load_exercise(tmp_path, "train")


def test_syntax_and_import_errors_give_file_and_line(tmp_path):
    _write(tmp_path, "lora.py", "def build_lora_model(:\n")
    with pytest.raises(ImplementationError, match=r"lora.py:1: syntax error"):
        load_exercise(tmp_path, "lora")
    _write(tmp_path / "x", "lora.py", "x = 1\nraise SystemExit(3)\n")
    with pytest.raises(ImplementationError, match=r"lora.py:2: importing it raised SystemExit"):
        load_exercise(tmp_path / "x", "lora")


def test_builtin_names_resolve_to_the_packaged_folders():
    impl = load_implementation("solutions")
    assert impl.folder.name == "solutions"
    assert callable(impl.train.fit)
