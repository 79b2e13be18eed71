"""Checks of exercise "predict" (25 points). The probes read a reference-saved adapter folder."""

from grader.checks import error_text, expect, fail, points


def _answers(probes, part, what):
    got, ref = probes.student("predict.answers"), probes.reference("predict.answers")
    value = got.get(part, {})
    if "error" in value:
        fail(f"{what} raised: {error_text(value['error'])}")
    return got, ref, value, ref[part]


def _norm(answer):
    return answer.strip() if isinstance(answer, str) else answer


def _compare(questions, have, want, what):
    for n, (h, w) in enumerate(zip(have, want)):
        if not isinstance(h, str):
            fail(f"{what} should return a str; got {h!r:.80}")
        if _norm(h) != _norm(w):
            item, question = questions[n]
            fail(f"{what}: for image {item} and {question!r} got {h!r}, expected {w!r}")
    expect(len(have) == len(want), f"{what}: got {len(have)} answers, expected {len(want)}")


@points(5)
def test_load_for_inference(probes):
    got, ref, have, want = _answers(probes, "load", "load_for_inference(model_dir, cpu)")
    _compare(got["questions"], have["answers"], want["answers"],
             "the model from load_for_inference (with its LoRA adapter) answers differently")
    expect(not have["training"], "load_for_inference returned the model in training mode: call model.eval()")


@points(8)
def test_answer_question(probes):
    got, ref, have, want = _answers(probes, "answer", "answer_question(model, processor, image, question, cpu)")
    _compare(got["questions"], have["answers"], want["answers"], "answer_question")


@points(3)
def test_max_new_tokens(probes):
    got, ref, have, want = _answers(probes, "short", "answer_question(..., max_new_tokens=2)")
    _compare(got["questions"], have["answers"], want["answers"], "answer_question(..., max_new_tokens=2)")


@points(3)
def test_no_special_tokens(probes):
    got, ref, have, _ = _answers(probes, "answer", "answer_question")
    for answer in have["answers"]:
        found = [tok for tok in got["special_tokens"] if isinstance(answer, str) and tok in answer]
        expect(not found, f"the answer {answer!r} contains special tokens {found}: decode with skip_special_tokens=True")


@points(2)
def test_float32_inputs_on_cpu(probes):
    got, ref, have, want = _answers(probes, "answer", "answer_question")
    expect(have["dtypes"] == want["dtypes"],
           f"pixel values reached the model as {have['dtypes']}, expected {want['dtypes']} (the model's dtype)")


def _folder(probes):
    got, ref = probes.student("predict.folder"), probes.reference("predict.folder")
    if got.get("error"):
        fail(f"predict_folder(model, processor, test_dir, cpu) raised: {error_text(got['error'])}")
    return got, ref


@points(2)
def test_predict_folder_ids(probes):
    got, ref = _folder(probes)
    have, want = sorted(got["answers"]), sorted(ref["answers"])
    expect(have == want, f"predict_folder keys: got {have}, expected every test item id {want}")


@points(2)
def test_predict_folder_answers(probes):
    got, ref = _folder(probes)
    for item, want in sorted(ref["answers"].items()):
        have = got["answers"].get(item)
        expect(_norm(have) == _norm(want), f"predict_folder: item {item}: got {have!r}, expected {want!r}")
