"""The icon-domain VQA data: a generator writing the seed's IconDomainVQAData layout, and checked readers.

Layout (the same as the real IconQA fill-in-the-blank download the lab uses)::

    DIR/train.jsonl                                        {"question", "answer", "pid", "ques_type", ...}
    DIR/train_fill_in_blank/train_fill_in_blank/<pid>/image.png
    DIR/test_data/test_data/<id>/data.json                 {"question", "id"}
    DIR/test_data/test_data/<id>/image.png
    DIR/test_answers.json                                  {id: answer}   (kept apart from the questions)
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from vqa import icons, vocab

TRAIN_FILE = "train.jsonl"
TRAIN_IMAGES = Path("train_fill_in_blank") / "train_fill_in_blank"
TEST_DIR = Path("test_data") / "test_data"
TEST_ANSWERS = "test_answers.json"


class DataError(ValueError):
    """Bad input data; the message names the file (and line or pid) to look at."""


@dataclass(frozen=True)
class Sample:
    question: str
    answer: str
    image: Image.Image


def make_sample(
    rng: random.Random,
    style: icons.Style,
    max_count: int = 6,
    multi_digit: float = 0.05,
    distractors: int = 3,
) -> Sample:
    """One question about one image: count the icons of one shape among up to ``distractors`` others."""
    target = rng.randrange(len(icons.SHAPE_NAMES))
    if rng.random() < multi_digit:
        count = rng.randint(10, 12)
    else:
        count = rng.randint(1, max_count)
    counts = {icons.SHAPE_NAMES[target]: count}
    capacity = icons.GRID**2 if count <= icons.GRID**2 else icons.BIG_GRID**2
    room = capacity - count
    others = [s for i, s in enumerate(icons.SHAPE_NAMES) if i != target]
    for _ in range(rng.randint(0, min(distractors, room))):
        other = rng.choice(others)
        counts[other] = counts.get(other, 0) + 1
    template = rng.choice(vocab.QUESTION_TEMPLATES)
    question = template.format(shape=vocab.SHAPES[target])
    return Sample(question=question, answer=str(count), image=icons.render(counts, style, rng))


def generate_dataset(
    out_dir: str | Path,
    n_train: int = 400,
    n_test: int = 100,
    seed: int = 0,
    style: str = "source",
    max_count: int = 6,
    multi_digit: float = 0.05,
    distractors: int = 3,
) -> Path:
    """Write a deterministic icon VQA data set in the IconDomainVQAData layout and return its folder."""
    if style not in icons.STYLES:
        raise ValueError(f"unknown style {style!r}; choose one of {', '.join(icons.STYLES)}")
    out = Path(out_dir)
    rng = random.Random(f"{seed}:{style}")
    look = icons.STYLES[style]
    (out / TRAIN_IMAGES).mkdir(parents=True, exist_ok=True)
    (out / TEST_DIR).mkdir(parents=True, exist_ok=True)
    pids = rng.sample(range(10_000, 99_999), n_train + n_test)
    lines = []
    for pid in pids[:n_train]:
        sample = make_sample(rng, look, max_count, multi_digit, distractors)
        folder = out / TRAIN_IMAGES / str(pid)
        folder.mkdir(exist_ok=True)
        sample.image.save(folder / "image.png")
        lines.append(
            json.dumps(
                {
                    "question": sample.question,
                    "answer": sample.answer,
                    "pid": str(pid),
                    "ques_type": "fill_in_blank",
                    "grade": "grade1",
                    "label": "counting",
                }
            )
        )
    (out / TRAIN_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    answers = {}
    for pid in pids[n_train:]:
        sample = make_sample(rng, look, max_count, multi_digit, distractors)
        folder = out / TEST_DIR / str(pid)
        folder.mkdir(exist_ok=True)
        sample.image.save(folder / "image.png")
        (folder / "data.json").write_text(
            json.dumps({"question": sample.question, "id": str(pid)}), encoding="utf-8"
        )
        answers[str(pid)] = sample.answer
    (out / TEST_ANSWERS).write_text(json.dumps(answers, indent=1, sort_keys=True), encoding="utf-8")
    return out


def read_records(data_dir: str | Path) -> list[dict]:
    """Read ``train.jsonl``: every line a JSON object with question, answer and pid, or a DataError naming the line."""
    path = Path(data_dir) / TRAIN_FILE
    if not path.is_file():
        raise DataError(
            f"{path}: not found. A data folder needs {TRAIN_FILE} (make one with `vqa data DIR`)."
        )
    records = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(
                    f"{path}:{number}: not valid JSON ({err.msg} at column {err.colno})"
                ) from None
            missing = [
                k
                for k in ("question", "answer", "pid")
                if not isinstance(record, dict) or k not in record
            ]
            if missing:
                raise DataError(f"{path}:{number}: missing {', '.join(missing)}")
            records.append(record)
    if not records:
        raise DataError(f"{path}: holds no records")
    return records


def check_image(path: Path, what: str) -> None:
    """Open and fully decode one image, or raise a DataError saying which item's image is missing or corrupt."""
    from PIL import UnidentifiedImageError

    if not path.is_file():
        raise DataError(f"{what}: image not found at {path}")
    try:
        with Image.open(path) as image:
            image.load()
    except (OSError, UnidentifiedImageError, SyntaxError) as err:
        raise DataError(f"{what}: image {path} cannot be read ({err})") from None


def check_train_images(data_dir: str | Path, records: list[dict]) -> None:
    """Check that every record's image exists and decodes."""
    root = Path(data_dir) / TRAIN_IMAGES
    for record in records:
        check_image(root / str(record["pid"]) / "image.png", f"pid {record['pid']}")


def read_test_items(data_dir: str | Path) -> dict[str, dict]:
    """The test split as {id: data.json contents}, checking each item's JSON and image."""
    root = Path(data_dir) / TEST_DIR
    if not root.is_dir():
        raise DataError(
            f"{root}: not found. A data folder for prediction needs {TEST_DIR}/<id>/data.json"
        )
    items = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        meta = folder / "data.json"
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(f"{meta}: not found") from None
        except json.JSONDecodeError as err:
            raise DataError(f"{meta}:{err.lineno}: not valid JSON ({err.msg})") from None
        if not isinstance(data, dict) or "question" not in data:
            raise DataError(f"{meta}: missing question")
        check_image(folder / "image.png", f"test item {folder.name}")
        items[folder.name] = data
    return items


def read_test_answers(data_dir: str | Path) -> dict[str, str] | None:
    """The test answers when the folder has them (generated data does; a course's hidden split may not)."""
    path = Path(data_dir) / TEST_ANSWERS
    if not path.is_file():
        return None
    try:
        return {str(k): str(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
    except (json.JSONDecodeError, AttributeError) as err:
        raise DataError(f"{path}: not a JSON object of answers ({err})") from None
