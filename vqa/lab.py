"""The lab's pipeline in a notebook, one step per cell, run with the learner's code from the working folder.

The notebook's ``%%writefile`` cells write ``dataset.py``, ``lora.py``, ``train.py`` and ``predict.py`` into
the kernel's working folder; each step here reloads the module it calls, so an edited cell, run again, is
picked up by the next step. A mistake of the learner's (a stub, a missing file, an error raised in their
file, a result the next step cannot use) or of the settings (no data, no such device) prints one kind line
saying what to do (vqa/messages.toml, in Vietnamese or English), and the notebook goes on; an error of the
kit itself is raised with its traceback (vqa/learner_code.py decides whose an error is).

The steps are ``vqa train`` and ``vqa predict`` (vqa/pipeline.py) cut into the lab's sections, with the same
models, data, defaults and metrics: the shipped ``tiny-pretrained`` and generated icons by default (nothing
downloads), ``Salesforce/blip-vqa-base`` and the real IconDomainVQAData by name.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from vqa import data as kit_data
from vqa import learner_code
from vqa.course import FILES
from vqa.learner_code import Stop, expect, is_pair
from vqa.messages import DEFAULT_LANG, check_lang, message
from vqa.models import ModelError

GENERATED = "generated"
GENERATED_FOLDER = "generated-icons"
CHECK_LANG_ENV = "GRADER_LANG"  # the language the notebook's check() cells use when not told
HISTORY_KEYS = ("epoch", "train_loss", "valid_loss", "lr", "saved")


def show_image(image, size: int = 144) -> None:
    """Show a PIL image in the notebook, enlarged without blurring the tiny icons (nothing outside a notebook)."""
    from vqa.progress import in_notebook

    if not in_notebook():
        return
    from IPython.display import display
    from PIL import Image

    scale = max(1, size // max(image.size))
    display(image.resize((image.width * scale, image.height * scale), Image.NEAREST))


class Lab:
    """The lab's steps with the learner's code in ``folder`` (the notebook's working folder by default).

    Every step prints what it did and keeps its results as attributes (``lab.train_set``, ``lab.model``,
    ``lab.history``, ``lab.predictions``, …) for the learner to look at; ``lab.passed`` holds the names of the
    steps that got through (steps return nothing, so a cell ending in one shows only what it printed).
    """

    def __init__(
        self,
        model: str = "tiny-pretrained",
        data: str = GENERATED,
        *,
        data_source: str | None = None,
        device: str = "auto",
        epochs: int | None = None,
        lr: float | None = None,
        batch_size: int | None = None,
        n_train: int | None = None,
        n_test: int | None = None,
        lang: str = DEFAULT_LANG,
        seed: int = 0,
        folder: str | Path = ".",
        out_dir: str | Path = "save_model",
    ):
        from vqa.pipeline import DEMO_DATA
        from vqa.quiet import quiet_libraries

        quiet_libraries()
        self.lang = check_lang(lang)
        os.environ[CHECK_LANG_ENV] = lang  # check() in the same notebook speaks the lab's language
        self.model_name, self.data_name, self.data_source = model, data, data_source
        self.device_name, self.seed = device, seed
        self.epochs, self.lr, self.batch_size = epochs, lr, batch_size
        self.n_train = n_train or DEMO_DATA["n_train"]
        self.n_test = n_test or DEMO_DATA["n_test"]
        self.folder = Path(folder).resolve()
        self.out_dir = self.folder / out_dir
        self.data_dir: Path | None = None
        self.records: list[dict] = []
        self.processor = None
        self.train_records = self.valid_records = None
        self.train_set = self.valid_set = self.train_loader = self.valid_loader = None
        self.model = None
        self.before: dict | None = None
        self.after: dict | None = None
        self.history: list[dict] | None = None
        self.predictions: dict[str, str] | None = None
        self.score: dict | None = None
        self.passed: set[str] = set()

    # ------------------------------------------------------------------ what the learner reads, whose fault
    def text(self, key: str, **fields: Any) -> str:
        return message(key, self.lang, **fields)

    def say(self, key: str, **fields: Any) -> None:
        print(self.text(key, **fields))

    def call(self, exercise: str, name: str, *args, **kwargs):
        """``<exercise>.<name>(*args, **kwargs)`` from the learner's file (see :func:`vqa.learner_code.call`)."""
        return learner_code.call(self.folder, exercise, name, *args, **kwargs)

    def _run(self, name: str, step: Callable[[], None]) -> bool:
        """Run one step: a learner's or a setting's mistake prints its one line; the kit's own errors raise."""
        self.passed.discard(name)
        try:
            step()
        except Stop as stop:
            self.say(stop.key, **stop.fields)
            return False
        except kit_data.DataError as err:
            self.say("data_error", error=err)
            return False
        except ModelError as err:
            self.say("model_error", error=err)
            return False
        except Exception as err:
            stop = learner_code.blame(
                err, self.folder
            )  # raised in the learner's code the kit was running
            if stop is None:
                raise
            self.say(stop.key, **stop.fields)
            return False
        self.passed.add(name)
        return True

    def _needs(self, *parts: tuple[bool, str]) -> None:
        missing = [what for ready, what in parts if not ready]
        if missing:
            raise Stop("needs", what=", ".join(missing))

    def _shown(self, path: Path) -> str:
        """``path`` relative to the working folder when inside it (shorter in a notebook's output)."""
        return str(path.relative_to(self.folder)) if path.is_relative_to(self.folder) else str(path)

    def _score(self, score: dict) -> str:
        return self.text(
            "score", exact=100 * score["exact"], normalized=100 * score["normalized"], n=score["n"]
        )

    # ------------------------------------------------------------------ the kit's side: settings, model, data
    def _device(self):
        from vqa.models import resolve_device

        return resolve_device(self.device_name)

    def _defaults(self) -> dict:
        from vqa import models
        from vqa.pipeline import REAL_DEFAULTS, TINY_DEFAULTS

        base = (
            TINY_DEFAULTS
            if models.is_tiny(models.resolve_model(self.model_name))
            else REAL_DEFAULTS
        )
        return {
            "epochs": self.epochs or base["epochs"],
            "lr": self.lr or base["lr"],
            "batch_size": self.batch_size or base["batch_size"],
        }

    def _load_base(self):
        from vqa import models

        model, processor, _ = models.load_base(self.model_name, self._device())
        self.processor = processor
        return model

    def _ensure_data(self) -> None:
        if self.data_dir is None:
            self._data_step()
            self.passed.add("data")

    def _ensure_processor(self) -> None:
        if self.processor is None:
            from transformers import BlipProcessor

            from vqa import models

            try:
                self.processor = BlipProcessor.from_pretrained(
                    models.resolve_model(self.model_name)
                )
            except OSError as err:
                raise ModelError(str(err)) from None

    def _data_folder(self) -> Path:
        """The data folder the settings name: generated icons (made once), or a folder, downloaded if need be."""
        from vqa.download import fetch_data
        from vqa.files import cached_dir
        from vqa.pipeline import DEMO_DATA

        if self.data_name == GENERATED:
            spec = {**DEMO_DATA, "n_train": self.n_train, "n_test": self.n_test}
            return cached_dir(
                self.folder / GENERATED_FOLDER,
                lambda tmp: kit_data.generate_dataset(tmp, **spec),
                {"data": spec},
            )
        folder = Path(self.data_name).expanduser()
        if not folder.is_absolute():
            folder = self.folder / folder
        if not (folder / kit_data.TRAIN_FILE).is_file():
            if not self.data_source:
                raise Stop("no_data", folder=self._shown(folder))
            self.say("download", source=self.data_source)
            try:
                fetch_data(folder, self.data_source)
            except ImportError:
                raise Stop("no_gdown") from None
        return folder

    # ------------------------------------------------------------------ the steps
    def data(self) -> None:
        """Make (or find, or download) the data folder, and show one training example."""
        self._run("data", self._data_step)

    def _data_step(self) -> None:
        from PIL import Image

        folder = self._data_folder()
        self.records = kit_data.read_records(folder)
        test_root = folder / kit_data.TEST_DIR
        n_test = sum(1 for p in test_root.iterdir() if p.is_dir()) if test_root.is_dir() else 0
        self.data_dir = folder
        self.say("data", folder=self._shown(folder), n_train=len(self.records), n_test=n_test)
        first = self.records[0]
        image_path = folder / kit_data.TRAIN_IMAGES / str(first["pid"]) / "image.png"
        kit_data.check_image(image_path, f"pid {first['pid']}")
        with Image.open(image_path) as image:
            show_image(image.convert("RGB"))
        self.say("example", pid=first["pid"], question=first["question"], answer=first["answer"])

    def dataset(self) -> None:
        """Your load_splits, VQADataset and build_dataloaders on the data; shows one sample as tensors."""
        self._run("dataset", self._dataset_step)

    def _dataset_step(self) -> None:
        import torch

        self._ensure_data()
        self._ensure_processor()
        self.train_set = self.valid_set = self.train_loader = self.valid_loader = None
        torch.manual_seed(self.seed)
        splits = self.call("dataset", "load_splits", self.data_dir)
        train_records, valid_records = expect(
            splits,
            is_pair(splits),
            "returned_pair",
            "dataset",
            "load_splits",
            expected="train_records, valid_records",
        )
        self.train_records, self.valid_records = train_records, valid_records
        self._show_splits(train_records, valid_records)
        image_dir = self.data_dir / kit_data.TRAIN_IMAGES
        train_set = self.call("dataset", "VQADataset", train_records, self.processor, image_dir)
        valid_set = self.call("dataset", "VQADataset", valid_records, self.processor, image_dir)
        self._show_sample(train_set[0], str(train_records[0]["answer"]))
        batch_size = self._defaults()["batch_size"]
        loaders = self.call(
            "dataset",
            "build_dataloaders",
            train_set,
            valid_set,
            batch_size=batch_size,
            seed=self.seed,
        )
        self.train_loader, self.valid_loader = expect(
            loaders,
            is_pair(loaders),
            "returned_pair",
            "dataset",
            "build_dataloaders",
            expected="train_loader, valid_loader",
        )
        self.train_set, self.valid_set = train_set, valid_set
        self.say("loaders", n_train=len(self.train_loader), n_valid=len(self.valid_loader))

    def _show_splits(self, train_records, valid_records) -> None:
        shared = {json.dumps(r, sort_keys=True) for r in train_records} & {
            json.dumps(r, sort_keys=True) for r in valid_records
        }
        overlap = self.text("overlap", n=len(shared)) if shared else ""
        self.say("splits", n_train=len(train_records), n_valid=len(valid_records), overlap=overlap)

    def _show_sample(self, sample, truth: str) -> None:
        """One item of the learner's dataset: each tensor's shape and dtype, and what its labels decode to."""
        if not isinstance(sample, Mapping):
            sample = {"sample": sample}
        shapes = " · ".join(
            f"{k} {list(v.shape)} {str(v.dtype).removeprefix('torch.')}"
            if hasattr(v, "shape")
            else f"{k} {type(v).__name__}"
            for k, v in sample.items()
        )
        self.say("sample", shapes=shapes)
        labels = sample.get("labels")
        if hasattr(labels, "tolist"):
            # -100 marks positions the loss ignores
            ids = [i for i in labels.reshape(-1).tolist() if i >= 0]
            answer = self.processor.tokenizer.decode(ids, skip_special_tokens=True)
            self.say("labels", answer=answer, truth=truth)

    def lora(self) -> None:
        """The base model's held-out accuracy, then your build_lora_model around it."""
        self._run("lora", self._lora_step)

    def _lora_step(self) -> None:
        import torch

        from vqa import evaluate

        self._ensure_data()
        self.model = None
        base = self._load_base()
        self.before = evaluate.accuracy(
            base, self.processor, self.data_dir, self._device(), progress=True
        )
        if self.before:
            self.say("before", score=self._score(self.before))
        torch.manual_seed(self.seed)
        model = self.call("lora", "build_lora_model", base)
        expect(
            model,
            callable(getattr(model, "parameters", None)),
            "returned_model",
            "lora",
            "build_lora_model",
        )
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        total = sum(p.numel() for p in model.parameters())
        self.say("lora", trainable=trainable, total=total, percent=100 * trainable / max(total, 1))
        self.model = model

    def train(self) -> None:
        """Your fit (train_one_epoch, evaluate) on the loaders and the LoRA model; then the held-out accuracy."""
        self._run("train", self._train_step)

    def _train_step(self) -> None:
        import torch

        self._needs(
            (self.train_loader is not None, FILES["dataset"]),
            (self.model is not None, FILES["lora"]),
        )
        settings = self._defaults()
        device = self._device()
        self.say("train", device=device, **settings)
        if self.out_dir.exists():
            shutil.rmtree(self.out_dir)
        self.out_dir.mkdir(parents=True)
        torch.manual_seed(self.seed)
        history = self.call(
            "train",
            "fit",
            self.model,
            self.train_loader,
            self.valid_loader,
            str(self.out_dir),
            device,
            epochs=settings["epochs"],
            lr=settings["lr"],
        )
        print("\n".join(self._history_lines(history)))
        self.history = history
        self._evaluate_saved(device)

    def _history_lines(self, history) -> list[str]:
        """One line per epoch of what fit returned; a :class:`Stop` when it is not one dict per epoch."""
        try:
            return [
                self.text("epoch", **{**row, "saved": self.text("saved") if row["saved"] else ""})
                for row in history
            ]
        except (
            TypeError,
            KeyError,
            ValueError,
        ):  # formatting the learner's values: not a list of such dicts
            raise learner_code.returned(history, "returned_history", "train", "fit") from None

    def _evaluate_saved(self, device) -> None:
        """The held-out accuracy of the model fit saved, and the gain over the base."""
        from vqa import evaluate, models
        from vqa.pipeline import load_saved

        if not models.is_model_dir(self.out_dir):
            raise Stop("nothing_saved", folder=self._shown(self.out_dir))
        self.processor.save_pretrained(self.out_dir)
        best, best_processor = load_saved(self.out_dir, device)
        self.after = evaluate.accuracy(best, best_processor, self.data_dir, device, progress=True)
        if self.after:
            self.say("after", score=self._score(self.after))
            if self.before:
                gain = 100 * (self.after["exact"] - self.before["exact"])
                self.say("gain", gain=gain, folder=self._shown(self.out_dir))

    def predict(self) -> None:
        """Your load_for_inference, answer_question (one test item) and predict_folder (all of them), scored."""
        self._run("predict", self._predict_step)

    def _predict_step(self) -> None:
        from vqa import metrics, models
        from vqa.pipeline import write_predictions

        self._ensure_data()
        device = self._device()
        model_dir: str | Path = self.out_dir
        if not models.is_model_dir(self.out_dir):
            model_dir = models.resolve_model(self.model_name)
            self.say("base", folder=self._shown(self.out_dir), model=self.model_name)
        loaded = self.call("predict", "load_for_inference", str(model_dir), device)
        model, processor = expect(
            loaded,
            is_pair(loaded),
            "returned_pair",
            "predict",
            "load_for_inference",
            expected="model, processor",
        )
        answers = kit_data.read_test_answers(self.data_dir)
        self._answer_one(model, processor, device, answers)
        test_dir = self.data_dir / kit_data.TEST_DIR
        predictions = self.call(
            "predict", "predict_folder", model, processor, str(test_dir), device
        )
        ok = isinstance(predictions, Mapping) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in predictions.items()
        )
        self.predictions = dict(
            expect(predictions, ok, "returned_answers", "predict", "predict_folder")
        )
        out_file = self.folder / "predictions.jsonl"
        n = write_predictions(out_file, self.predictions)
        self.say("predictions", n=n, file=out_file.name)
        if answers is None:
            self.say("no_answers")
            return
        self.score = metrics.score(self.predictions, answers)
        self.say("accuracy", score=self._score(self.score))

    def _answer_one(self, model, processor, device, answers: dict[str, str] | None) -> None:
        """The learner's answer_question on the first test item, shown with its image and the right answer."""
        from PIL import Image

        items = kit_data.read_test_items(self.data_dir)
        if not items:
            return
        item_id, item = next(iter(items.items()))
        with Image.open(self.data_dir / kit_data.TEST_DIR / item_id / "image.png") as image:
            image = image.convert("RGB")
        show_image(image)
        answer = self.call(
            "predict", "answer_question", model, processor, image, item["question"], device
        )
        truth = answers.get(item_id, "?") if answers else "?"
        self.say("answer", question=item["question"], answer=answer, truth=truth)
