"""Which probe calls each exercise needs: every call by name, typed by its result (a check asking for
``probes.student(ONE_EPOCH)`` gets a :class:`~grader.worker.contract.OneEpochResult`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from grader.worker import contract
from grader.worker.contract import ProbeCall

ITEMS = ProbeCall("dataset.items", contract.DATASET_ITEMS, "dataset")
ITEMS_SHORT = ProbeCall(
    "dataset.items_short",
    contract.DATASET_ITEMS,
    "dataset",
    {"question_max_length": 6, "answer_max_length": 3},
)
SPLITS = ProbeCall("dataset.splits", contract.DATASET_SPLITS, "dataset")
LOADERS = ProbeCall("dataset.loaders", contract.DATASET_LOADERS, "dataset")
LORA = ProbeCall("lora.build", contract.LORA_BUILD, "lora")
ONE_EPOCH = ProbeCall("train.one_epoch", contract.TRAIN_ONE_EPOCH, "train")
ONE_EPOCH_AMP = ProbeCall("train.one_epoch_amp", contract.TRAIN_ONE_EPOCH, "train", {"amp": True})
EVALUATE = ProbeCall("train.evaluate", contract.TRAIN_EVALUATE, "train")
EVALUATE_AMP = ProbeCall("train.evaluate_amp", contract.TRAIN_EVALUATE, "train", {"amp": True})
FIT = ProbeCall("train.fit", contract.TRAIN_FIT, "train")
ANSWERS = ProbeCall("predict.answers", contract.PREDICT_ANSWERS, "predict")
FOLDER = ProbeCall("predict.folder", contract.PREDICT_FOLDER, "predict")

# With --device cuda: the train and predict probes again, on CUDA (each says CUDA was not there without it).
ONE_EPOCH_CUDA = ProbeCall(
    "train.one_epoch_cuda", contract.TRAIN_ONE_EPOCH, "train", {"amp": True, "device": "cuda"}
)
FIT_CUDA = ProbeCall("train.fit_cuda", contract.TRAIN_FIT, "train", {"device": "cuda"})
ANSWERS_CUDA = ProbeCall(
    "predict.answers_cuda", contract.PREDICT_ANSWERS, "predict", {"device": "cuda"}
)

# The reference's set-up (the shared fixtures), before any other call.
SETUP = ProbeCall("setup", contract.SETUP, "setup")

PLAN: tuple[ProbeCall[Any], ...] = (
    ITEMS,
    ITEMS_SHORT,
    SPLITS,
    LOADERS,
    LORA,
    ONE_EPOCH,
    ONE_EPOCH_AMP,
    EVALUATE,
    EVALUATE_AMP,
    FIT,
    ANSWERS,
    FOLDER,
)
CUDA_PLAN: tuple[ProbeCall[Any], ...] = (ONE_EPOCH_CUDA, FIT_CUDA, ANSWERS_CUDA)


def plan_for(device: str = "cpu") -> tuple[ProbeCall[Any], ...]:
    """Every call a grading on ``device`` makes (the CUDA calls too with "cuda")."""
    return PLAN + CUDA_PLAN if device == "cuda" else PLAN


def calls_for(exercises: Iterable[str], device: str = "cpu") -> list[ProbeCall[Any]]:
    """The calls of ``exercises``' checks, in the plan's order."""
    wanted = set(exercises)
    return [call for call in plan_for(device) if call.exercise in wanted]
