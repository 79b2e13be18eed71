"""The icon data generator writes the seed's layout deterministically; readers name what is broken."""

import json
import re

import pytest
from PIL import Image

from vqa import data


def _files(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_layout_matches_the_seed(small_data):
    records = data.read_records(small_data)
    assert len(records) == 40
    for record in records:
        assert set(record) >= {"question", "answer", "pid", "ques_type"}
        assert isinstance(record["answer"], str)
        image = (
            small_data / "train_fill_in_blank" / "train_fill_in_blank" / record["pid"] / "image.png"
        )
        assert Image.open(image).mode == "RGBA"
    tests = sorted((small_data / "test_data" / "test_data").iterdir())
    assert len(tests) == 8
    meta = json.loads((tests[0] / "data.json").read_text())
    assert meta["id"] == tests[0].name and meta["question"].startswith("How many")
    answers = json.loads((small_data / "test_answers.json").read_text())
    assert set(answers) == {t.name for t in tests}


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    a = data.generate_dataset(tmp_path / "a", n_train=10, n_test=3, seed=1)
    b = data.generate_dataset(tmp_path / "b", n_train=10, n_test=3, seed=1)
    c = data.generate_dataset(tmp_path / "c", n_train=10, n_test=3, seed=2)
    assert _files(a) == _files(b)
    assert _files(a) != _files(c)


def test_questions_and_answers_look_like_iconqa_counting(tmp_path):
    folder = data.generate_dataset(tmp_path, n_train=300, n_test=0, seed=0)
    records = data.read_records(folder)
    assert all(
        re.fullmatch(r"How many \w+ (are there|are shown|are in the picture)\?", r["question"])
        for r in records
    )
    answers = [int(r["answer"]) for r in records]
    assert min(answers) >= 1
    small = sum(a <= 6 for a in answers)
    assert small / len(answers) > 0.85  # mostly small integers …
    assert any(a >= 10 for a in answers)  # … and some multi-digit ones
    assert len({r["question"] for r in records}) > 10


def test_the_two_styles_look_different(tmp_path):
    src = data.generate_dataset(tmp_path / "s", n_train=1, n_test=0, seed=0, style="source")
    dst = data.generate_dataset(tmp_path / "d", n_train=1, n_test=0, seed=0, style="shifted")
    corner = lambda f: Image.open(next(f.rglob("image.png"))).getpixel((0, 0))
    assert corner(src) == (255, 255, 255, 255)
    assert corner(dst) == (0, 0, 0, 255)


def test_missing_train_file_says_how_to_make_one(tmp_path):
    with pytest.raises(data.DataError, match=r"train.jsonl: not found.*vqa data"):
        data.read_records(tmp_path)


def test_malformed_line_is_named_by_file_and_line(tmp_path):
    (tmp_path / "train.jsonl").write_text(
        '{"question": "q", "answer": "1", "pid": "1"}\n{"question": oops}\n'
    )
    with pytest.raises(data.DataError, match=r"train.jsonl:2: not valid JSON"):
        data.read_records(tmp_path)


def test_missing_keys_are_named(tmp_path):
    (tmp_path / "train.jsonl").write_text('{"question": "q", "pid": "1"}\n')
    with pytest.raises(data.DataError, match=r"train.jsonl:1: missing answer"):
        data.read_records(tmp_path)


def test_corrupt_and_missing_images_name_the_pid(tmp_path):
    folder = data.generate_dataset(tmp_path, n_train=3, n_test=0, seed=0)
    records = data.read_records(folder)
    image = folder / data.TRAIN_IMAGES / records[1]["pid"] / "image.png"
    image.write_bytes(b"not a png")
    with pytest.raises(data.DataError, match=f"pid {records[1]['pid']}: image .* cannot be read"):
        data.check_train_images(folder, records)
    image.unlink()
    with pytest.raises(data.DataError, match=f"pid {records[1]['pid']}: image not found"):
        data.check_train_images(folder, records)


def test_broken_test_item_is_named(tmp_path):
    folder = data.generate_dataset(tmp_path, n_train=1, n_test=2, seed=0)
    item = sorted((folder / data.TEST_DIR).iterdir())[0]
    (item / "data.json").write_text("{broken")
    with pytest.raises(data.DataError, match=f"{item.name}/data.json:1: not valid JSON"):
        data.read_test_items(folder)
