"""The fixture properties the checks rely on hold with a wide margin, so that the same submission gets the
same grade on every CPU (floating-point results differ between CPUs; a property that held by a hair on one
machine failed on another)."""

from __future__ import annotations

import tempfile

import pytest

from paths import CACHE


@pytest.fixture(scope="module")
def reference():
    from grader.judge.reference import ReferenceStore

    return ReferenceStore(CACHE).get("cpu")


def test_fit_save_pattern_is_fixed_by_design(reference):
    """fit's validation losses are the true losses plus per-epoch offsets; training moves the true loss far
    less between epochs than the offsets' gaps, so the reference saves at epochs 1 and 2 only, anywhere."""
    from grader.probes.train import FIT_VALID_OFFSETS

    history = reference.results["train.fit"].data.returned
    assert [row["saved"] for row in history] == [True, True, False, False]
    true = [row["valid_loss"] - offset for row, offset in zip(history, FIT_VALID_OFFSETS)]
    drift = max(true) - min(true)
    gaps = sorted({abs(a - b) for a in FIT_VALID_OFFSETS for b in FIT_VALID_OFFSETS if a != b})
    assert drift < 1.0, f"the true validation loss moved by {drift:.3f} between epochs"
    assert gaps[0] - drift >= 2.0, "each decision of the save pattern needs a margin of at least 2"


def test_reference_steps_hold_exactly_their_batch_gradient(reference):
    """Each of the reference's optimizer steps holds the gradient of its own batch's loss, to rounding: the
    step check's tolerance is orders of magnitude above what a correct loop shows, and far below what
    gradients left from an earlier step or a second backward give (a share near 1, a scale of 2)."""
    from grader.checks.test_train import STEP_RESIDUAL

    one_epoch = reference.results["train.one_epoch"].data
    assert len(one_epoch.steps) == one_epoch.batches
    for step in one_epoch.steps:
        assert step.norm > 0  # LoRA starts with B != 0: every step has a gradient to take
        assert abs(step.scale - 1.0) < 1e-9 and step.residual < STEP_RESIDUAL / 1000, step


def test_predict_fixture_answers_depend_on_adapter_processor_and_padding(reference):
    """The adapter, the saved processor and the question's padding each change many answers: dropping the
    adapter, loading the base's processor or padding the question unlike training cannot pass by accident."""
    import torch
    from transformers import BlipForQuestionAnswering, BlipProcessor

    from grader.probes import common, context, predict

    art = reference.artifacts
    ctx = context.Context(
        {"role": "reference", "folder": ".", "artifacts": str(art), "scratch": tempfile.mkdtemp()}
    )
    pairs = predict._pairs(ctx)
    tuned = BlipForQuestionAnswering.from_pretrained(art / common.PREDICT_MODEL).eval()
    base = BlipForQuestionAnswering.from_pretrained(art / common.PREDICT_BASE).eval()
    saved, base_processor = (
        BlipProcessor.from_pretrained(art / d) for d in (common.PREDICT_MODEL, common.PREDICT_BASE)
    )

    def answers(model, processor, **padding):
        out = []
        for _, image, question in pairs:
            encoding = processor(images=image, text=question, return_tensors="pt", **padding)
            encoding.pop("token_type_ids", None)
            with torch.no_grad():
                ids = model.generate(**encoding, max_new_tokens=10)
            out.append(processor.decode(ids[0], skip_special_tokens=True))
        return out

    as_trained = {"padding": "max_length", "max_length": 32, "truncation": True}
    want = answers(tuned, saved, **as_trained)
    n = len(want)
    assert n >= 6 and len(set(want)) >= n // 2, "answers differ between questions and images"
    for what, other in (
        ("without the adapter", answers(base, saved, **as_trained)),
        ("with the base's processor", answers(tuned, base_processor, **as_trained)),
        ("with the question unpadded", answers(tuned, saved)),
    ):
        differ = sum(a != b for a, b in zip(want, other))
        assert differ >= n // 3, f"{what}: only {differ} of {n} answers change"
