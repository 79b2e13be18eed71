"""The contract between the worker and the judge: what each probe returns, as typed data, and the one converter
to and from the JSON that crosses the process boundary.

Both sides import this module (it imports neither torch nor the judge). A probe returns one of the frozen
dataclasses below; the worker's request loop sends it as JSON (:func:`encode`) in a :class:`Reply`; the judge
reads it back strictly (:func:`decode`: a missing or unknown field, or a value of another type, is a
:class:`~grader.worker.protocol.ProtocolError`, a fault of the grader, never silently dropped); the reference's
cache stores it the same way, and the checks read its attributes. :class:`Probe` ties a probe's registered name
to its result type, :class:`ProbeCall` one call of it (with arguments) to a key, so that a check asking for a
call's result gets that result's type. Tensors travel beside the JSON, as safetensors, never in it.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar, Union

from grader.worker.protocol import ProtocolError

# a JSON value: what the learner's code returned, described by grader.probes.plain.to_plain
Json = Any

# How a probe call ended: "ok", the learner's code raised (a stub's NotImplementedError is "not_implemented"), the
# module could not be loaded, the worker ran out of memory, exited, timed out or crashed, or the grader's own
# worker or protocol failed ("internal": never the learner's fault).
CallKind = Literal[
    "ok", "error", "not_implemented", "load_error", "memory", "exit", "timeout", "crash", "internal"
]
# an exception the learner's code raised inside a probe
ErrorKind = Literal["error", "not_implemented"]


# ---------------------------------------------------------------- messages and errors


@dataclass(frozen=True)
class MessageData:
    """A message as data: a key of the judge's message catalogue and its named fields (plain values or other
    messages); the judge turns it into a :class:`grader.judge.messages.Msg` in the learner's language."""

    key: str
    fields: dict[str, MessageField] = field(default_factory=dict)


MessageField = MessageData | str | int | float | bool | None


@dataclass(frozen=True)
class LearnerError:
    """An exception of the learner's code inside a probe: its kind, type, first line, where it was raised
    (``dataset.py:12 in __getitem__``) and, where the grader wrote the text, the message as data."""

    kind: ErrorKind
    type: str
    message: str
    where: str | None
    msg: MessageData | None = None


# ---------------------------------------------------------------- exercise "dataset"


@dataclass(frozen=True)
class ValueDescription:
    """One value of a dataset item: a tensor's shape and dtype, or only the type's name for another value."""

    type: str
    shape: list[int] | None = None
    dtype: str | None = None


@dataclass(frozen=True)
class ItemDescription:
    """``dataset[idx]``: its keys (None when it is not a Mapping), its type and each value; or what it raised."""

    error: LearnerError | None = None
    keys: list[str] | None = None
    type: str = ""
    fields: dict[str, ValueDescription] = field(default_factory=dict)


@dataclass(frozen=True)
class Collated:
    """The first items collated by the DataLoader's default collate: each tensor's shape; or what it raised."""

    error: LearnerError | None = None
    shapes: dict[str, list[int]] = field(default_factory=dict)


@dataclass(frozen=True)
class ItemsResult:
    """Probe dataset.items: VQADataset over the first fixture records (``error``: the constructor raised), its
    length, each item described (the tensors travel as ``item<idx>.<key>``) and the items collated."""

    error: LearnerError | None = None
    pids: list[str] = field(default_factory=list)
    length: int | None = None
    length_error: LearnerError | None = None
    items: list[ItemDescription] = field(default_factory=list)
    collate: Collated | None = None  # None: fewer than two items to collate


@dataclass(frozen=True)
class Split:
    """One call of ``load_splits``: the pids of its train and valid records; or what it raised."""

    error: LearnerError | None = None
    train: list[str] = field(default_factory=list)
    valid: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SplitsResult:
    """Probe dataset.splits: every pid of the fixture, and ``load_splits(data_dir, ...)`` called with the
    defaults, with a quarter and seed 42 (twice), seed 7, and fractions 0.15 and 0.01 (seed 42)."""

    pids: list[str]
    default: Split
    quarter_42: Split
    quarter_42_again: Split
    quarter_7: Split
    fraction_015: Split
    fraction_001: Split


@dataclass(frozen=True)
class LoaderPass:
    """One pass over a DataLoader: the items in the order served (by index, told apart by their pixels; -1 for
    one not found) and each batch's tensor shapes."""

    order: list[int] = field(default_factory=list)
    shapes: list[dict[str, list[int]]] = field(default_factory=list)


@dataclass(frozen=True)
class Loaders:
    """One call of ``build_dataloaders``: two passes over the train loader and one over the valid loader; or
    what it raised."""

    error: LearnerError | None = None
    train: LoaderPass = field(default_factory=LoaderPass)
    train_again: LoaderPass = field(default_factory=LoaderPass)
    valid: LoaderPass = field(default_factory=LoaderPass)


@dataclass(frozen=True)
class LoadersResult:
    """Probe dataset.loaders: ``build_dataloaders`` with seed 0 (twice, under other global seeds) and seed 1;
    the valid items' indices start at 100. ``own_dataset``: the learner's VQADataset served the items."""

    own_dataset: bool
    train_size: int
    valid_size: int
    seed0: Loaders
    seed0_again: Loaders
    seed1: Loaders


# ---------------------------------------------------------------- exercise "lora"


@dataclass(frozen=True)
class Param:
    """One parameter of a model: its name, its number of values and whether it trains."""

    name: str
    numel: int
    trainable: bool


@dataclass(frozen=True)
class LoraLayer:
    """One adapter's settings on one LoRA layer."""

    r: int | None
    scaling: float
    dropout: float | None


@dataclass(frozen=True)
class LoraModel:
    """The model ``build_lora_model`` returned: whether it is a PeftModel, its type, its parameters and each LoRA
    layer's settings (by layer, then adapter name); or what it raised."""

    error: LearnerError | None = None
    is_peft: bool = False
    type: str = ""
    params: list[Param] = field(default_factory=list)
    layers: dict[str, dict[str, LoraLayer]] = field(default_factory=dict)
    training: bool = False


@dataclass(frozen=True)
class LoraResult:
    """Probe lora.build: ``build_lora_model`` on the tiny BLIP with the defaults, with r=4 on query and value,
    and with r=8 on key."""

    defaults: LoraModel
    r4_value: LoraModel
    r8_key: LoraModel


# ---------------------------------------------------------------- exercise "train"


@dataclass(frozen=True)
class CudaRun:
    """A probe called with device "cuda": whether CUDA was there (and why not), and the device it ran on."""

    available: bool
    reason: str | None = None
    device: str | None = None


@dataclass(frozen=True)
class ForwardCall:
    """One forward of the BLIP model: the keyword arguments it was given (and the pixel values' dtype), the mode
    and state it ran in, the probe's stage label then ("train1", "valid1", ...) and the loss it returned."""

    keys: list[str]
    positional: int
    attention_mask: bool
    pixel_dtype: str | None
    training: bool
    grad_enabled: bool
    autocast: bool
    autocast_dtype: str | None
    device: str
    stage: str
    loss: float | None = None
    loss_requires_grad: bool | None = None


@dataclass(frozen=True)
class Step:
    """One ``optimizer.step()``: after how many forwards, the norm of the gradients it held, and how they compare
    with the last forward's loss gradient (``held = scale * that + residual``; None without one)."""

    forward: int
    norm: float
    scale: float | None = None
    residual: float | None = None


@dataclass(frozen=True)
class OptimizerCounts:
    """How often ``optimizer.zero_grad``, ``optimizer.step`` and ``model.zero_grad`` were called."""

    zero_grad: int = 0
    step: int = 0
    model_zero_grad: int = 0


@dataclass(frozen=True)
class ScalerCalls:
    """How often each method of a gradient scaler was called."""

    scale: int = 0
    step: int = 0
    update: int = 0
    unscale_: int = 0


@dataclass(frozen=True)
class OneEpochResult:
    """Probe train.one_epoch: ``train_one_epoch`` on the reference-built LoRA model and batches; what it returned
    (or raised), every forward, every step (without autocast), the optimizer's and the scaler's calls and the
    frozen weights it changed. ``cuda``: set for a call on CUDA (the rest is empty where CUDA was not there)."""

    returned: Json = None
    error: LearnerError | None = None
    calls: list[ForwardCall] = field(default_factory=list)
    steps: list[Step] | None = None
    counts: OptimizerCounts = field(default_factory=OptimizerCounts)
    scaler: ScalerCalls | None = None  # the scaler passed to train_one_epoch (None: none was)
    frozen_changed: list[str] = field(default_factory=list)
    batches: int = 0
    amp_dtype: str | None = None
    cuda: CudaRun | None = None


@dataclass(frozen=True)
class EvaluateResult:
    """Probe train.evaluate: ``evaluate`` on a model left in training mode; what it returned (or raised), every
    forward, the weights it changed and the parameters left holding a gradient."""

    returned: Json = None
    error: LearnerError | None = None
    calls: list[ForwardCall] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    grads: list[str] = field(default_factory=list)
    batches: int = 0


@dataclass(frozen=True)
class OptimizerUse:
    """An optimizer that stepped during ``fit``: its type, its parameters (and how many are frozen), its steps
    and each learning rate it stepped with, in order."""

    type: str
    params: int
    frozen_params: int
    steps: int
    lrs: list[Json]


@dataclass(frozen=True)
class FitResult:
    """Probe train.fit: ``fit`` for 4 epochs with designed validation losses; its history (or what it raised),
    the optimizers, the stage of each save_pretrained call, the files saved, every forward and the GradScalers.
    The saved and each epoch's weights travel as tensors (``saved.<name>``, ``epoch<n>.<name>``)."""

    returned: Json = None
    error: LearnerError | None = None
    optimizers: list[OptimizerUse] = field(default_factory=list)
    save_stages: list[str] = field(default_factory=list)
    saved_files: list[str] = field(default_factory=list)
    frozen_changed: list[str] = field(default_factory=list)
    calls: list[ForwardCall] = field(default_factory=list)
    grad_scaler: ScalerCalls = field(default_factory=ScalerCalls)  # of every torch.amp.GradScaler
    grad_scalers_created: int = 0
    cuda: CudaRun | None = None


# ---------------------------------------------------------------- exercise "predict"


@dataclass(frozen=True)
class Question:
    """A test item's id and a question asked about its image."""

    item: str
    text: str


@dataclass(frozen=True)
class LoadedModel:
    """What ``load_for_inference`` returned, judged by what the model answers (trusted generation) to the first
    questions, its mode and, on CUDA, its device; or what it raised."""

    error: LearnerError | None = None
    answers: list[str] = field(default_factory=list)
    training: bool = False
    device: str | None = None


@dataclass(frozen=True)
class Answers:
    """``answer_question``'s answers (as returned), and the dtypes and devices of the pixel values the vision
    tower was given; ``max_new_tokens`` when the call passed it. Or what it raised."""

    error: LearnerError | None = None
    answers: list[Json] = field(default_factory=list)
    dtypes: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    max_new_tokens: int | None = None


@dataclass(frozen=True)
class AnswersResult:
    """Probe predict.answers: the questions asked, the tokenizer's special tokens, the model
    ``load_for_inference`` loads, and ``answer_question`` on the trusted model (also with max_new_tokens=2, on
    every other question)."""

    questions: list[Question] = field(default_factory=list)
    special_tokens: list[str] = field(default_factory=list)
    load: LoadedModel = field(default_factory=LoadedModel)
    answer: Answers = field(default_factory=Answers)
    short: Answers = field(default_factory=Answers)
    cuda: CudaRun | None = None


@dataclass(frozen=True)
class FolderResult:
    """Probe predict.folder: the test folder's item folders, the id each one's data.json holds, and what
    ``predict_folder`` returned: its keys' types and its answers by key; or what it raised."""

    ids: list[str]
    error: LearnerError | None = None
    json_ids: dict[str, str] = field(default_factory=dict)
    key_types: list[str] = field(default_factory=list)
    answers: dict[str, Json] = field(default_factory=dict)


# ---------------------------------------------------------------- the reference's set-up, the worker's self-test


@dataclass(frozen=True)
class SetupResult:
    """Probe setup (the reference only): the folder the shared fixtures were written to."""

    artifacts: str


@dataclass(frozen=True)
class SelftestResult:
    """Probe selftest.<exercise> (this package's tests of the worker): what ``selftest()`` returned."""

    value: Json


ProbeResult = Union[  # noqa: UP007 - a type alias of dataclasses, as mypy reads it
    ItemsResult,
    SplitsResult,
    LoadersResult,
    LoraResult,
    OneEpochResult,
    EvaluateResult,
    FitResult,
    AnswersResult,
    FolderResult,
    SetupResult,
    SelftestResult,
]
R = TypeVar("R")


# ---------------------------------------------------------------- probes, calls and the reply


@dataclass(frozen=True)
class Probe(Generic[R]):
    """A probe: the name the worker registers it under, and the type of the result it returns."""

    name: str
    result: type[R]


DATASET_ITEMS = Probe("dataset.items", ItemsResult)
DATASET_SPLITS = Probe("dataset.splits", SplitsResult)
DATASET_LOADERS = Probe("dataset.loaders", LoadersResult)
LORA_BUILD = Probe("lora.build", LoraResult)
TRAIN_ONE_EPOCH = Probe("train.one_epoch", OneEpochResult)
TRAIN_EVALUATE = Probe("train.evaluate", EvaluateResult)
TRAIN_FIT = Probe("train.fit", FitResult)
PREDICT_ANSWERS = Probe("predict.answers", AnswersResult)
PREDICT_FOLDER = Probe("predict.folder", FolderResult)
SETUP = Probe("setup", SetupResult)
SELFTEST_PREFIX = "selftest."

PROBES: dict[str, Probe[Any]] = {
    p.name: p
    for p in (
        DATASET_ITEMS,
        DATASET_SPLITS,
        DATASET_LOADERS,
        LORA_BUILD,
        TRAIN_ONE_EPOCH,
        TRAIN_EVALUATE,
        TRAIN_FIT,
        PREDICT_ANSWERS,
        PREDICT_FOLDER,
        SETUP,
    )
}


def selftest(exercise: str) -> Probe[SelftestResult]:
    """The self-test probe of ``exercise`` (calls ``selftest()`` in the submission's module)."""
    return Probe(f"{SELFTEST_PREFIX}{exercise}", SelftestResult)


def probe_named(name: str) -> Probe[Any]:
    """The probe registered as ``name``; a name the contract does not know is a ProtocolError."""
    if name in PROBES:
        return PROBES[name]
    if name.startswith(SELFTEST_PREFIX):
        return selftest(name[len(SELFTEST_PREFIX) :])
    raise ProtocolError(f"no probe named {name!r} in the contract")


@dataclass(frozen=True)
class ProbeCall(Generic[R]):
    """One call of a probe in a grading run: ``key`` names its result (a probe may be called with several sets of
    ``args``), ``exercise`` is the exercise whose checks read it."""

    key: str
    probe: Probe[R]
    exercise: str
    args: dict[str, Json] = field(default_factory=dict)

    @property
    def cuda(self) -> bool:
        return bool(self.args.get("device") == "cuda")


@dataclass(frozen=True)
class Reply:
    """The worker's reply to one probe call: the probe's result, encoded (``ok``), or how the call ended and what
    went wrong (``message``, ``where``, the message as data); its time and the import guard's violations."""

    ok: bool
    kind: CallKind
    data: dict[str, Json] | None = None
    message: str = ""
    where: str | None = None
    msg: MessageData | None = None
    seconds: float = 0.0
    violations: list[str] = field(default_factory=list)


def ran_on_cuda(result: object) -> bool:
    """Whether a probe result says its call ran on CUDA (False where CUDA was not there, or not asked for)."""
    return (
        isinstance(result, (OneEpochResult, FitResult, AnswersResult))
        and result.cuda is not None
        and result.cuda.available
    )


def learner_errors(value: object) -> list[LearnerError]:
    """Every :class:`LearnerError` in a probe result, in field order."""
    if isinstance(value, LearnerError):
        return [value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [
            e for f in dataclasses.fields(value) for e in learner_errors(getattr(value, f.name))
        ]
    if isinstance(value, (list, tuple)):
        return [e for item in value for e in learner_errors(item)]
    if isinstance(value, dict):
        return [e for item in value.values() for e in learner_errors(item)]
    return []


# ---------------------------------------------------------------- the converter


def encode(value: object) -> Json:
    """``value`` (a dataclass of this contract, or lists, dicts and plain values of them) as JSON-safe data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise ProtocolError(f"a dict with keys other than str: {list(value)[:3]!r:.200}")
        return {key: encode(item) for key, item in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ProtocolError(f"a {type(value).__name__} is not JSON data: {value!r:.200}")


T = TypeVar("T")


def decode(cls: type[T], data: Json) -> T:
    """``data`` (as :func:`encode` wrote it, after a trip through JSON) as a ``cls``: every field present, none
    unknown, each value of its declared type; anything else is a :class:`ProtocolError`."""
    value: T = _decode(cls, data, cls.__name__)
    return value


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _decode(hint: Any, value: Json, path: str) -> Any:
    origin = typing.get_origin(hint)
    if hint is Any:
        return _json(value, path)
    if origin is Union or origin is types.UnionType:
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        for option in options:
            try:
                return _decode(option, value, path)
            except ProtocolError:
                continue
        raise ProtocolError(f"{path}: {value!r:.100} is none of {hint}")
    if origin is Literal:
        if not any(
            value == allowed and type(value) is type(allowed) for allowed in typing.get_args(hint)
        ):
            raise ProtocolError(f"{path}: {value!r:.100} is not one of {typing.get_args(hint)}")
        return value
    if origin is list:
        (item,) = typing.get_args(hint)
        return [_decode(item, v, f"{path}[{n}]") for n, v in enumerate(_expect(list, value, path))]
    if origin is dict:
        key_type, item = typing.get_args(hint)
        if key_type is not str:
            raise ProtocolError(f"{path}: the contract has dict keys of type {key_type}, not str")
        return {
            k: _decode(item, v, f"{path}[{k!r}]") for k, v in _expect(dict, value, path).items()
        }
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _decode_dataclass(hint, _expect(dict, value, path), path)
    if hint is type(None):
        if value is not None:
            raise ProtocolError(f"{path}: {value!r:.100} where null belongs")
        return None
    if hint in (bool, int, float, str):
        return _scalar(hint, value, path)
    raise ProtocolError(f"{path}: the contract has no rule for {hint}")


def _decode_dataclass(cls: type, value: dict[str, Json], path: str) -> Any:
    hints = _hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    missing = [name for name in names if name not in value]
    unknown = sorted(set(value) - set(names))
    if missing or unknown:
        where = path if path == cls.__name__ else f"{path} ({cls.__name__})"
        raise ProtocolError(
            f"{where}: "
            + "; ".join(
                part
                for part in (
                    f"missing {missing}" if missing else "",
                    f"unknown {unknown}" if unknown else "",
                )
                if part
            )
        )
    return cls(**{name: _decode(hints[name], value[name], f"{path}.{name}") for name in names})


def _scalar(kind: type, value: Json, path: str) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ProtocolError(f"{path}: {value!r:.100} is not a {kind.__name__}")
    return value


def _expect(kind: type, value: Json, path: str) -> Any:
    if not isinstance(value, kind):
        raise ProtocolError(f"{path}: {value!r:.100} is not a {kind.__name__}")
    return value


def _json(value: Json, path: str) -> Json:
    """``value`` when it is JSON data (as json.loads gives it), else a ProtocolError."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [_json(v, f"{path}[{n}]") for n, v in enumerate(value)]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _json(v, f"{path}[{k!r}]") for k, v in value.items()}
    raise ProtocolError(f"{path}: a {type(value).__name__} is not JSON data")
