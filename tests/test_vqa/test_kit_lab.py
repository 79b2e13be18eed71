"""vqa.lab, the notebook's pipeline cells: the learner's files from the working folder, reloaded on every step,
and one kind line instead of a traceback for a stub, a missing file or an error in them."""

import shutil

import pytest

from vqa import evaluate
from vqa.course import FILES
from vqa.impl import resolve_folder
from vqa.lab import GENERATED_FOLDER, Lab

SMALL = {"n_train": 32, "n_test": 8, "epochs": 1}


@pytest.fixture(autouse=True)
def _keep_grader_lang(monkeypatch):
    monkeypatch.setenv("GRADER_LANG", "en")  # Lab sets it for check(); restored after each test


def learner_folder(tmp_path, source):
    for name in FILES.values():
        shutil.copy(resolve_folder(source) / name, tmp_path / name)
    return tmp_path


def reference_with(tmp_path, file, edit):
    """The reference's four files in ``tmp_path``, ``file`` changed by ``edit`` (its text in, the new text out)."""
    folder = learner_folder(tmp_path, "solutions")
    (folder / file).write_text(edit((folder / file).read_text()))
    return folder


def lines(capsys):
    return [line for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_with_the_stubs_every_step_says_what_to_fill_in_and_nothing_raises(tmp_path, capsys):
    lab = Lab(lang="en", folder=learner_folder(tmp_path, "exercises"), **SMALL)
    lab.data()
    assert lines(capsys)[0].startswith(
        f"data: {GENERATED_FOLDER} · 32 training records · 8 test items"
    )
    lab.dataset()
    assert lines(capsys) == [
        "dataset.py is not implemented yet: fill in load_splits above and run its cell, then this one again."
    ]
    lab.lora()
    out = lines(capsys)
    assert out[0].startswith("held-out accuracy before fine-tuning: ")
    assert out[1:] == [
        "lora.py is not implemented yet: fill in build_lora_model above and run its cell, then this one again."
    ]
    lab.train()
    assert lines(capsys) == [
        "This step needs dataset.py, lora.py first: run the cells above once they work."
    ]
    lab.predict()
    assert lines(capsys) == [
        "No fine-tuned model in save_model yet: predicting with the base model tiny-pretrained.",
        "predict.py is not implemented yet: fill in load_for_inference above and run its cell, then this one again.",
    ]
    assert lab.passed == {"data"}


def test_with_the_reference_every_step_gets_through(tmp_path, capsys):
    lab = Lab(lang="vi", folder=learner_folder(tmp_path, "solutions"), **SMALL)
    for step in (lab.data, lab.dataset, lab.lora, lab.train, lab.predict):
        assert step() is None  # a cell ending in a step shows only what it printed
    assert lab.passed == {"data", "dataset", "lora", "train", "predict"}
    out = capsys.readouterr().out
    assert (
        "VQADataset[0]: input_ids [32] int64 · attention_mask [32] int64 · pixel_values [3, 48, 48]"
        in out
    )
    assert "độ chính xác trên tập kiểm tra sau khi fine-tune" in out
    assert len(lab.history) == 1 and (tmp_path / "save_model" / "adapter_config.json").is_file()
    assert len(lab.predictions) == 8 and (tmp_path / "predictions.jsonl").is_file()


def test_an_edit_is_picked_up_when_the_step_runs_again_and_errors_name_the_learners_line(
    tmp_path, capsys
):
    folder = learner_folder(tmp_path, "exercises")
    lab = Lab(lang="en", folder=folder, **SMALL)
    lab.data()
    reference = (resolve_folder("solutions") / "dataset.py").read_text()
    broken = reference.replace(
        "json.loads(line) for line in handle", 'json.loads(line)["nothing"] for line in handle'
    )
    (folder / "dataset.py").write_text(broken)
    capsys.readouterr()
    lab.dataset()
    (message,) = lines(capsys)
    assert message.startswith("dataset.py: load_splits raised KeyError: 'nothing' (dataset.py:")
    assert 'json.loads(line)["nothing"]' in message
    assert 'check("dataset") shows what is expected.' in message
    (folder / "dataset.py").write_text(reference)
    lab.dataset()
    assert "dataset" in lab.passed and lab.train_loader is not None


def test_a_missing_file_or_data_folder_is_one_line(tmp_path, capsys):
    folder = learner_folder(tmp_path, "solutions")
    (folder / "lora.py").unlink()
    lab = Lab(lang="en", folder=folder, **SMALL)
    lab.lora()
    assert (
        lines(capsys)[-1]
        == "lora.py is not in this folder yet: run its %%writefile cells above, then this one again."
    )
    Lab("tiny-pretrained", "IconDomainVQAData", lang="en", folder=folder).data()
    assert lines(capsys) == [
        'No data folder IconDomainVQAData: set DATA = "generated" in the settings, or '
        "DATA_SOURCE to where the lab's data can be downloaded."
    ]


def test_a_return_value_the_next_step_cannot_use_stops_the_step_with_one_line(tmp_path, capsys):
    folder = reference_with(
        tmp_path,
        "dataset.py",
        lambda text: text.replace("    return train, valid\n", "    return train\n"),
    )
    lab = Lab(lang="en", folder=folder, **SMALL)
    lab.dataset()
    last = lines(capsys)[-1]
    assert last.startswith("dataset.py: load_splits returned list [{")
    assert last.endswith(
        "; it should return two values, (train_records, valid_records): see its docstring."
    )
    assert "dataset" not in lab.passed


def test_an_error_of_the_kit_itself_is_raised_with_its_traceback_not_blamed_on_the_learner(
    tmp_path, capsys, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("a fault of the kit")

    monkeypatch.setattr(evaluate, "accuracy", broken)
    lab = Lab(lang="en", folder=learner_folder(tmp_path, "solutions"), **SMALL)
    with pytest.raises(RuntimeError, match="a fault of the kit") as info:
        lab.lora()
    assert any(frame.name == "broken" for frame in info.traceback)
    assert "docstring" not in capsys.readouterr().out and "lora" not in lab.passed


def test_an_error_raised_in_the_learners_code_under_the_kit_is_theirs(tmp_path, capsys):
    folder = reference_with(
        tmp_path,
        "dataset.py",
        lambda text: text + "\n\nVQADataset.__getitem__ = lambda self, idx: 1 / 0\n",
    )
    lab = Lab(lang="vi", folder=folder, **SMALL)
    lab.dataset()
    last = lines(capsys)[-1]
    assert last.startswith(
        "dataset.py: <lambda> gặp lỗi ZeroDivisionError: division by zero (dataset.py:"
    )
    assert last.endswith('check("dataset") cho biết kết quả mong đợi.')


def test_a_function_the_learner_renamed_or_changed_is_one_line(tmp_path, capsys):
    folder = reference_with(
        tmp_path, "lora.py", lambda text: text.replace("def build_lora_model(", "def build_model(")
    )
    lab = Lab(lang="en", folder=folder, **SMALL)
    lab.lora()
    last = lines(capsys)[-1]
    assert last.startswith("lora.py cannot be imported: ") and "missing build_lora_model" in last
    reference_with(
        tmp_path,
        "lora.py",
        lambda text: text.replace("def build_lora_model(", "def build_lora_model(x, "),
    )
    lab.lora()
    assert lines(capsys)[-1].startswith(
        "lora.py: build_lora_model cannot be called as the lab calls it ("
    )


def test_the_lab_speaks_the_project_languages_only(tmp_path):
    from catalog import CatalogError

    with pytest.raises(CatalogError, match="'fr'"):
        Lab(lang="fr", folder=tmp_path)


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has CUDA")
def test_a_device_the_machine_lacks_is_one_line(tmp_path, capsys):
    Lab(lang="en", device="cuda", folder=learner_folder(tmp_path, "solutions"), **SMALL).lora()
    assert lines(capsys)[-1].startswith(
        "The model cannot be loaded: --device cuda: this machine has no usable CUDA"
    )
