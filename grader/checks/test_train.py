"""Checks of exercise "train" (35 points). Every probe starts from the reference-built model and batches."""

import math
from typing import TypeVar

from grader.checks import (
    Probes,
    as_number,
    close,
    compare_tensor,
    cuda_check,
    depends_on,
    expect,
    fail,
    plain,
    points,
    raised,
    skip,
)
from grader.judge.messages import Msg
from grader.judge.plan import (
    EVALUATE,
    EVALUATE_AMP,
    FIT,
    FIT_CUDA,
    ONE_EPOCH,
    ONE_EPOCH_AMP,
    ONE_EPOCH_CUDA,
)
from grader.worker.contract import (
    EvaluateResult,
    FitResult,
    ForwardCall,
    Json,
    OneEpochResult,
    ProbeCall,
    ScalerCalls,
    ran_on_cuda,
)

ONE = "train_one_epoch(model, loader, optimizer, device=cpu)"
AMP = "train_one_epoch(..., scaler=<scaler>, amp_dtype=torch.bfloat16)"
EVAL_AMP = "evaluate(model, loader, device=cpu, amp_dtype=torch.bfloat16)"


Run = TypeVar("Run", OneEpochResult, EvaluateResult, FitResult)


def _run(
    probes: Probes, call: ProbeCall[Run], what: str, *, calls_suffice: bool = False
) -> tuple[Run, Run]:
    """The learner's and the reference's results of ``call``; the learner's exception fails the check, unless
    ``calls_suffice``: the forward calls recorded before it are the evidence the check judges."""
    got = probes.student(call)
    if got.error is not None and not (calls_suffice and got.calls):
        raised(what, got.error)
    return got, probes.reference(call)


def _scaler(result: OneEpochResult) -> ScalerCalls:
    assert result.scaler is not None, "a run with amp is given a scaler"
    return result.scaler


def _expect_scaler_calls(have: ScalerCalls, want: ScalerCalls, key: str) -> None:
    """Fail with ``key`` unless scale, step and update were called as often as the reference called them."""
    for op in ("scale", "step", "update"):
        have_calls, want_calls = getattr(have, op), getattr(want, op)
        expect(have_calls == want_calls, key, op=op, got=have_calls, expected=want_calls)


# A step's gradients are compared with the gradient of the last forward's loss (computed by autograd in the
# probe): measured residual between the two for a correct loop, 0 to 1e-15 (the same graph, the same order of
# operations); gradients left from an earlier step or a second backward give residuals or scales near 1.
STEP_RESIDUAL = 1e-4
STEP_SCALE_MAX = 1.0 + 1e-4  # clip_grad_norm_ scales the gradient by at most 1


@points(2)
def test_one_epoch_runs_on_cpu(probes: Probes) -> None:
    got, _ = _run(probes, ONE_EPOCH, ONE)
    as_number(got.returned, "train_one_epoch")
    expect(got.calls, "train.never_called", what=ONE)


@points(3)
def test_attention_mask_passed(probes: Probes) -> None:
    got, _ = _run(probes, ONE_EPOCH, ONE, calls_suffice=True)
    missing = [c for c in got.calls if not c.attention_mask]
    expect(
        not missing,
        "train.no_attention_mask",
        count=len(missing),
        total=len(got.calls),
        keys=missing[0].keys if missing else "",
    )


@points(1)
def test_train_mode(probes: Probes) -> None:
    got, _ = _run(probes, ONE_EPOCH, ONE, calls_suffice=True)
    expect(all(c.training for c in got.calls), "train.eval_mode_in_training")


@points(2)
def test_gradients_zeroed_each_step(probes: Probes) -> None:
    got, ref = _run(probes, ONE_EPOCH, ONE)
    steps = got.counts.step
    zeroed = got.counts.zero_grad + got.counts.model_zero_grad
    expect(steps == ref.counts.step, "train.step_count", got=steps, expected=ref.counts.step)
    expect(zeroed >= steps, "train.not_zeroed", zeroed=zeroed, steps=steps)


@points(3)
def test_one_epoch_returns_mean_loss(probes: Probes) -> None:
    got, _ = _run(probes, ONE_EPOCH, ONE)
    value = as_number(got.returned, "train_one_epoch")
    losses = [c.loss for c in got.calls if c.loss is not None]
    expect(losses, "train.no_loss")
    mean = sum(losses) / len(losses)
    expect(close(value, mean), "train.not_mean_loss", value=value, count=len(losses), mean=mean)


@points(5)
@depends_on(
    "one_epoch_runs_on_cpu", "attention_mask_passed", "train_mode", "gradients_zeroed_each_step"
)
def test_one_epoch_steps(probes: Probes) -> None:
    got, ref = _run(probes, ONE_EPOCH, ONE)
    expect(not got.frozen_changed, "train.frozen_changed", example=got.frozen_changed[:1])
    expect(
        len(got.calls) == len(ref.calls),
        "train.call_count",
        got=len(got.calls),
        batches=ref.batches,
        expected=len(ref.calls),
    )
    steps = got.steps or []
    expect(steps, "train.no_step")
    for n, step in enumerate(steps, start=1):
        scale, residual = step.scale, step.residual
        if scale is None:
            fail("train.step_without_loss_gradient", step=n)
        expect(step.norm > 0 and scale > 0, "train.step_zero_gradient", step=n)
        expect(
            residual is not None and residual <= STEP_RESIDUAL,
            "train.step_other_gradient",
            step=n,
            share=plain(min(residual or 0.0, 9.99), 3),
        )
        expect(scale <= STEP_SCALE_MAX, "train.step_gradient_scaled", step=n, scale=plain(scale, 3))


@points(3)
@depends_on("gradients_zeroed_each_step", when=("train.scaler_count", "train.scaler_step_count"))
def test_scaler_used(probes: Probes) -> None:
    got, ref = _run(probes, ONE_EPOCH_AMP, AMP)
    want = _scaler(ref)
    _expect_scaler_calls(_scaler(got), want, "train.scaler_count")
    expect(
        got.counts.step == want.step,
        "train.scaler_step_count",
        got=got.counts.step,
        expected=want.step,
    )


@points(3)
def test_autocast(probes: Probes) -> None:
    got, _ = _run(probes, ONE_EPOCH_AMP, AMP)
    off = [c for c in got.calls if not c.autocast]
    expect(not off, "train.no_autocast", count=len(off), total=len(got.calls), device="cpu")
    wrong = [c.autocast_dtype for c in got.calls if c.autocast_dtype != "bfloat16"]
    expect(not wrong, "train.autocast_dtype", got=wrong[0] if wrong else "", expected="bfloat16")
    without, _ = _run(probes, ONE_EPOCH, ONE)
    expect(not any(c.autocast for c in without.calls), "train.autocast_without_amp")
    evaluated, _ = _run(probes, EVALUATE_AMP, EVAL_AMP)
    off = [c for c in evaluated.calls if c.autocast_dtype != "bfloat16"]
    expect(not off, "train.evaluate_no_autocast", count=len(off), total=len(evaluated.calls))


EVAL = "evaluate(model, loader, device=cpu)"


@points(2)
def test_evaluate_eval_mode_no_grad(probes: Probes) -> None:
    got, _ = _run(probes, EVALUATE, EVAL)
    expect(got.calls, "train.never_called", what="evaluate")
    expect(not any(c.training for c in got.calls), "train.evaluate_training_mode")
    with_grad = [c for c in got.calls if c.grad_enabled]
    expect(not with_grad, "train.evaluate_with_grad", count=len(with_grad), total=len(got.calls))


@points(1)
def test_evaluate_changes_nothing(probes: Probes) -> None:
    got, _ = _run(probes, EVALUATE, EVAL)
    expect(not got.changed, "train.evaluate_changed", example=got.changed[:1])
    expect(not got.grads, "train.evaluate_left_grads", example=got.grads[:1])


@points(2)
@depends_on("evaluate_eval_mode_no_grad", when=("train.evaluate_returned",))
def test_evaluate_loss(probes: Probes) -> None:
    got, ref = _run(probes, EVALUATE, EVAL)
    value = as_number(got.returned, "evaluate")
    losses = [c.loss for c in got.calls if c.loss is not None]
    expect(losses, "train.no_loss")
    mean = sum(losses) / len(losses)
    expect(close(value, mean), "train.evaluate_not_mean", value=value, count=len(losses), mean=mean)
    missing = [c for c in got.calls if not c.attention_mask]
    expect(not missing, "train.evaluate_no_mask")
    have = sorted({str(c.pixel_dtype) for c in got.calls})
    want = sorted({str(c.pixel_dtype) for c in ref.calls})
    expect(
        have == want, "train.evaluate_pixel_dtype", got=", ".join(have), expected=", ".join(want)
    )
    expect(
        close(value, ref.returned, rel=1e-4),
        "train.evaluate_returned",
        value=value,
        expected=ref.returned,
    )


FIT_TEXT = (
    "fit(model, train_loader, valid_loader, out_dir, device=cpu, epochs=4, lr=0.03, gamma=0.5)"
)
HISTORY_KEYS = ["epoch", "lr", "saved", "train_loss", "valid_loss"]
History = list[dict[str, Json]]  # what fit returned: one dict per epoch


def _history(
    probes: Probes, call: ProbeCall[FitResult] = FIT, what: str = FIT_TEXT
) -> tuple[FitResult, FitResult, History]:
    got, ref = _run(probes, call, what)
    history = got.returned
    if not isinstance(history, list):
        fail("train.history_not_list", got=history)
    expect(
        len(history) == len(ref.returned),
        "train.history_length",
        got=len(history),
        expected=len(ref.returned),
    )
    for n, row in enumerate(history):
        if not isinstance(row, dict):
            fail("train.history_row", got=row)
        missing = [key for key in HISTORY_KEYS if key not in row]  # more keys are fine
        expect(
            not missing,
            "train.history_keys",
            n=n,
            missing=missing,
            got=sorted(map(str, row)),
            expected=HISTORY_KEYS,
        )
    return got, ref, history


def _epoch_means(got: FitResult, epochs: int, training: bool) -> list[float | None]:
    """The mean loss of the learner's own forward calls in each epoch's training (or validation) stage."""
    stage = "train" if training else "valid"
    means: list[float | None] = []
    for n in range(1, epochs + 1):
        losses = [c.loss for c in got.calls if c.stage == f"{stage}{n}" and c.loss is not None]
        means.append(sum(losses) / len(losses) if losses else None)
    return means


def _best_flags(losses: list[Json]) -> list[bool]:
    """Whether each epoch's validation loss beats every earlier one: when fit should save."""
    flags, best = [], math.inf
    for loss in losses:
        better = isinstance(loss, (int, float)) and not isinstance(loss, bool) and loss < best
        flags.append(better)
        if better:
            best = loss
    return flags


def _expect_saved_on_improvement(history: History) -> list[bool]:
    """Fail unless each epoch's "saved" flag says whether its own validation loss beat every earlier one;
    return those flags."""
    losses = [row.get("valid_loss") for row in history]
    have = [row.get("saved") for row in history]
    want = _best_flags(losses)
    expect(
        have == want,
        "train.saved_per_epoch",
        got=have,
        expected=want,
        losses=[plain(v, 4) for v in losses],
    )
    return want


@points(1)
@depends_on("one_epoch_returns_mean_loss", when=("train.history_loss",))
def test_fit_history(probes: Probes) -> None:
    got, ref, history = _history(probes)
    for n, row in enumerate(history):
        expect(row["epoch"] == n + 1, "train.history_epoch", n=n, got=row["epoch"], expected=n + 1)
    for key, training in (("train_loss", True), ("valid_loss", False)):
        for n, (row, mean) in enumerate(zip(history, _epoch_means(got, len(history), training))):
            if mean is not None:
                expect(
                    close(row[key], mean, rel=1e-4),
                    "train.history_loss",
                    n=n,
                    key=repr(key),
                    got=row[key],
                    expected=mean,
                )


@points(2)
def test_fit_learning_rate(probes: Probes) -> None:
    got, ref, history = _history(probes)
    have = [row.get("lr") for row in history]
    want = [row["lr"] for row in ref.returned]
    expect(
        all(close(h, w, rel=1e-6) for h, w in zip(have, want)),
        "train.lr_per_epoch",
        got=have,
        expected=want,
    )
    used = got.optimizers[0].lrs if got.optimizers else []
    expect(
        all(close(h, w, rel=1e-6) for h, w in zip(used, want)) and len(used) == len(want),
        "train.lr_used",
        got=used,
        expected=want,
    )


@points(2)
def test_fit_saves_only_improvements(probes: Probes) -> None:
    got, _, history = _history(probes)
    want = _expect_saved_on_improvement(history)
    saves = len(got.save_stages)
    expect(saves == sum(want), "train.save_count", got=saves, expected=sum(want))


@points(2)
@depends_on("fit_saves_only_improvements")
def test_fit_keeps_best_weights(probes: Probes) -> None:
    got, _, history = _history(probes)
    expect(
        "adapter_model.safetensors" in got.saved_files,
        "train.no_adapter_saved",
        got=got.saved_files,
    )
    flags = _best_flags([row.get("valid_loss") for row in history])
    best = max((n for n, flag in enumerate(flags) if flag), default=None)
    if best is None:
        fail("train.no_best_epoch", losses=[plain(row.get("valid_loss"), 4) for row in history])
    st = probes.student_tensors(FIT)
    names = sorted(k[len("saved.") :] for k in st if k.startswith("saved."))
    for name in names:
        problem = compare_tensor(
            name, st[f"saved.{name}"], st.get(f"epoch{best + 1}.{name}"), atol=1e-6
        )
        if problem:
            fail("prefixed", what=Msg("train.saved_not_best", epoch=best + 1), text=problem)


@points(1)
def test_fit_optimises_trainable_only(probes: Probes) -> None:
    got, ref = _run(probes, FIT, FIT_TEXT)
    opts = got.optimizers
    expect(opts, "train.no_optimizer_step")
    opt = opts[0]
    expect(opt.type == "AdamW", "train.not_adamw", got=opt.type)
    expect(opt.frozen_params == 0, "train.optimizer_frozen", count=opt.frozen_params)
    expect(not got.frozen_changed, "train.fit_frozen_changed", example=got.frozen_changed[:1])
    expect(not any(c.autocast for c in got.calls), "train.fit_autocast_on_cpu")


# ---------------------------------------------------------------- on CUDA (with --device cuda; worth no points)
ONE_CUDA = "train_one_epoch(..., device=cuda, scaler=<GradScaler>, amp_dtype=torch.float16)"
FIT_CUDA_TEXT = (
    "fit(model, train_loader, valid_loader, out_dir, device=cuda, epochs=4, lr=0.03, gamma=0.5)"
)


def _cuda(probes: Probes, call: ProbeCall[Run], what: str) -> tuple[Run, Run]:
    """The student's and the reference's CUDA runs; the check is skipped where CUDA is not there."""
    if not probes.has(call):
        skip("cuda.not_requested")
    ref = probes.reference(call)
    if not ran_on_cuda(ref):
        skip("cuda.not_available")
    got, _ = _run(probes, call, what)
    if not ran_on_cuda(got):
        skip("cuda.not_available")
    return got, ref


def _on_device(
    got: OneEpochResult | FitResult, ref: OneEpochResult | FitResult, calls: list[ForwardCall]
) -> None:
    devices = sorted({c.device for c in calls})
    want = ref.cuda.device if ref.cuda is not None else None
    expect(devices == [want], "cuda.inputs_device", got=devices, expected=want)


@points(0)
@cuda_check
def test_cuda_one_epoch(probes: Probes) -> None:
    got, ref = _cuda(probes, ONE_EPOCH_CUDA, ONE_CUDA)
    value = as_number(got.returned, "train_one_epoch")
    expect(got.calls, "train.never_called", what=ONE_CUDA)
    _on_device(got, ref, got.calls)
    off = [c for c in got.calls if not c.autocast]
    expect(not off, "cuda.no_autocast", count=len(off), total=len(got.calls), dtype=ref.amp_dtype)
    wrong = [c.autocast_dtype for c in got.calls if c.autocast_dtype != ref.amp_dtype]
    expect(not wrong, "train.autocast_dtype", got=wrong[0] if wrong else "", expected=ref.amp_dtype)
    _expect_scaler_calls(_scaler(got), _scaler(ref), "train.scaler_count")
    expect(
        close(value, ref.returned, rel=2e-2, abs_=1e-3),
        "cuda.returned_loss",
        what="train_one_epoch",
        value=value,
        expected=ref.returned,
    )


@points(0)
@cuda_check
def test_cuda_fit(probes: Probes) -> None:
    got, ref = _cuda(probes, FIT_CUDA, FIT_CUDA_TEXT)
    _, _, history = _history(probes, FIT_CUDA, FIT_CUDA_TEXT)
    training = [c for c in got.calls if c.training]
    expect(training, "train.never_called", what="fit")
    _on_device(got, ref, got.calls)
    want_dtype = next((c.autocast_dtype for c in ref.calls if c.training), None)
    off = [c for c in training if c.autocast_dtype != want_dtype]
    expect(not off, "cuda.fit_autocast", count=len(off), total=len(training), dtype=want_dtype)
    _expect_scaler_calls(got.grad_scaler, ref.grad_scaler, "cuda.fit_scaler")
    _expect_saved_on_improvement(history)
