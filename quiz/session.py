"""One quiz attempt: choose and order questions, ask, score, record.

Asking is done through a ``choose`` callback, so the same loop serves the terminal
prompt and an answers file.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from quiz.bank import LETTERS, Bank, Question
from quiz.messages import DEFAULT_LANG, message

ATTEMPT_FORMAT = "quiz-attempt/1"


class AnswersError(ValueError):
    """An answers file cannot be read or names unknown questions/options."""


@dataclass(frozen=True)
class Presented:
    """A question as shown: its options in display order (option ids)."""

    question: Question
    option_ids: tuple[str, ...]

    @property
    def letters(self) -> str:
        return LETTERS[: len(self.option_ids)]

    def letter_of(self, option_id: str) -> str:
        return LETTERS[self.option_ids.index(option_id)]


@dataclass
class Attempt:
    """What ``quiz run --out`` writes (``to_dict`` is the JSON record)."""

    quiz: str
    student: str | None
    lang: str
    time: str
    finished: str
    shuffled: bool
    seed: int | None
    question_order: list[str]
    option_order: dict[str, list[str]]
    answers: dict[str, str | None]
    scores: dict[str, int]
    total: int
    max_score: int
    exam: bool = False

    def to_dict(self) -> dict:
        return {
            "format": ATTEMPT_FORMAT,
            "quiz": self.quiz,
            "student": self.student,
            "time": self.time,
            "finished": self.finished,
            "lang": self.lang,
            "exam": self.exam,
            "shuffled": self.shuffled,
            "seed": self.seed,
            "question_order": self.question_order,
            "option_order": self.option_order,
            "answers": self.answers,
            "scores": self.scores,
            "total": self.total,
            "max_score": self.max_score,
        }


def normalise_question_id(bank: Bank, raw: str) -> str:
    """``"3"``, ``"q3"`` or ``"Q3"`` -> ``"Q3"``; ``KeyError`` if the bank has no such question."""
    text = raw.strip()
    candidates = [text, text.upper(), f"Q{text}"]
    for c in candidates:
        if c in bank.ids:
            return c
    raise KeyError(text)


def select_questions(bank: Bank, only: Sequence[str] | None = None) -> list[Question]:
    """All questions, or those named in ``only`` (bank order); ``KeyError`` for an unknown id."""
    if not only:
        return list(bank.questions)
    wanted = {normalise_question_id(bank, q) for q in only}
    return [q for q in bank.questions if q.id in wanted]


def present(
    questions: Sequence[Question], *, shuffle: bool = False, seed: int | None = None
) -> list[Presented]:
    """Fix the display order; with ``shuffle`` both questions and options are shuffled by ``seed``."""
    questions = list(questions)
    if not shuffle:
        return [Presented(q, tuple(o.id for o in q.options)) for q in questions]
    rng = random.Random(seed)
    rng.shuffle(questions)
    out = []
    for q in questions:
        ids = [o.id for o in q.options]
        rng.shuffle(ids)
        out.append(Presented(q, tuple(ids)))
    return out


def parse_letter(raw: str, count: int) -> int | None:
    """Index of the letter typed (``"b"``, ``" B "``, ``"b)"``), or ``None`` if invalid."""
    m = re.fullmatch(r"\s*([a-zA-Z])\s*\)?\s*", raw or "")
    if not m:
        return None
    index = LETTERS.index(m.group(1).lower())
    return index if index < count else None


def score_answers(
    bank: Bank, answers: Mapping[str, str | None], question_ids: Sequence[str]
) -> dict[str, int]:
    """1 for each question whose chosen option id is the right one, else 0."""
    return {qid: int(answers.get(qid) == bank.question(qid).answer) for qid in question_ids}


def load_answers(path: str | Path, bank: Bank) -> dict[str, str]:
    """Read an answers file into ``{question id: option id}``.

    Accepted forms: ``1=d,2=a`` (commas, spaces or new lines between pairs), or JSON
    ``{"Q1": "d", "Q2": "contrastive-search"}`` (a saved attempt record works too).
    Letters always mean the seed's original order (a-d as printed in the lab), never a
    shuffled display order; option ids are accepted too.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise AnswersError(f"{p}: cannot read ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise AnswersError(f"{p}: not a UTF-8 text file") from exc
    pairs: list[tuple[str, str]]
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise AnswersError(
                f"{p}: broken JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from exc
        if not isinstance(data, dict):
            raise AnswersError(f'{p}: expected a JSON object such as {{"Q1": "d"}}')
        if isinstance(data.get("answers"), dict):
            data = data["answers"]
        pairs = [(str(k), v) for k, v in data.items()]
    else:
        pairs = []
        for item in re.split(r"[,\s;]+", text.strip()):
            if not item:
                continue
            if "=" not in item:
                raise AnswersError(f"{p}: {item!r} is not of the form QUESTION=LETTER (e.g. 1=d)")
            k, v = item.split("=", 1)
            pairs.append((k, v))
    out: dict[str, str] = {}
    for key, value in pairs:
        try:
            qid = normalise_question_id(bank, key)
        except KeyError:
            raise AnswersError(
                f"{p}: no question {key!r} in this quiz (known: {', '.join(bank.ids)})"
            ) from None
        if value is None:
            continue
        if not isinstance(value, str):
            raise AnswersError(
                f"{p}: answer to {qid} must be a letter or an option id, got {value!r}"
            )
        q = bank.question(qid)
        ids = [o.id for o in q.options]
        v = value.strip()
        index = parse_letter(v, len(ids)) if len(v.rstrip(")")) == 1 else None
        if index is not None:
            out[qid] = ids[index]
        elif v in ids:
            out[qid] = v
        else:
            raise AnswersError(
                f"{p}: answer {value!r} to {qid} is neither a letter a-{LETTERS[len(ids) - 1]} nor one of {ids}"
            )
    return out


# ---------------------------------------------------------------- rendering
def render_question(p: Presented, n: int, total: int, lang: str) -> str:
    q = p.question
    lines = [message("question", lang, n=n, total=total, topic=q.topic), q.stem[lang]]
    lines += [f"  {L}) {q.option(oid).text[lang]}" for L, oid in zip(p.letters, p.option_ids)]
    if q.note:
        lines.append(message("note", lang, text=q.note[lang]))
    return "\n".join(lines)


def render_feedback(p: Presented, chosen: str | None, lang: str) -> str:
    """Immediate feedback: right or wrong, the chosen option's feedback, the explanation if wrong."""
    q = p.question
    if chosen is None:
        lines = [message("no_answer", lang)]
    elif chosen == q.answer:
        return "\n".join([message("correct", lang), q.option(chosen).feedback[lang]])
    else:
        lines = [q.option(chosen).feedback[lang]]
    right = q.right
    lines.insert(0, message("wrong", lang, letter=p.letter_of(right.id), text=right.text[lang]))
    lines += [
        message("explanation", lang, text=q.explanation[lang]),
        message("source", lang, text=q.source),
    ]
    return "\n".join(lines)


def render_summary(presented: Sequence[Presented], attempt: Attempt, lang: str) -> str:
    """Score line, then for each wrong answer: the question, the right answer and the explanation."""
    lines = [message("score", lang, score=attempt.total, total=attempt.max_score)]
    missed = [(n, p) for n, p in enumerate(presented, 1) if not attempt.scores[p.question.id]]
    if not missed:
        lines.append(message("all_right", lang))
        return "\n".join(lines)
    lines.append(message("review", lang))
    for n, p in missed:
        q = p.question
        chosen = attempt.answers.get(q.id)
        shown = (
            f"{p.letter_of(chosen)}) {q.option(chosen).text[lang]}"
            if chosen
            else message("none", lang)
        )
        lines += [
            "",
            message("review_item", lang, label=f"{n}.", stem=q.stem[lang]),
            "   " + message("your_answer", lang, answer=shown),
            "   "
            + message("right_answer", lang, letter=p.letter_of(q.answer), text=q.right.text[lang]),
            "   " + message("explanation", lang, text=q.explanation[lang]),
            "   " + message("source", lang, text=q.source),
        ]
    return "\n".join(lines)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass
class RunOptions:
    lang: str = DEFAULT_LANG
    exam: bool = False
    student: str | None = None
    shuffled: bool = False
    seed: int | None = None
    show_given: bool = False  # echo the answer taken from a file
    clock: Callable[[], str] = field(default=now_iso)


def run_quiz(
    bank: Bank,
    presented: Sequence[Presented],
    choose: Callable[[Presented], str | None],
    echo: Callable[[str], None],
    options: RunOptions,
) -> Attempt:
    """Ask every presented question via ``choose`` (returns an option id or None), score, summarise.

    ``choose`` may raise (e.g. ``click.Abort``): nothing is returned or written then.
    """
    lang = options.lang
    started = options.clock()
    answers: dict[str, str | None] = {}
    if options.exam:
        echo(message("exam_start", lang))
    for n, p in enumerate(presented, 1):
        echo("")
        echo(render_question(p, n, len(presented), lang))
        chosen = choose(p)
        answers[p.question.id] = chosen
        if options.show_given and chosen is not None:
            echo(
                message(
                    "given",
                    lang,
                    letter=p.letter_of(chosen),
                    text=p.question.option(chosen).text[lang],
                )
            )
        if not options.exam:
            echo(render_feedback(p, chosen, lang))
    order = [p.question.id for p in presented]
    scores = score_answers(bank, answers, order)
    attempt = Attempt(
        quiz=bank.quiz_id,
        student=options.student,
        lang=lang,
        time=started,
        finished=options.clock(),
        shuffled=options.shuffled,
        seed=options.seed,
        question_order=order,
        option_order={p.question.id: list(p.option_ids) for p in presented},
        answers=answers,
        scores=scores,
        total=sum(scores.values()),
        max_score=len(order),
        exam=options.exam,
    )
    echo("")
    echo(render_summary(presented, attempt, lang))
    return attempt
