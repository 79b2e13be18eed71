"""Checks of exercise "predict" (25 points). The probes read a reference-saved adapter folder."""

from collections.abc import Callable
from typing import TypeVar

from grader.checks import Probes, cuda_check, depends_on, expect, fail, points, raised, skip
from grader.judge.messages import Msg
from grader.judge.plan import ANSWERS, ANSWERS_CUDA, FOLDER
from grader.worker.contract import (
    Answers,
    AnswersResult,
    FolderResult,
    Json,
    LoadedModel,
    ProbeCall,
    Question,
    ran_on_cuda,
)

Part = TypeVar("Part", LoadedModel, Answers)


def _answers(
    probes: Probes,
    what: str,
    part: Callable[[AnswersResult], Part],
    call: ProbeCall[AnswersResult] = ANSWERS,
) -> tuple[AnswersResult, Part, Part]:
    """The learner's answers result, and its ``part`` (failing the check when that part raised) and the
    reference's."""
    got, ref = probes.student(call), probes.reference(call)
    have = part(got)
    if have.error is not None:
        raised(what, have.error)
    return got, have, part(ref)


def _load(r: AnswersResult) -> LoadedModel:
    return r.load


def _answer(r: AnswersResult) -> Answers:
    return r.answer


def _short(r: AnswersResult) -> Answers:
    return r.short


def _norm(answer: Json) -> Json:
    return answer.strip() if isinstance(answer, str) else answer


def _one_word_short(have: list[Json], want: list[Json]) -> bool:
    """Each answer is the reference's or a shorter start of it (max_length counts the [DEC] start token, so
    answers that do not stop early lose their last token)."""
    pairs = list(zip(have, want))
    return (
        bool(pairs)
        and all(isinstance(h, str) and w.startswith(h) for h, w in pairs)
        and any(len(h) < len(w) for h, w in pairs)
    )


def _compare(
    questions: list[Question], have: list[Json], want: list[Json], what: Msg | str
) -> None:
    for h in have:
        if not isinstance(h, str):
            fail("predict.not_a_str", what=what, got=h)
    if have != want and _one_word_short(have, want):
        fail("predict.answers_one_token_short", what=what, got=have[:2], expected=want[:2])
    for n, (h, w) in enumerate(zip(have, want)):
        if _norm(h) != _norm(w):
            question = questions[n]
            fail(
                "predict.answer_differs",
                what=what,
                item=question.item,
                question=repr(question.text),
                got=repr(h),
                expected=repr(w),
            )
    expect(
        len(have) == len(want), "predict.answer_count", what=what, got=len(have), expected=len(want)
    )


@points(5)
@depends_on("answer_question")
def test_load_for_inference(probes: Probes) -> None:
    got, have, want = _answers(probes, "load_for_inference(model_dir, cpu)", _load)
    _compare(got.questions, have.answers, want.answers, Msg("predict.loaded_model_answers"))
    expect(not have.training, "predict.training_mode")


@points(8)
@depends_on("no_special_tokens")
def test_answer_question(probes: Probes) -> None:
    got, have, want = _answers(
        probes, "answer_question(model, processor, image, question, cpu)", _answer
    )
    _compare(got.questions, have.answers, want.answers, "answer_question")


@points(3)
@depends_on(
    "no_special_tokens", "answer_question", when=("predict.answer_differs", "predict.answer_count")
)
def test_max_new_tokens(probes: Probes) -> None:
    got, have, want = _answers(probes, "answer_question(..., max_new_tokens=2)", _short)
    _compare(got.questions, have.answers, want.answers, "answer_question(..., max_new_tokens=2)")


@points(3)
def test_no_special_tokens(probes: Probes) -> None:
    got, have, _ = _answers(probes, "answer_question", _answer)
    for answer in have.answers:
        found = [tok for tok in got.special_tokens if isinstance(answer, str) and tok in answer]
        expect(not found, "predict.special_tokens", answer=repr(answer), found=found)


@points(2)
def test_float32_inputs_on_cpu(probes: Probes) -> None:
    _, have, want = _answers(probes, "answer_question", _answer)
    expect(have.dtypes == want.dtypes, "predict.pixel_dtype", got=have.dtypes, expected=want.dtypes)


def _folder(probes: Probes) -> tuple[FolderResult, FolderResult]:
    got, ref = probes.student(FOLDER), probes.reference(FOLDER)
    if got.error is not None:
        raised("predict_folder(model, processor, test_dir, cpu)", got.error)
    return got, ref


@points(2)
def test_predict_folder_ids(probes: Probes) -> None:
    got, ref = _folder(probes)
    have, want = sorted(got.answers), sorted(ref.answers)
    others = [t for t in got.key_types if t != "str"]
    expect(not others, "predict.folder_key_type", got=others[0] if others else "")
    renamed = {folder: json_id for folder, json_id in ref.json_ids.items() if folder != json_id}
    by_json_id = [
        folder for folder, json_id in renamed.items() if json_id in have and folder not in have
    ]
    expect(
        not by_json_id,
        "predict.folder_keys_json_id",
        folder=by_json_id[0] if by_json_id else "",
        json_id=renamed.get(by_json_id[0], "") if by_json_id else "",
    )
    expect(have == want, "predict.folder_keys", got=have, expected=want)


@points(2)
@depends_on("predict_folder_ids", "answer_question")
def test_predict_folder_answers(probes: Probes) -> None:
    got, ref = _folder(probes)
    for item, want in sorted(ref.answers.items()):
        have = got.answers.get(item)
        expect(
            _norm(have) == _norm(want),
            "predict.folder_answer",
            item=item,
            got=repr(have),
            expected=repr(want),
        )


# ---------------------------------------------------------------- on CUDA (with --device cuda; worth no points)
@points(0)
@cuda_check
def test_cuda_answers(probes: Probes) -> None:
    if not probes.has(ANSWERS_CUDA):
        skip("cuda.not_requested")
    if not ran_on_cuda(probes.reference(ANSWERS_CUDA)):
        skip("cuda.not_available")
    if not ran_on_cuda(probes.student(ANSWERS_CUDA)):
        skip("cuda.not_available")
    got, have, want = _answers(probes, "load_for_inference(model_dir, cuda)", _load, ANSWERS_CUDA)
    _compare(got.questions, have.answers, want.answers, Msg("predict.loaded_model_answers"))
    expect(have.device == want.device, "cuda.model_device", got=have.device, expected=want.device)
    got, answered, expected = _answers(
        probes, "answer_question(model, processor, image, question, cuda)", _answer, ANSWERS_CUDA
    )
    _compare(got.questions, answered.answers, expected.answers, "answer_question")
    expect(
        answered.devices == expected.devices,
        "cuda.pixel_device",
        got=answered.devices,
        expected=expected.devices,
    )
    expect(
        answered.dtypes == expected.dtypes,
        "predict.pixel_dtype",
        got=answered.dtypes,
        expected=expected.dtypes,
    )
