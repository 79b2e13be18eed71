"""vqa.lab, the notebook's pipeline cells: the learner's files from the working folder, reloaded on every step,
and one kind line instead of a traceback for a stub, a missing file or an error in them."""

import shutil
import zipfile

import pytest

from vqa import data
from vqa.course import FILES
from vqa.impl import resolve_folder
from vqa.lab import GENERATED_FOLDER, Lab, fetch_data

SMALL = {"n_train": 32, "n_test": 8, "epochs": 1}


@pytest.fixture(autouse=True)
def _keep_grader_lang(monkeypatch):
    monkeypatch.setenv("GRADER_LANG", "en")  # Lab sets it for check(); restored after each test


def learner_folder(tmp_path, source):
    for name in FILES.values():
        shutil.copy(resolve_folder(source) / name, tmp_path / name)
    return tmp_path


def lines(capsys):
    return [line for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_with_the_stubs_every_step_says_what_to_fill_in_and_nothing_raises(tmp_path, capsys):
    lab = Lab(lang="en", folder=learner_folder(tmp_path, "exercises"), **SMALL)
    lab.data()
    assert lines(capsys)[0].startswith(f"data: {GENERATED_FOLDER} · 32 training records · 8 test items")
    lab.dataset()
    assert lines(capsys) == ["dataset.py is not implemented yet: fill in load_splits above and run its cell, "
                             "then this one again."]
    lab.lora()
    out = lines(capsys)
    assert out[0].startswith("held-out accuracy before fine-tuning: ")
    assert out[1:] == ["lora.py is not implemented yet: fill in build_lora_model above and run its cell, "
                       "then this one again."]
    lab.train()
    assert lines(capsys) == ["This step needs dataset.py, lora.py first: run the cells above once they work."]
    lab.predict()
    assert lines(capsys) == [
        "No fine-tuned model in save_model yet: predicting with the base model tiny-pretrained.",
        "predict.py is not implemented yet: fill in load_for_inference above and run its cell, then this one again."]
    assert lab.passed == {"data"}


def test_with_the_reference_every_step_gets_through(tmp_path, capsys):
    lab = Lab(lang="vi", folder=learner_folder(tmp_path, "solutions"), **SMALL)
    for step in (lab.data, lab.dataset, lab.lora, lab.train, lab.predict):
        assert step() is None  # a cell ending in a step shows only what it printed
    assert lab.passed == {"data", "dataset", "lora", "train", "predict"}
    out = capsys.readouterr().out
    assert "VQADataset[0]: input_ids [32] int64 · attention_mask [32] int64 · pixel_values [3, 48, 48]" in out
    assert "độ chính xác trên tập kiểm tra sau khi fine-tune" in out
    assert len(lab.history) == 1 and (tmp_path / "save_model" / "adapter_config.json").is_file()
    assert len(lab.predictions) == 8 and (tmp_path / "predictions.jsonl").is_file()


def test_an_edit_is_picked_up_when_the_step_runs_again_and_errors_name_the_learners_line(tmp_path, capsys):
    folder = learner_folder(tmp_path, "exercises")
    lab = Lab(lang="en", folder=folder, **SMALL)
    lab.data()
    reference = (resolve_folder("solutions") / "dataset.py").read_text()
    broken = reference.replace('json.loads(line) for line in handle', 'json.loads(line)["nothing"] for line in handle')
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
    assert lines(capsys)[-1] == "lora.py is not in this folder yet: run its %%writefile cells above, then this one again."
    Lab("tiny-pretrained", "IconDomainVQAData", lang="en", folder=folder).data()
    assert lines(capsys) == [f'No data folder IconDomainVQAData: set DATA = "generated" in the settings, or '
                             f"DATA_SOURCE to where the lab's data can be downloaded."]


def test_fetch_data_unpacks_the_labs_zip_from_its_subfolder(tmp_path):
    source = data.generate_dataset(tmp_path / "made", n_train=4, n_test=2, seed=1)
    archive = tmp_path / "IconDomainVQAData.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in source.rglob("*"):
            handle.write(path, "IconDomainVQAData/" + str(path.relative_to(source)))
    folder = fetch_data(tmp_path / "work" / "IconDomainVQAData", archive.as_uri())
    assert len(data.read_records(folder)) == 4 and len(data.read_test_items(folder)) == 2
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["IconDomainVQAData"]


def test_fetch_data_refuses_paths_outside_its_folder(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("../outside.txt", "x")
    with pytest.raises(data.DataError, match="outside"):
        fetch_data(tmp_path / "work" / "d", archive.as_uri())
    assert not (tmp_path / "work" / "outside.txt").exists()


def test_a_return_value_the_next_step_cannot_use_stops_the_step_with_one_line(tmp_path, capsys):
    folder = learner_folder(tmp_path, "solutions")
    text = (folder / "dataset.py").read_text()
    (folder / "dataset.py").write_text(text.replace("    return train, valid\n", "    return train\n"))
    lab = Lab(lang="en", folder=folder, **SMALL)
    lab.dataset()
    assert lines(capsys)[-1].startswith("This step stopped: ValueError: ")
    assert "dataset" not in lab.passed


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has CUDA")
def test_a_device_the_machine_lacks_is_one_line(tmp_path, capsys):
    Lab(lang="en", device="cuda", folder=learner_folder(tmp_path, "solutions"), **SMALL).lora()
    assert lines(capsys)[-1].startswith("The model cannot be loaded: --device cuda: this machine has no usable CUDA")
