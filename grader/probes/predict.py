"""Probes of exercise "predict": loading a saved adapter folder and answering questions.

They read the reference-saved folder (an adapter on a base whose answers depend on the image and
the question), so a broken train.py costs nothing here.
"""

from __future__ import annotations

import json

import torch

from grader.probes import common, devices
from grader.probes.common import attempt
from grader.probes.plain import to_plain
from grader.probes.registry import probe
from grader.worker import contract
from grader.worker.contract import (
    Answers,
    AnswersResult,
    CudaRun,
    FolderResult,
    LearnerError,
    LoadedModel,
    MessageData,
    Question,
)

N_IMAGES = 3
QUESTIONS_PER_IMAGE = 2
SHORT = 2


def trusted_model(ctx):
    """The reference-saved model and processor (adapter folder), loaded once per worker (see common.cached)."""
    from transformers import BlipForQuestionAnswering, BlipProcessor

    folder = ctx.artifacts / common.PREDICT_MODEL

    def build():
        model = BlipForQuestionAnswering.from_pretrained(folder)
        model.eval()
        return model, BlipProcessor.from_pretrained(folder)

    return common.cached(("predict", str(folder)), build)


def _pairs(ctx):
    """(item id, image, question) for a few test images, several questions per image."""
    from PIL import Image

    test = common.test_dir(ctx)
    ids = sorted(p.name for p in test.iterdir() if p.is_dir())[:N_IMAGES]
    questions = sorted({r["question"] for r in common.records(ctx)})
    pairs = []
    for n, item in enumerate(ids):
        with Image.open(test / item / "image.png") as img:
            image = img.convert("RGB")
        own = json.loads((test / item / "data.json").read_text())["question"]
        others = [q for q in questions if q != own]
        for question in [own, others[(3 * n) % len(others)], others[(3 * n + 7) % len(others)]][
            :QUESTIONS_PER_IMAGE
        ]:
            pairs.append((item, image, question))
    return pairs


def _model_device(model):
    try:
        return next(model.parameters()).device
    except (StopIteration, AttributeError, TypeError):
        return torch.device("cpu")


def _trusted_answer(model, processor, image, question, max_new_tokens=10):
    encoding = processor(images=image, text=question, return_tensors="pt")
    device = _model_device(model)
    encoding = {k: v.to(device) for k, v in encoding.items() if k != "token_type_ids"}
    with torch.no_grad():
        out = model.generate(**encoding, max_new_tokens=max_new_tokens)
    return processor.decode(out[0], skip_special_tokens=True).strip()


class _VisionSpy:
    """Records the dtype of the pixel values the vision tower is given."""

    def __init__(self, model):
        from transformers.models.blip.modeling_blip import BlipVisionModel

        self.dtypes: list[str] = []
        self.devices: list[str] = []
        self.handles = [
            m.register_forward_pre_hook(self._pre, with_kwargs=True)
            for m in model.modules()
            if isinstance(m, BlipVisionModel)
        ]

    def _pre(self, module, args, kwargs):
        pixels = kwargs.get("pixel_values", args[0] if args else None)
        if isinstance(pixels, torch.Tensor):
            self.dtypes.append(str(pixels.dtype).replace("torch.", ""))
            self.devices.append(pixels.device.type)

    def remove(self):
        for h in self.handles:
            h.remove()


@probe(contract.PREDICT_ANSWERS, "predict")
def answers(ctx, device="cpu") -> AnswersResult:
    on_cuda = device == "cuda"
    if on_cuda:
        device, why = devices.cuda_device()
        if device is None:
            return AnswersResult(cuda=CudaRun(available=False, reason=why))
    else:
        device = torch.device(device)
    module = ctx.impl("predict")
    pairs = _pairs(ctx)
    ctx.seed(0)
    loaded = _loaded(ctx, module, pairs, device, on_cuda)

    # answer_question on the trusted model
    model, processor = trusted_model(ctx)
    model = model.to(device)
    spy = _VisionSpy(model)

    def ask(max_new_tokens=None) -> Answers:
        spy.devices.clear()
        spy.dtypes.clear()
        got = []
        for _, image, question in pairs if max_new_tokens is None else pairs[::2]:
            kwargs = {} if max_new_tokens is None else {"max_new_tokens": max_new_tokens}
            ctx.seed(0)
            got.append(
                to_plain(
                    module.answer_question(model, processor, image, question, device, **kwargs)
                )
            )
        return Answers(
            answers=got,
            dtypes=sorted(set(spy.dtypes)),
            devices=sorted(set(spy.devices)),
            max_new_tokens=max_new_tokens,
        )

    ok, answer = attempt(ask, ctx)
    ok_short, short = attempt(lambda: ask(SHORT), ctx)
    spy.remove()
    return AnswersResult(
        questions=[Question(item, q) for item, _, q in pairs],
        special_tokens=sorted(set(common.processor().tokenizer.all_special_tokens)),
        load=loaded,
        answer=answer if ok else Answers(error=answer),
        short=short if ok_short else Answers(error=short),
        cuda=CudaRun(available=True, device=device.type) if on_cuda else None,
    )


def _loaded(ctx, module, pairs, device, on_cuda: bool) -> LoadedModel:
    """load_for_inference, judged by what the loaded model answers (trusted generation)."""
    ok, loaded = attempt(
        lambda: module.load_for_inference(str(ctx.artifacts / common.PREDICT_MODEL), device), ctx
    )
    if not ok:
        return LoadedModel(error=loaded)
    if not (isinstance(loaded, (tuple, list)) and len(loaded) == 2):
        kind = type(loaded).__name__
        return LoadedModel(
            error=LearnerError(
                "error",
                "TypeError",
                f"load_for_inference must return (model, processor); got {kind}",
                None,
                MessageData("probe.must_return_pair", {"type": kind}),
            )
        )
    model, processor = loaded
    ok, got = attempt(
        lambda: [_trusted_answer(model, processor, img, q) for _, img, q in pairs[:3]], ctx
    )
    if not ok:
        return LoadedModel(error=got)
    return LoadedModel(
        answers=got,
        training=bool(getattr(model, "training", False)),
        device=_model_device(model).type if on_cuda else None,
    )


@probe(contract.PREDICT_FOLDER, "predict")
def folder(ctx) -> FolderResult:
    module = ctx.impl("predict")
    model, processor = trusted_model(ctx)
    test = common.test_dir(ctx)
    ids = sorted(p.name for p in test.iterdir() if p.is_dir())
    ctx.seed(0)
    ok, got = attempt(
        lambda: module.predict_folder(model, processor, str(test), torch.device("cpu")), ctx
    )
    if not ok:
        return FolderResult(ids=ids, error=got)
    if not isinstance(got, dict):
        kind = type(got).__name__
        return FolderResult(
            ids=ids,
            error=LearnerError(
                "error",
                "TypeError",
                f"predict_folder must return a dict, got {kind}",
                None,
                MessageData("probe.folder_not_dict", {"type": kind}),
            ),
        )
    json_ids = {}
    for item in ids:
        try:
            json_ids[item] = str(json.loads((test / item / "data.json").read_text())["id"])
        except (OSError, ValueError, KeyError):
            continue
    return FolderResult(
        ids=ids,
        json_ids=json_ids,
        key_types=sorted({type(k).__name__ for k in got}),
        answers={str(k): to_plain(v) for k, v in got.items()},
    )
