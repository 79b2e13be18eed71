"""Which probe calls each exercise needs (judge side, plain data)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProbeCall:
    key: str
    probe: str
    exercise: str
    args: dict = field(default_factory=dict)

    @property
    def cuda(self) -> bool:
        return self.args.get("device") == "cuda"


PLAN: tuple[ProbeCall, ...] = (
    ProbeCall("dataset.items", "dataset.items", "dataset"),
    ProbeCall("dataset.items_short", "dataset.items", "dataset", {"question_max_length": 6, "answer_max_length": 3}),
    ProbeCall("dataset.splits", "dataset.splits", "dataset"),
    ProbeCall("dataset.loaders", "dataset.loaders", "dataset"),
    ProbeCall("lora.build", "lora.build", "lora"),
    ProbeCall("train.one_epoch", "train.one_epoch", "train"),
    ProbeCall("train.one_epoch_amp", "train.one_epoch", "train", {"amp": True}),
    ProbeCall("train.evaluate", "train.evaluate", "train"),
    ProbeCall("train.evaluate_amp", "train.evaluate", "train", {"amp": True}),
    ProbeCall("train.fit", "train.fit", "train"),
    ProbeCall("predict.answers", "predict.answers", "predict"),
    ProbeCall("predict.folder", "predict.folder", "predict"),
)


# With --device cuda: the train and predict probes again, on CUDA (each answers {"cuda": false} without it).
CUDA_PLAN: tuple[ProbeCall, ...] = (
    ProbeCall("train.one_epoch_cuda", "train.one_epoch", "train", {"amp": True, "device": "cuda"}),
    ProbeCall("train.fit_cuda", "train.fit", "train", {"device": "cuda"}),
    ProbeCall("predict.answers_cuda", "predict.answers", "predict", {"device": "cuda"}),
)


def plan_for(device: str = "cpu") -> tuple[ProbeCall, ...]:
    return PLAN + CUDA_PLAN if device == "cuda" else PLAN


def calls_for(exercises, device: str = "cpu") -> list[ProbeCall]:
    wanted = set(exercises)
    return [call for call in plan_for(device) if call.exercise in wanted]
