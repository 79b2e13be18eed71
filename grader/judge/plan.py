"""Which probe calls each exercise needs (judge side, plain data)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProbeCall:
    key: str
    probe: str
    exercise: str
    args: dict = field(default_factory=dict)
    cost: float = 0.1  # seconds it takes in a worker child (2 CPU cores, tiny fixtures): only to balance lanes

    @property
    def cuda(self) -> bool:
        return self.args.get("device") == "cuda"


PLAN: tuple[ProbeCall, ...] = (
    ProbeCall("dataset.items", "dataset.items", "dataset", cost=0.03),
    ProbeCall("dataset.items_short", "dataset.items", "dataset", {"question_max_length": 6, "answer_max_length": 3},
              cost=0.01),
    ProbeCall("dataset.splits", "dataset.splits", "dataset", cost=0.01),
    ProbeCall("dataset.loaders", "dataset.loaders", "dataset", cost=0.01),
    ProbeCall("lora.build", "lora.build", "lora", cost=0.12),
    ProbeCall("train.one_epoch", "train.one_epoch", "train", cost=0.12),
    ProbeCall("train.one_epoch_amp", "train.one_epoch", "train", {"amp": True}, cost=0.15),
    ProbeCall("train.evaluate", "train.evaluate", "train", cost=0.06),
    ProbeCall("train.evaluate_amp", "train.evaluate", "train", {"amp": True}, cost=0.06),
    ProbeCall("train.fit", "train.fit", "train", cost=0.37),
    ProbeCall("predict.answers", "predict.answers", "predict", cost=0.36),
    ProbeCall("predict.folder", "predict.folder", "predict", cost=0.15),
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
