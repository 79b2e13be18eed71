"""Checks of exercise "train" (35 points). Every probe starts from the reference-built model and batches."""

from grader.checks import as_number, close, compare_tensor, error_text, expect, fail, points

ONE = "train_one_epoch(model, loader, optimizer, device=cpu)"
AMP = "train_one_epoch(..., scaler=<scaler>, amp_dtype=torch.bfloat16)"


def _run(probes, key, what):
    got = probes.student(key)
    if got.get("error"):
        fail(f"{what} raised: {error_text(got['error'])}")
    return got, probes.reference(key)


def _weights(probes, key, prefix, what, atol=1e-5, rtol=1e-4):
    st, rt = probes.student_tensors(key), probes.reference_tensors(key)
    names = sorted(k for k in rt if k.startswith(prefix))
    if not names:
        fail(f"{what}: the reference has no weights to compare")
    missing = [n for n in names if n not in st]
    if len(missing) == len(names):
        fail(f"{what}: no weights found")
    for name in names:
        problem = compare_tensor(name[len(prefix):], st.get(name), rt[name], atol=atol, rtol=rtol)
        if problem:
            fail(f"{what}: {problem}")


@points(2)
def test_one_epoch_runs_on_cpu(probes):
    got, _ = _run(probes, "train.one_epoch", ONE)
    as_number(got["returned"], "train_one_epoch")
    expect(got["calls"], f"{ONE} never called the model")


@points(5)
def test_one_epoch_weights(probes):
    got, ref = _run(probes, "train.one_epoch", ONE)
    expect(not got["frozen_changed"], f"frozen weights changed (e.g. {got['frozen_changed'][:1]})")
    expect(len(got["calls"]) == len(ref["calls"]),
           f"the model was called {len(got['calls'])} times for {ref['batches']} batches, expected {len(ref['calls'])}")
    _weights(probes, "train.one_epoch", "trainable.", "after one epoch the trainable weights differ from the reference's")


@points(3)
def test_one_epoch_returns_mean_loss(probes):
    got, ref = _run(probes, "train.one_epoch", ONE)
    value = as_number(got["returned"], "train_one_epoch")
    losses = [c["loss"] for c in got["calls"] if c.get("loss") is not None]
    expect(losses, "the model never computed a loss: pass labels")
    mean = sum(losses) / len(losses)
    expect(close(value, mean), f"train_one_epoch returned {value:.6f}; the mean of the {len(losses)} batch losses "
                               f"is {mean:.6f}")
    expect(close(value, ref["returned"], rel=1e-3),
           f"train_one_epoch returned {value:.6f}, expected {ref['returned']:.6f} (the reference's)")


@points(2)
def test_gradients_zeroed_each_step(probes):
    got, ref = _run(probes, "train.one_epoch", ONE)
    counts = got["counts"]
    steps = counts["step"]
    zeroed = counts["zero_grad"] + counts["model_zero_grad"]
    expect(steps == ref["counts"]["step"], f"optimizer.step() ran {steps} times, expected once per batch "
                                           f"({ref['counts']['step']})")
    expect(zeroed >= steps, f"gradients were zeroed {zeroed} times for {steps} steps: they pile up across steps "
                            f"(call optimizer.zero_grad() every step)")


@points(3)
def test_attention_mask_passed(probes):
    got, _ = _run(probes, "train.one_epoch", ONE)
    missing = [c for c in got["calls"] if not c["attention_mask"]]
    expect(not missing, f"{len(missing)} of {len(got['calls'])} training forward passes got no attention_mask "
                        f"(the model was given {missing[0]['keys'] if missing else ''})")


@points(1)
def test_train_mode(probes):
    got, _ = _run(probes, "train.one_epoch", ONE)
    expect(all(c["training"] for c in got["calls"]),
           "the model ran in eval mode during training (it came in eval mode, as from_pretrained returns it): "
           "call model.train()")


@points(3)
def test_scaler_used(probes):
    got, ref = _run(probes, "train.one_epoch_amp", AMP)
    want = ref["scaler"]
    have = got["scaler"]
    for op in ("scale", "step", "update"):
        expect(have[op] == want[op], f"scaler.{op}(...) was called {have[op]} times, expected {want[op]} "
                                     f"(once per batch)")
    expect(got["counts"]["step"] == want["step"],
           f"optimizer.step() ran {got['counts']['step']} times, expected {want['step']}, all through scaler.step")


@points(3)
def test_autocast(probes):
    got, _ = _run(probes, "train.one_epoch_amp", AMP)
    off = [c for c in got["calls"] if not c["autocast"]]
    expect(not off, f"{len(off)} of {len(got['calls'])} forward passes ran without autocast on the cpu although "
                    f"amp_dtype was given (autocast on the device's type, not a hard-coded 'cuda')")
    wrong = [c["autocast_dtype"] for c in got["calls"] if c["autocast_dtype"] != "bfloat16"]
    expect(not wrong, f"autocast ran with dtype {wrong[0] if wrong else ''}, expected bfloat16 (amp_dtype)")
    plain, _ = _run(probes, "train.one_epoch", ONE)
    expect(not any(c["autocast"] for c in plain["calls"]), "autocast was on although amp_dtype was None")
    _weights(probes, "train.one_epoch_amp", "trainable.", "with bfloat16 autocast the trainable weights differ",
             atol=2e-3, rtol=2e-2)


EVAL = "evaluate(model, loader, device=cpu)"


@points(2)
def test_evaluate_loss(probes):
    got, ref = _run(probes, "train.evaluate", EVAL)
    value = as_number(got["returned"], "evaluate")
    expect(close(value, ref["returned"], rel=1e-4),
           f"evaluate returned {value:.6f}, expected {ref['returned']:.6f} (the mean validation loss)")
    missing = [c for c in got["calls"] if not c["attention_mask"]]
    expect(not missing, "evaluate did not pass attention_mask to the model")


@points(2)
def test_evaluate_eval_mode_no_grad(probes):
    got, _ = _run(probes, "train.evaluate", EVAL)
    expect(got["calls"], "evaluate never called the model")
    expect(not any(c["training"] for c in got["calls"]),
           "evaluate ran the model in training mode (it came in training mode): call model.eval()")
    with_grad = [c for c in got["calls"] if c["grad_enabled"]]
    expect(not with_grad, f"{len(with_grad)} of {len(got['calls'])} validation forward passes computed gradients: "
                          "wrap them in torch.no_grad()")


@points(1)
def test_evaluate_changes_nothing(probes):
    got, _ = _run(probes, "train.evaluate", EVAL)
    expect(not got["changed"], f"evaluate changed weights (e.g. {got['changed'][:1]})")
    expect(not got["grads"], f"evaluate left gradients on parameters (e.g. {got['grads'][:1]})")


FIT = "fit(model, train_loader, valid_loader, out_dir, device=cpu, epochs=4, lr=0.03, gamma=0.5)"
HISTORY_KEYS = ["epoch", "lr", "saved", "train_loss", "valid_loss"]


def _history(probes):
    got, ref = _run(probes, "train.fit", FIT)
    history = got["returned"]
    if not isinstance(history, list):
        fail(f"fit should return a list with one dict per epoch; got {history!r:.100}")
    expect(len(history) == len(ref["returned"]), f"fit returned {len(history)} epochs, expected {len(ref['returned'])}")
    for row in history:
        if not isinstance(row, dict):
            fail(f"each history entry should be a dict; got {row!r:.100}")
    return got, ref, history


@points(1)
def test_fit_history(probes):
    got, ref, history = _history(probes)
    for n, row in enumerate(history):
        keys = sorted(row)
        expect(keys == HISTORY_KEYS, f"history[{n}] keys: got {keys}, expected {HISTORY_KEYS}")
        expect(row["epoch"] == n + 1, f"history[{n}]['epoch'] is {row['epoch']!r}, expected {n + 1} (1-based)")
    for n, (row, want) in enumerate(zip(history, ref["returned"])):
        for key in ("train_loss", "valid_loss"):
            expect(close(row[key], want[key], rel=1e-3), f"history[{n}][{key!r}] is {row[key]!r}, "
                                                         f"expected {want[key]:.6f}")


@points(2)
def test_fit_learning_rate(probes):
    got, ref, history = _history(probes)
    have = [row.get("lr") for row in history]
    want = [row["lr"] for row in ref["returned"]]
    expect(all(close(h, w, rel=1e-6) for h, w in zip(have, want)),
           f"learning rate per epoch: got {have}, expected {want} (ExponentialLR with gamma=0.5, stepped once per epoch)")
    used = got["optimizers"][0]["lrs"] if got["optimizers"] else []
    expect(all(close(h, w, rel=1e-6) for h, w in zip(used, want)) and len(used) == len(want),
           f"the optimizer stepped with learning rates {used}, expected {want}")


@points(2)
def test_fit_saves_only_improvements(probes):
    got, ref, history = _history(probes)
    have = [row.get("saved") for row in history]
    want = [row["saved"] for row in ref["returned"]]
    losses = [round(row["valid_loss"], 4) for row in ref["returned"]]
    expect(have == want, f"saved per epoch: got {have}, expected {want} for validation losses {losses} "
                         f"(save only when the loss beats the best so far; keep the best as a number)")
    expect(got["saves"] == ref["saves"], f"save_pretrained was called {got['saves']} times, expected {ref['saves']}")


@points(2)
def test_fit_keeps_best_weights(probes):
    got, ref, _ = _history(probes)
    expect("adapter_model.safetensors" in got["saved_files"],
           f"out_dir holds {got['saved_files']}: expected model.save_pretrained(out_dir) (adapter_model.safetensors)")
    _weights(probes, "train.fit", "saved.", "the saved adapter is not the best epoch's", atol=1e-4, rtol=1e-3)


@points(1)
def test_fit_optimises_trainable_only(probes):
    got, ref = _run(probes, "train.fit", FIT)
    opts = got["optimizers"]
    expect(opts, "fit never stepped an optimizer")
    opt = opts[0]
    expect(opt["type"] == "AdamW", f"fit used {opt['type']}, expected AdamW")
    expect(opt["frozen_params"] == 0, f"the optimizer holds {opt['frozen_params']} frozen parameters: give AdamW "
                                      f"only the trainable ones (p.requires_grad)")
    expect(not got["frozen_changed"], f"frozen weights changed during fit (e.g. {got['frozen_changed'][:1]})")
    expect(got["autocast_calls"] == 0, "fit used autocast on the cpu (fp16 autocast and the GradScaler are for CUDA)")
