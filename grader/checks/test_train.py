"""Checks of exercise "train" (35 points). Every probe starts from the reference-built model and batches."""

from grader.checks import as_number, close, compare_tensor, cuda_check, error_text, expect, fail, points, skip
from grader.i18n import Msg

ONE = "train_one_epoch(model, loader, optimizer, device=cpu)"
AMP = "train_one_epoch(..., scaler=<scaler>, amp_dtype=torch.bfloat16)"


def _run(probes, key, what):
    got = probes.student(key)
    if got.get("error"):
        fail("raised", what=what, error=error_text(got["error"]))
    return got, probes.reference(key)


def _weights(probes, key, prefix, what, atol=1e-5, rtol=1e-4):
    st, rt = probes.student_tensors(key), probes.reference_tensors(key)
    names = sorted(k for k in rt if k.startswith(prefix))
    if not names:
        fail("train.no_reference_weights", what=what)
    missing = [n for n in names if n not in st]
    if len(missing) == len(names):
        fail("train.no_weights", what=what)
    for name in names:
        problem = compare_tensor(name[len(prefix):], st.get(name), rt[name], atol=atol, rtol=rtol)
        if problem:
            fail("prefixed", what=what, text=problem)


@points(2)
def test_one_epoch_runs_on_cpu(probes):
    got, _ = _run(probes, "train.one_epoch", ONE)
    as_number(got["returned"], "train_one_epoch")
    expect(got["calls"], "train.never_called", what=ONE)


@points(5)
def test_one_epoch_weights(probes):
    got, ref = _run(probes, "train.one_epoch", ONE)
    expect(not got["frozen_changed"], "train.frozen_changed", example=got["frozen_changed"][:1])
    expect(len(got["calls"]) == len(ref["calls"]), "train.call_count", got=len(got["calls"]),
           batches=ref["batches"], expected=len(ref["calls"]))
    _weights(probes, "train.one_epoch", "trainable.", Msg("train.weights_after_epoch"))


@points(3)
def test_one_epoch_returns_mean_loss(probes):
    got, ref = _run(probes, "train.one_epoch", ONE)
    value = as_number(got["returned"], "train_one_epoch")
    losses = [c["loss"] for c in got["calls"] if c.get("loss") is not None]
    expect(losses, "train.no_loss")
    mean = sum(losses) / len(losses)
    expect(close(value, mean), "train.not_mean_loss", value=value, count=len(losses), mean=mean)
    expect(close(value, ref["returned"], rel=1e-3), "train.returned_loss", what="train_one_epoch", value=value,
           expected=ref["returned"])


@points(2)
def test_gradients_zeroed_each_step(probes):
    got, ref = _run(probes, "train.one_epoch", ONE)
    counts = got["counts"]
    steps = counts["step"]
    zeroed = counts["zero_grad"] + counts["model_zero_grad"]
    expect(steps == ref["counts"]["step"], "train.step_count", got=steps, expected=ref["counts"]["step"])
    expect(zeroed >= steps, "train.not_zeroed", zeroed=zeroed, steps=steps)


@points(3)
def test_attention_mask_passed(probes):
    got, _ = _run(probes, "train.one_epoch", ONE)
    missing = [c for c in got["calls"] if not c["attention_mask"]]
    expect(not missing, "train.no_attention_mask", count=len(missing), total=len(got["calls"]),
           keys=missing[0]["keys"] if missing else "")


@points(1)
def test_train_mode(probes):
    got, _ = _run(probes, "train.one_epoch", ONE)
    expect(all(c["training"] for c in got["calls"]), "train.eval_mode_in_training")


@points(3)
def test_scaler_used(probes):
    got, ref = _run(probes, "train.one_epoch_amp", AMP)
    want = ref["scaler"]
    have = got["scaler"]
    for op in ("scale", "step", "update"):
        expect(have[op] == want[op], "train.scaler_count", op=op, got=have[op], expected=want[op])
    expect(got["counts"]["step"] == want["step"], "train.scaler_step_count", got=got["counts"]["step"],
           expected=want["step"])


@points(3)
def test_autocast(probes):
    got, _ = _run(probes, "train.one_epoch_amp", AMP)
    off = [c for c in got["calls"] if not c["autocast"]]
    expect(not off, "train.no_autocast", count=len(off), total=len(got["calls"]), device="cpu")
    wrong = [c["autocast_dtype"] for c in got["calls"] if c["autocast_dtype"] != "bfloat16"]
    expect(not wrong, "train.autocast_dtype", got=wrong[0] if wrong else "", expected="bfloat16")
    plain, _ = _run(probes, "train.one_epoch", ONE)
    expect(not any(c["autocast"] for c in plain["calls"]), "train.autocast_without_amp")
    _weights(probes, "train.one_epoch_amp", "trainable.", Msg("train.weights_with_autocast", dtype="bfloat16"),
             atol=2e-3, rtol=2e-2)


EVAL = "evaluate(model, loader, device=cpu)"


@points(2)
def test_evaluate_loss(probes):
    got, ref = _run(probes, "train.evaluate", EVAL)
    value = as_number(got["returned"], "evaluate")
    expect(close(value, ref["returned"], rel=1e-4), "train.evaluate_returned", value=value,
           expected=ref["returned"])
    missing = [c for c in got["calls"] if not c["attention_mask"]]
    expect(not missing, "train.evaluate_no_mask")


@points(2)
def test_evaluate_eval_mode_no_grad(probes):
    got, _ = _run(probes, "train.evaluate", EVAL)
    expect(got["calls"], "train.never_called", what="evaluate")
    expect(not any(c["training"] for c in got["calls"]), "train.evaluate_training_mode")
    with_grad = [c for c in got["calls"] if c["grad_enabled"]]
    expect(not with_grad, "train.evaluate_with_grad", count=len(with_grad), total=len(got["calls"]))


@points(1)
def test_evaluate_changes_nothing(probes):
    got, _ = _run(probes, "train.evaluate", EVAL)
    expect(not got["changed"], "train.evaluate_changed", example=got["changed"][:1])
    expect(not got["grads"], "train.evaluate_left_grads", example=got["grads"][:1])


FIT = "fit(model, train_loader, valid_loader, out_dir, device=cpu, epochs=4, lr=0.03, gamma=0.5)"
HISTORY_KEYS = ["epoch", "lr", "saved", "train_loss", "valid_loss"]


def _history(probes, key="train.fit", what=FIT):
    got, ref = _run(probes, key, what)
    history = got["returned"]
    if not isinstance(history, list):
        fail("train.history_not_list", got=history)
    expect(len(history) == len(ref["returned"]), "train.history_length", got=len(history),
           expected=len(ref["returned"]))
    for row in history:
        if not isinstance(row, dict):
            fail("train.history_row", got=row)
    return got, ref, history


@points(1)
def test_fit_history(probes):
    got, ref, history = _history(probes)
    for n, row in enumerate(history):
        keys = sorted(row)
        expect(keys == HISTORY_KEYS, "train.history_keys", n=n, got=keys, expected=HISTORY_KEYS)
        expect(row["epoch"] == n + 1, "train.history_epoch", n=n, got=row["epoch"], expected=n + 1)
    for n, (row, want) in enumerate(zip(history, ref["returned"])):
        for key in ("train_loss", "valid_loss"):
            expect(close(row[key], want[key], rel=1e-3), "train.history_loss", n=n, key=repr(key), got=row[key],
                   expected=want[key])


@points(2)
def test_fit_learning_rate(probes):
    got, ref, history = _history(probes)
    have = [row.get("lr") for row in history]
    want = [row["lr"] for row in ref["returned"]]
    expect(all(close(h, w, rel=1e-6) for h, w in zip(have, want)), "train.lr_per_epoch", got=have, expected=want)
    used = got["optimizers"][0]["lrs"] if got["optimizers"] else []
    expect(all(close(h, w, rel=1e-6) for h, w in zip(used, want)) and len(used) == len(want),
           "train.lr_used", got=used, expected=want)


@points(2)
def test_fit_saves_only_improvements(probes):
    got, ref, history = _history(probes)
    have = [row.get("saved") for row in history]
    want = [row["saved"] for row in ref["returned"]]
    losses = [round(row["valid_loss"], 4) for row in ref["returned"]]
    expect(have == want, "train.saved_per_epoch", got=have, expected=want, losses=losses)
    expect(got["saves"] == ref["saves"], "train.save_count", got=got["saves"], expected=ref["saves"])


@points(2)
def test_fit_keeps_best_weights(probes):
    got, ref, _ = _history(probes)
    expect("adapter_model.safetensors" in got["saved_files"], "train.no_adapter_saved", got=got["saved_files"])
    _weights(probes, "train.fit", "saved.", Msg("train.saved_not_best"), atol=1e-4, rtol=1e-3)


@points(1)
def test_fit_optimises_trainable_only(probes):
    got, ref = _run(probes, "train.fit", FIT)
    opts = got["optimizers"]
    expect(opts, "train.no_optimizer_step")
    opt = opts[0]
    expect(opt["type"] == "AdamW", "train.not_adamw", got=opt["type"])
    expect(opt["frozen_params"] == 0, "train.optimizer_frozen", count=opt["frozen_params"])
    expect(not got["frozen_changed"], "train.fit_frozen_changed", example=got["frozen_changed"][:1])
    expect(got["autocast_calls"] == 0, "train.fit_autocast_on_cpu")


# ---------------------------------------------------------------- on CUDA (with --device cuda; worth no points)
ONE_CUDA = "train_one_epoch(..., device=cuda, scaler=<GradScaler>, amp_dtype=torch.float16)"
FIT_CUDA = "fit(model, train_loader, valid_loader, out_dir, device=cuda, epochs=4, lr=0.03, gamma=0.5)"


def _cuda(probes, key, what):
    """The student's and the reference's CUDA runs; the check is skipped where CUDA is not there."""
    if not probes.has(key):
        skip("cuda.not_requested")
    ref = probes.reference(key)
    if not ref.get("cuda"):
        skip("cuda.not_available")
    got, _ = _run(probes, key, what)
    if not got.get("cuda"):
        skip("cuda.not_available")
    return got, ref


def _on_device(got, ref, calls):
    devices = sorted({c["device"] for c in calls})
    expect(devices == [ref["device"]], "cuda.inputs_device", got=devices, expected=ref["device"])


@points(0)
@cuda_check
def test_cuda_one_epoch(probes):
    got, ref = _cuda(probes, "train.one_epoch_cuda", ONE_CUDA)
    value = as_number(got["returned"], "train_one_epoch")
    expect(got["calls"], "train.never_called", what=ONE_CUDA)
    _on_device(got, ref, got["calls"])
    off = [c for c in got["calls"] if not c["autocast"]]
    expect(not off, "cuda.no_autocast", count=len(off), total=len(got["calls"]), dtype=ref["amp_dtype"])
    wrong = [c["autocast_dtype"] for c in got["calls"] if c["autocast_dtype"] != ref["amp_dtype"]]
    expect(not wrong, "train.autocast_dtype", got=wrong[0] if wrong else "", expected=ref["amp_dtype"])
    for op in ("scale", "step", "update"):
        expect(got["scaler"][op] == ref["scaler"][op], "train.scaler_count", op=op, got=got["scaler"][op],
               expected=ref["scaler"][op])
    expect(close(value, ref["returned"], rel=2e-2, abs_=1e-3), "cuda.returned_loss", what="train_one_epoch",
           value=value, expected=ref["returned"])
    # fp16 on a GPU: looser than on the cpu, still far tighter than one AdamW step
    _weights(probes, "train.one_epoch_cuda", "trainable.", Msg("train.weights_with_autocast", dtype=ref["amp_dtype"]),
             atol=2e-4, rtol=2e-2)


@points(0)
@cuda_check
def test_cuda_fit(probes):
    got, ref = _cuda(probes, "train.fit_cuda", FIT_CUDA)
    _, _, history = _history(probes, "train.fit_cuda", FIT_CUDA)
    training = [c for c in got["calls"] if c["training"]]
    expect(training, "train.never_called", what="fit")
    _on_device(got, ref, got["calls"])
    want_dtype = next((c["autocast_dtype"] for c in ref["calls"] if c["training"]), None)
    off = [c for c in training if c["autocast_dtype"] != want_dtype]
    expect(not off, "cuda.fit_autocast", count=len(off), total=len(training), dtype=want_dtype)
    for op in ("scale", "step", "update"):
        have, want = got["grad_scaler"][op], ref["grad_scaler"][op]
        expect(have == want, "cuda.fit_scaler", op=op, got=have, expected=want)
    have = [row.get("saved") for row in history]
    want = [row["saved"] for row in ref["returned"]]
    losses = [round(row["valid_loss"], 4) for row in ref["returned"]]
    expect(have == want, "train.saved_per_epoch", got=have, expected=want, losses=losses)
    for n, (row, want_row) in enumerate(zip(history, ref["returned"])):
        for key in ("train_loss", "valid_loss"):
            expect(close(row.get(key), want_row[key], rel=5e-2, abs_=1e-3), "train.history_loss", n=n,
                   key=repr(key), got=row.get(key), expected=want_row[key])
