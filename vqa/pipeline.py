"""The seed's whole pipeline (data → dataset → LoRA → fit → saved folder → predict) with any implementation."""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vqa import data, evaluate, metrics, models, tiny
from vqa.files import cached_dir
from vqa.impl import Implementation

DEMO_DATA = {"n_train": 800, "n_test": 200, "seed": 3, "style": "shifted"}
TINY_DEFAULTS = {"epochs": 4, "lr": 3e-3, "batch_size": 8}
REAL_DEFAULTS = {"epochs": 1, "lr": 4e-5, "batch_size": 8}  # the seed's settings for blip-vqa-base


class StudentCodeError(RuntimeError):
    """An implementation's function failed or is a stub; the message names the exercise and the line."""


@dataclass
class TrainReport:
    """What ``vqa train`` measured; written to ``<out>/metrics.json``."""

    impl: str
    model: str
    data: str
    device: str
    epochs: int
    lr: float
    batch_size: int
    before: dict | None = None
    after: dict | None = None
    history: list[dict] = field(default_factory=list)


def call_student(impl: Implementation, exercise: str, name: str, *args, **kwargs):
    """Call ``impl.<exercise>.<name>``; a stub or an error becomes a StudentCodeError saying where to look."""
    module = getattr(impl, exercise)
    try:
        return getattr(module, name)(*args, **kwargs)
    except NotImplementedError as err:
        raise StudentCodeError(f"Exercise {exercise} is not implemented yet: {err}") from None
    except Exception as err:
        frames = [
            f
            for f in traceback.extract_tb(err.__traceback__)
            if f.filename.startswith(str(impl.folder))
        ]
        where = (
            f" at {frames[-1].filename}:{frames[-1].lineno} ({frames[-1].line})" if frames else ""
        )
        raise StudentCodeError(
            f"{exercise}.{name} raised {type(err).__name__}: {err}{where}\n"
            f"Run `grade {impl.folder} --exercise {exercise} -v` for the checks and hints of this exercise."
        ) from err


def demo_data_dir() -> Path:
    """The generated shifted-style icon data the demo fine-tunes on (made once, cached)."""
    folder = tiny.cache_root() / f"demo-data-v{tiny.RECIPE_VERSION}"
    return cached_dir(
        folder, lambda tmp: data.generate_dataset(tmp, **DEMO_DATA), {"data": DEMO_DATA}
    )


def train(
    impl: Implementation,
    *,
    data_dir: str | None,
    model_name: str,
    out_dir: str | Path,
    device_name: str = "auto",
    epochs: int | None = None,
    lr: float | None = None,
    batch_size: int | None = None,
    load_in_8bit: bool = False,
    load_in_4bit: bool = False,
    seed: int = 0,
    echo: Callable[[str], None] = print,
) -> TrainReport:
    """Fine-tune ``model_name`` with LoRA using ``impl``; save the best adapter + processor to ``out_dir``."""
    import torch

    device = models.resolve_device(device_name)
    folder = Path(data_dir) if data_dir else demo_data_dir()
    records = data.read_records(folder)
    data.check_train_images(folder, records)
    model, processor, model_path = models.load_base(
        model_name, device, load_in_8bit=load_in_8bit, load_in_4bit=load_in_4bit
    )
    defaults = TINY_DEFAULTS if models.is_tiny(model_path) else REAL_DEFAULTS
    report = TrainReport(
        impl=str(impl.folder),
        model=model_path,
        data=str(folder),
        device=str(device),
        epochs=epochs or defaults["epochs"],
        lr=lr or defaults["lr"],
        batch_size=batch_size or defaults["batch_size"],
    )
    echo(f"model {model_path} · data {folder} ({len(records)} records) · device {device}")
    report.before = evaluate.accuracy(model, processor, folder, device, progress=True)
    if report.before:
        echo(f"held-out accuracy before fine-tuning: {format_score(report.before)}")

    torch.manual_seed(seed)
    train_records, valid_records = call_student(impl, "dataset", "load_splits", folder)
    image_dir = folder / data.TRAIN_IMAGES
    train_set = call_student(impl, "dataset", "VQADataset", train_records, processor, image_dir)
    valid_set = call_student(impl, "dataset", "VQADataset", valid_records, processor, image_dir)
    train_loader, valid_loader = call_student(
        impl,
        "dataset",
        "build_dataloaders",
        train_set,
        valid_set,
        batch_size=report.batch_size,
        seed=seed,
    )
    peft_model = call_student(impl, "lora", "build_lora_model", model)
    trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in peft_model.parameters())
    echo(f"LoRA: {trainable:,} trainable of {total:,} parameters ({100 * trainable / total:.2f}%)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report.history = call_student(
        impl,
        "train",
        "fit",
        peft_model,
        train_loader,
        valid_loader,
        str(out),
        device,
        epochs=report.epochs,
        lr=report.lr,
    )
    for row in report.history:
        echo(
            f"epoch {row['epoch']}: train loss {row['train_loss']:.4f} · valid loss {row['valid_loss']:.4f} · "
            f"lr {row['lr']:.2e}{' · saved' if row['saved'] else ''}"
        )
    processor.save_pretrained(out)
    if report.before is not None:
        best, best_processor = load_saved(out, device)
        report.after = evaluate.accuracy(best, best_processor, folder, device, progress=True)
        echo(f"held-out accuracy after fine-tuning:  {format_score(report.after)}")
    (out / "metrics.json").write_text(json.dumps(asdict(report), indent=2), encoding="utf-8")
    return report


def load_saved(model_dir: str | Path, device):
    """Load a folder the pipeline wrote (adapter + processor, or a full model) as predict.py should."""
    from transformers import BlipForQuestionAnswering, BlipProcessor

    folder = Path(model_dir)
    if not models.is_model_dir(folder):
        raise models.ModelError(
            f"{folder}: no saved model here (no adapter_config.json or config.json); "
            f"was the validation loss never improved, or is it the wrong folder?"
        )
    model = BlipForQuestionAnswering.from_pretrained(folder).to(device).eval()
    return model, BlipProcessor.from_pretrained(folder)


def predict(
    impl: Implementation,
    *,
    model_dir: str | Path,
    data_dir: str | Path,
    device_name: str = "auto",
    out_file: str | Path | None = None,
    echo: Callable[[str], None] = print,
) -> dict:
    """Answer the test split with ``impl``'s predict functions; score it when answers are known."""
    device = models.resolve_device(device_name)
    folder = Path(data_dir)
    data.read_test_items(folder)  # fails early, naming the broken item
    model, processor = call_student(impl, "predict", "load_for_inference", str(model_dir), device)
    predictions = call_student(
        impl, "predict", "predict_folder", model, processor, str(folder / data.TEST_DIR), device
    )
    if out_file:
        n = write_predictions(out_file, predictions)
        echo(f"wrote {n} predictions to {out_file}")
    answers = data.read_test_answers(folder)
    result = {"n": len(predictions)}
    if answers is not None:
        result.update(metrics.score(predictions, answers))
        echo(f"accuracy: {format_score(result)}")
    return result


def write_predictions(out_file: str | Path, predictions: dict) -> int:
    """``{"id", "answer"}`` per line, sorted by id (the file ``vqa predict --out`` writes); returns the count."""
    lines = [
        json.dumps({"id": k, "answer": v}, ensure_ascii=False)
        for k, v in sorted(dict(predictions).items())
    ]
    Path(out_file).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def format_score(score: dict) -> str:
    return f"{100 * score['exact']:.1f}% exact match, {100 * score['normalized']:.1f}% normalised (n={score['n']})"
