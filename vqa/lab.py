"""The lab's pipeline in a notebook, one step per cell, run with the learner's code from the working folder.

The notebook's ``%%writefile`` cells write ``dataset.py``, ``lora.py``, ``train.py`` and ``predict.py`` into
the kernel's working folder; each step here reloads the module it calls, so an edited cell, run again, is
picked up by the next step. A step never raises because of the learner's code: a stub, a missing file or an
error prints one kind line saying what to do (in Vietnamese or English), and the notebook goes on.

The steps are ``vqa train`` and ``vqa predict`` (vqa/pipeline.py) cut into the lab's sections, with the same
models, data, defaults and metrics: the shipped ``tiny-pretrained`` and generated icons by default (nothing
downloads), ``Salesforce/blip-vqa-base`` and the real IconDomainVQAData by name.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import traceback
import zipfile
from pathlib import Path
from typing import Any

from vqa import data as kit_data
from vqa.course import FILES, is_stub_error, stub_task
from vqa.impl import ImplementationError, load_exercise
from vqa.models import ModelError

GENERATED = "generated"
GENERATED_FOLDER = "generated-icons"
CHECK_LANG_ENV = "GRADER_LANG"  # the language the notebook's check() cells use when not told
MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "stub": "{file} is not implemented yet: fill in {name} above and run its cell, then this one again.",
        "missing": "{file} is not in this folder yet: run its %%writefile cells above, then this one again.",
        "broken": "{file} cannot be imported: {error}",
        "error": "{file}: {name} raised {error}{where}. check(\"{exercise}\") shows what is expected.",
        "needs": "This step needs {what} first: run the cells above once they work.",
        "no_data": "No data folder {folder}: set DATA = \"generated\" in the settings, or DATA_SOURCE to where "
                   "the lab's data can be downloaded.",
        "data_error": "The data cannot be used: {error}",
        "model_error": "The model cannot be loaded: {error}",
        "data": "data: {folder} · {n_train} training records · {n_test} test items",
        "example": "example (pid {pid}): {question} → {answer}",
        "splits": "load_splits: {n_train} train + {n_valid} valid records{overlap}",
        "overlap": " (warning: {n} records are in both)",
        "sample": "VQADataset[0]: {shapes}",
        "labels": "labels decode to {answer!r} (the answer is {truth!r})",
        "loaders": "build_dataloaders: {n_train} train batches, {n_valid} valid batches",
        "before": "held-out accuracy before fine-tuning: {score}",
        "lora": "LoRA: {trainable:,} trainable of {total:,} parameters ({percent:.2f}%)",
        "train": "training on {device}: {epochs} epoch(s), lr {lr:g}, batches of {batch_size}",
        "epoch": "epoch {epoch}: train loss {train_loss:.4f} · valid loss {valid_loss:.4f} · lr {lr:.2e}{saved}",
        "saved": " · saved",
        "history": "fit returned {got!r}; it should return one dict per epoch (see its docstring).",
        "nothing_saved": "fit saved no model in {folder}: it should save_pretrained whenever the valid loss improves.",
        "after": "held-out accuracy after fine-tuning:  {score}",
        "gain": "gain: {gain:+.1f} points · model saved to {folder}",
        "base": "No fine-tuned model in {folder} yet: predicting with the base model {model}.",
        "answer": "{question} → {answer!r} (the answer is {truth!r})",
        "predictions": "predict_folder: {n} answers, written to {file}",
        "accuracy": "accuracy: {score}",
        "no_answers": "this test split has no answers to score against",
        "download": "downloading the lab's data from {source} …",
        "no_gdown": "downloading from Google Drive needs gdown: run %pip install gdown",
        "score": "{exact:.1f}% exact match, {normalized:.1f}% normalised (n={n})",
        "stopped": "This step stopped: {error}. Do your functions return what their docstrings say? "
                   "The check cells show more.",
    },
    "vi": {
        "stub": "{file} chưa được viết xong: hãy điền {name} ở trên, chạy ô đó, rồi chạy lại ô này.",
        "missing": "Thư mục này chưa có {file}: hãy chạy các ô %%writefile của nó ở trên, rồi chạy lại ô này.",
        "broken": "Không import được {file}: {error}",
        "error": "{file}: {name} gặp lỗi {error}{where}. check(\"{exercise}\") cho biết kết quả mong đợi.",
        "needs": "Bước này cần {what} trước: hãy chạy các ô ở trên khi chúng đã chạy được.",
        "no_data": "Không có thư mục dữ liệu {folder}: đặt DATA = \"generated\" trong phần cài đặt, hoặc DATA_SOURCE "
                   "là nơi tải dữ liệu của bài lab.",
        "data_error": "Không dùng được dữ liệu: {error}",
        "model_error": "Không nạp được mô hình: {error}",
        "data": "dữ liệu: {folder} · {n_train} bản ghi huấn luyện · {n_test} mẫu kiểm tra",
        "example": "ví dụ (pid {pid}): {question} → {answer}",
        "splits": "load_splits: {n_train} bản ghi train + {n_valid} bản ghi valid{overlap}",
        "overlap": " (cảnh báo: {n} bản ghi nằm ở cả hai tập)",
        "sample": "VQADataset[0]: {shapes}",
        "labels": "labels giải mã thành {answer!r} (đáp án là {truth!r})",
        "loaders": "build_dataloaders: {n_train} batch train, {n_valid} batch valid",
        "before": "độ chính xác trên tập kiểm tra trước khi fine-tune: {score}",
        "lora": "LoRA: {trainable:,} tham số trainable trên tổng {total:,} ({percent:.2f}%)",
        "train": "huấn luyện trên {device}: {epochs} epoch, lr {lr:g}, batch {batch_size}",
        "epoch": "epoch {epoch}: train loss {train_loss:.4f} · valid loss {valid_loss:.4f} · lr {lr:.2e}{saved}",
        "saved": " · đã lưu",
        "history": "fit trả về {got!r}; hàm cần trả về mỗi epoch một dict (xem docstring).",
        "nothing_saved": "fit chưa lưu mô hình nào vào {folder}: cần save_pretrained mỗi khi valid loss giảm.",
        "after": "độ chính xác trên tập kiểm tra sau khi fine-tune:  {score}",
        "gain": "tăng: {gain:+.1f} điểm · mô hình đã lưu ở {folder}",
        "base": "Chưa có mô hình đã fine-tune trong {folder}: dự đoán bằng mô hình gốc {model}.",
        "answer": "{question} → {answer!r} (đáp án là {truth!r})",
        "predictions": "predict_folder: {n} câu trả lời, đã ghi vào {file}",
        "accuracy": "độ chính xác: {score}",
        "no_answers": "tập kiểm tra này không có đáp án để chấm",
        "download": "đang tải dữ liệu của bài lab từ {source} …",
        "no_gdown": "tải từ Google Drive cần gdown: chạy %pip install gdown",
        "score": "{exact:.1f}% khớp chính xác, {normalized:.1f}% khớp sau chuẩn hoá (n={n})",
        "stopped": "Bước này dừng lại: {error}. Các hàm của bạn có trả về đúng như docstring không? "
                   "Các ô check cho biết thêm.",
    },
}


class Stop(Exception):
    """A step cannot go on; its message has been printed."""


def _in_notebook() -> bool:
    from vqa.progress import in_notebook

    return in_notebook()


def show_image(image, size: int = 144) -> None:
    """Show a PIL image in the notebook, enlarged without blurring the tiny icons (nothing outside a notebook)."""
    if not _in_notebook():
        return
    from IPython.display import display
    from PIL import Image

    scale = max(1, size // max(image.size))
    display(image.resize((image.width * scale, image.height * scale), Image.NEAREST))


def _safe_extract(archive: zipfile.ZipFile, target: Path) -> None:
    root = target.resolve()
    for member in archive.namelist():
        if not (root / member).resolve().is_relative_to(root):
            raise kit_data.DataError(f"the archive holds a path outside its folder: {member}")
    archive.extractall(target)


def fetch_data(folder: str | Path, source: str) -> Path:
    """Download the lab's data zip from ``source`` (a URL, or ``gdrive:<file id>``) and unpack it as ``folder``.

    The zip may hold the data at its top or in one sub-folder; either way ``folder/train.jsonl`` results.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".download-") as tmp:
        archive = Path(tmp) / "data.zip"
        if source.startswith("gdrive:"):
            import gdown

            gdown.download(id=source.split(":", 1)[1], output=str(archive), quiet=False)
        else:
            import urllib.request

            urllib.request.urlretrieve(source, archive)
        unpacked = Path(tmp) / "unpacked"
        with zipfile.ZipFile(archive) as handle:
            _safe_extract(handle, unpacked)
        found = [p.parent for p in unpacked.rglob(kit_data.TRAIN_FILE) if "__MACOSX" not in p.parts]
        if not found:
            raise kit_data.DataError(f"{source}: the archive holds no {kit_data.TRAIN_FILE}")
        shutil.move(str(min(found, key=lambda p: len(p.parts))), str(folder))
    return folder


class Lab:
    """The lab's steps with the learner's code in ``folder`` (the notebook's working folder by default).

    Every step prints what it did and keeps its results as attributes (``lab.train_set``, ``lab.model``,
    ``lab.history``, ``lab.predictions``, …) for the learner to look at; ``lab.passed`` holds the names of the
    steps that got through (steps return nothing, so a cell ending in one shows only what it printed).
    """

    def __init__(self, model: str = "tiny-pretrained", data: str = GENERATED, *, data_source: str | None = None,
                 device: str = "auto", epochs: int | None = None, lr: float | None = None,
                 batch_size: int | None = None, n_train: int | None = None, n_test: int | None = None,
                 lang: str = "vi", seed: int = 0, folder: str | Path = ".", out_dir: str | Path = "save_model"):
        from vqa.pipeline import DEMO_DATA
        from vqa.quiet import quiet_libraries

        quiet_libraries()
        os.environ[CHECK_LANG_ENV] = lang  # check() in the same notebook speaks the lab's language
        self.model_name, self.data_name, self.data_source = model, data, data_source
        self.device_name, self.lang, self.seed = device, lang if lang in MESSAGES else "en", seed
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

    # ------------------------------------------------------------------ messages and calls
    def say(self, key: str, **values: Any) -> None:
        print(MESSAGES[self.lang][key].format(**values))

    def _stop(self, key: str, **values: Any) -> Stop:
        self.say(key, **values)
        return Stop(key)

    def module(self, exercise: str):
        """The learner's ``<exercise>.py`` from the working folder, imported afresh."""
        file = FILES[exercise]
        if not (self.folder / file).is_file():
            raise self._stop("missing", file=file)
        try:
            return load_exercise(self.folder, exercise, reload=True)
        except ImplementationError as err:
            raise self._stop("broken", file=file, error=err) from None

    def call(self, exercise: str, name: str, *args, **kwargs):
        """``<exercise>.<name>(*args, **kwargs)`` from the learner's file; a stub or an error prints one line."""
        function = getattr(self.module(exercise), name)
        try:
            return function(*args, **kwargs)
        except Exception as err:  # the learner's code may raise anything; say where, and go on
            raise self._failed(err, exercise, name) from None

    def _failed(self, err: Exception, exercise: str, name: str) -> Stop:
        """Print what a stub asks for, or where the learner's code raised (their file and line)."""
        if is_stub_error(err):
            return self._stop("stub", file=FILES[exercise], name=stub_task(str(err)).removeprefix("write "))
        frames = [f for f in traceback.extract_tb(err.__traceback__)
                  if Path(f.filename).resolve().parent == self.folder and Path(f.filename).name in FILES.values()]
        where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno}: {frames[-1].line})" if frames else ""
        return self._stop("error", file=FILES[exercise], name=name, error=f"{type(err).__name__}: {err}",
                          where=where, exercise=exercise)

    def _needs(self, *parts: tuple[bool, str]) -> None:
        missing = [what for ready, what in parts if not ready]
        if missing:
            raise self._stop("needs", what=", ".join(missing))

    def _run(self, name: str, step) -> bool:
        self.passed.discard(name)
        try:
            step()
        except Stop:
            return False
        except kit_data.DataError as err:
            self.say("data_error", error=err)
            return False
        except ModelError as err:
            self.say("model_error", error=err)
            return False
        except Exception as err:  # e.g. a learner's function returned something the next step cannot use
            self.say("stopped", error=f"{type(err).__name__}: {err}")
            return False
        self.passed.add(name)
        return True

    def _shown(self, path: Path) -> str:
        """``path`` relative to the working folder when inside it (shorter in a notebook's output)."""
        return str(path.relative_to(self.folder)) if path.is_relative_to(self.folder) else str(path)

    # ------------------------------------------------------------------ kit-side helpers
    def _device(self):
        from vqa.models import resolve_device

        return resolve_device(self.device_name)

    def _defaults(self) -> dict:
        from vqa import models
        from vqa.pipeline import REAL_DEFAULTS, TINY_DEFAULTS

        base = TINY_DEFAULTS if models.is_tiny(models.resolve_model(self.model_name)) else REAL_DEFAULTS
        return {"epochs": self.epochs or base["epochs"], "lr": self.lr or base["lr"],
                "batch_size": self.batch_size or base["batch_size"]}

    def _load_base(self):
        from vqa import models

        model, processor, _ = models.load_base(self.model_name, self._device())
        self.processor = processor
        return model

    def _ensure_data(self) -> None:
        if self.data_dir is None and not self._run("data", self._data_step):
            raise Stop("data")

    def _ensure_processor(self) -> None:
        if self.processor is None:
            from transformers import BlipProcessor

            from vqa import models

            try:
                self.processor = BlipProcessor.from_pretrained(models.resolve_model(self.model_name))
            except OSError as err:
                raise self._stop("model_error", error=err) from None

    def _score(self, score: dict) -> str:
        return MESSAGES[self.lang]["score"].format(exact=100 * score["exact"], normalized=100 * score["normalized"],
                                                   n=score["n"])

    # ------------------------------------------------------------------ the steps
    def data(self) -> None:
        """Make (or find, or download) the data folder, and show one training example."""
        self._run("data", self._data_step)

    def _data_step(self) -> None:
        from vqa.files import cached_dir
        from vqa.pipeline import DEMO_DATA

        if self.data_name == GENERATED:
            spec = {**DEMO_DATA, "n_train": self.n_train, "n_test": self.n_test}
            folder = cached_dir(self.folder / GENERATED_FOLDER,
                                lambda tmp: kit_data.generate_dataset(tmp, **spec), {"data": spec})
        else:
            folder = Path(self.data_name).expanduser()
            if not folder.is_absolute():
                folder = self.folder / folder
            if not (folder / kit_data.TRAIN_FILE).is_file():
                if not self.data_source:
                    raise self._stop("no_data", folder=self._shown(folder))
                self.say("download", source=self.data_source)
                try:
                    fetch_data(folder, self.data_source)
                except ImportError:
                    raise self._stop("no_gdown") from None
        self.records = kit_data.read_records(folder)
        test_root = folder / kit_data.TEST_DIR
        n_test = sum(1 for p in test_root.iterdir() if p.is_dir()) if test_root.is_dir() else 0
        self.data_dir = folder
        self.say("data", folder=self._shown(folder), n_train=len(self.records), n_test=n_test)
        first = self.records[0]
        image_path = folder / kit_data.TRAIN_IMAGES / str(first["pid"]) / "image.png"
        kit_data.check_image(image_path, f"pid {first['pid']}")
        from PIL import Image

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
        train_records, valid_records = self.call("dataset", "load_splits", self.data_dir)
        self.train_records, self.valid_records = train_records, valid_records
        shared = {json.dumps(r, sort_keys=True) for r in train_records} & {
            json.dumps(r, sort_keys=True) for r in valid_records}
        overlap = MESSAGES[self.lang]["overlap"].format(n=len(shared)) if shared else ""
        self.say("splits", n_train=len(train_records), n_valid=len(valid_records), overlap=overlap)
        image_dir = self.data_dir / kit_data.TRAIN_IMAGES
        train_set = self.call("dataset", "VQADataset", train_records, self.processor, image_dir)
        valid_set = self.call("dataset", "VQADataset", valid_records, self.processor, image_dir)
        try:
            sample = train_set[0]
        except Exception as err:
            raise self._failed(err, "dataset", "VQADataset.__getitem__") from None
        if not isinstance(sample, dict):
            sample = {"sample": sample}
        shapes = " · ".join(f"{k} {list(v.shape)} {str(v.dtype).removeprefix('torch.')}"
                            if hasattr(v, "shape") else f"{k} {type(v).__name__}" for k, v in sample.items())
        self.say("sample", shapes=shapes)
        if hasattr(sample.get("labels"), "tolist"):
            answer = self.processor.tokenizer.decode(sample["labels"].tolist(), skip_special_tokens=True)
            self.say("labels", answer=answer, truth=str(train_records[0]["answer"]))
        batch_size = self._defaults()["batch_size"]
        loaders = self.call("dataset", "build_dataloaders", train_set, valid_set, batch_size=batch_size,
                            seed=self.seed)
        self.train_set, self.valid_set = train_set, valid_set
        self.train_loader, self.valid_loader = loaders
        self.say("loaders", n_train=len(self.train_loader), n_valid=len(self.valid_loader))

    def lora(self) -> None:
        """The base model's held-out accuracy, then your build_lora_model around it."""
        self._run("lora", self._lora_step)

    def _lora_step(self) -> None:
        import torch

        from vqa import evaluate

        self._ensure_data()
        self.model = None
        base = self._load_base()
        self.before = evaluate.accuracy(base, self.processor, self.data_dir, self._device(), progress=True)
        if self.before:
            self.say("before", score=self._score(self.before))
        torch.manual_seed(self.seed)
        model = self.call("lora", "build_lora_model", base)
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        total = sum(p.numel() for p in model.parameters())
        self.say("lora", trainable=trainable, total=total, percent=100 * trainable / max(total, 1))
        self.model = model

    def train(self) -> None:
        """Your fit (train_one_epoch, evaluate) on the loaders and the LoRA model; then the held-out accuracy."""
        self._run("train", self._train_step)

    def _train_step(self) -> None:
        import torch

        from vqa import evaluate, models
        from vqa.pipeline import load_saved

        self._needs((self.train_loader is not None, FILES["dataset"]), (self.model is not None, FILES["lora"]))
        settings = self._defaults()
        device = self._device()
        self.say("train", device=device, **settings)
        if self.out_dir.exists():
            shutil.rmtree(self.out_dir)
        self.out_dir.mkdir(parents=True)
        torch.manual_seed(self.seed)
        history = self.call("train", "fit", self.model, self.train_loader, self.valid_loader, str(self.out_dir),
                            device, epochs=settings["epochs"], lr=settings["lr"])
        try:
            for row in history:
                self.say("epoch", **{**row, "saved": MESSAGES[self.lang]["saved"] if row["saved"] else ""})
        except (TypeError, KeyError, ValueError):
            raise self._stop("history", got=history) from None
        self.history = history
        if not models.is_model_dir(self.out_dir):
            raise self._stop("nothing_saved", folder=self._shown(self.out_dir))
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
        from PIL import Image

        from vqa import metrics, models
        from vqa.pipeline import write_predictions

        self._ensure_data()
        device = self._device()
        model_dir: str | Path = self.out_dir
        if not models.is_model_dir(self.out_dir):
            model_dir = models.resolve_model(self.model_name)
            self.say("base", folder=self._shown(self.out_dir), model=self.model_name)
        model, processor = self.call("predict", "load_for_inference", str(model_dir), device)
        items = kit_data.read_test_items(self.data_dir)
        answers = kit_data.read_test_answers(self.data_dir)
        test_dir = self.data_dir / kit_data.TEST_DIR
        if items:
            item_id, item = next(iter(items.items()))
            with Image.open(test_dir / item_id / "image.png") as image:
                image = image.convert("RGB")
            show_image(image)
            answer = self.call("predict", "answer_question", model, processor, image, item["question"], device)
            truth = answers.get(item_id, "?") if answers else "?"
            self.say("answer", question=item["question"], answer=answer, truth=truth)
        predictions = self.call("predict", "predict_folder", model, processor, str(test_dir), device)
        out_file = self.folder / "predictions.jsonl"
        n = write_predictions(out_file, predictions)
        self.predictions = dict(predictions)
        self.say("predictions", n=n, file=out_file.name)
        if answers is None:
            self.say("no_answers")
            return
        self.score = metrics.score(self.predictions, answers)
        self.say("accuracy", score=self._score(self.score))

