"""Checks of exercise "predict" (25 points). The probes read a reference-saved adapter folder."""

from grader.checks import cuda_check, depends_on, expect, fail, points, raised, skip
from grader.judge.messages import Msg


def _answers(probes, part, what, key="predict.answers"):
    got, ref = probes.student(key), probes.reference(key)
    value = got.get(part, {})
    if "error" in value:
        raised(what, value["error"])
    return got, ref, value, ref[part]


def _norm(answer):
    return answer.strip() if isinstance(answer, str) else answer


def _one_word_short(have, want) -> bool:
    """Each answer is the reference's or a shorter start of it (max_length counts the [DEC] start token, so
    answers that do not stop early lose their last token)."""
    pairs = list(zip(have, want))
    return (bool(pairs) and all(isinstance(h, str) and w.startswith(h) for h, w in pairs)
            and any(len(h) < len(w) for h, w in pairs))


def _compare(questions, have, want, what):
    for h in have:
        if not isinstance(h, str):
            fail("predict.not_a_str", what=what, got=h)
    if have != want and _one_word_short(have, want):
        fail("predict.answers_one_token_short", what=what, got=have[:2], expected=want[:2])
    for n, (h, w) in enumerate(zip(have, want)):
        if _norm(h) != _norm(w):
            item, question = questions[n]
            fail("predict.answer_differs", what=what, item=item, question=repr(question), got=repr(h),
                 expected=repr(w))
    expect(len(have) == len(want), "predict.answer_count", what=what, got=len(have), expected=len(want))


@points(5)
@depends_on("answer_question")
def test_load_for_inference(probes):
    got, ref, have, want = _answers(probes, "load", "load_for_inference(model_dir, cpu)")
    _compare(got["questions"], have["answers"], want["answers"], Msg("predict.loaded_model_answers"))
    expect(not have["training"], "predict.training_mode")


@points(8)
@depends_on("no_special_tokens")
def test_answer_question(probes):
    got, ref, have, want = _answers(probes, "answer", "answer_question(model, processor, image, question, cpu)")
    _compare(got["questions"], have["answers"], want["answers"], "answer_question")


@points(3)
@depends_on("no_special_tokens", "answer_question", when=("predict.answer_differs", "predict.answer_count"))
def test_max_new_tokens(probes):
    got, ref, have, want = _answers(probes, "short", "answer_question(..., max_new_tokens=2)")
    _compare(got["questions"], have["answers"], want["answers"], "answer_question(..., max_new_tokens=2)")


@points(3)
def test_no_special_tokens(probes):
    got, ref, have, _ = _answers(probes, "answer", "answer_question")
    for answer in have["answers"]:
        found = [tok for tok in got["special_tokens"] if isinstance(answer, str) and tok in answer]
        expect(not found, "predict.special_tokens", answer=repr(answer), found=found)


@points(2)
def test_float32_inputs_on_cpu(probes):
    got, ref, have, want = _answers(probes, "answer", "answer_question")
    expect(have["dtypes"] == want["dtypes"], "predict.pixel_dtype", got=have["dtypes"], expected=want["dtypes"])


def _folder(probes):
    got, ref = probes.student("predict.folder"), probes.reference("predict.folder")
    if got.get("error"):
        raised("predict_folder(model, processor, test_dir, cpu)", got["error"])
    return got, ref


@points(2)
def test_predict_folder_ids(probes):
    got, ref = _folder(probes)
    have, want = sorted(got["answers"]), sorted(ref["answers"])
    others = [t for t in got["key_types"] if t != "str"]
    expect(not others, "predict.folder_key_type", got=others[0] if others else "")
    renamed = {folder: json_id for folder, json_id in ref["json_ids"].items() if folder != json_id}
    by_json_id = [folder for folder, json_id in renamed.items() if json_id in have and folder not in have]
    expect(not by_json_id, "predict.folder_keys_json_id", folder=by_json_id[0] if by_json_id else "",
           json_id=renamed.get(by_json_id[0], "") if by_json_id else "")
    expect(have == want, "predict.folder_keys", got=have, expected=want)


@points(2)
@depends_on("predict_folder_ids", "answer_question")
def test_predict_folder_answers(probes):
    got, ref = _folder(probes)
    for item, want in sorted(ref["answers"].items()):
        have = got["answers"].get(item)
        expect(_norm(have) == _norm(want), "predict.folder_answer", item=item, got=repr(have), expected=repr(want))


# ---------------------------------------------------------------- on CUDA (with --device cuda; worth no points)
@points(0)
@cuda_check
def test_cuda_answers(probes):
    key = "predict.answers_cuda"
    if not probes.has(key):
        skip("cuda.not_requested")
    if not probes.reference(key).get("cuda"):
        skip("cuda.not_available")
    if not probes.student(key).get("cuda"):
        skip("cuda.not_available")
    got, ref, have, want = _answers(probes, "load", "load_for_inference(model_dir, cuda)", key)
    _compare(got["questions"], have["answers"], want["answers"], Msg("predict.loaded_model_answers"))
    expect(have["device"] == want["device"], "cuda.model_device", got=have["device"], expected=want["device"])
    got, ref, have, want = _answers(probes, "answer", "answer_question(model, processor, image, question, cuda)", key)
    _compare(got["questions"], have["answers"], want["answers"], "answer_question")
    expect(have["devices"] == want["devices"], "cuda.pixel_device", got=have["devices"], expected=want["devices"])
    expect(have["dtypes"] == want["dtypes"], "predict.pixel_dtype", got=have["dtypes"], expected=want["dtypes"])
