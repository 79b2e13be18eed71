"""The quiz in a notebook: radio buttons and a submit button (ipywidgets), or the answers typed as text.

Scoring and the saved record are those of ``quiz run``: the same bank, ``run_quiz`` and attempt record, so
``quiz grade`` reads a notebook's attempt like any other. Letters are the lab's original a–d (no shuffling).

In a notebook::

    form = QuizForm(lang="vi", student="An")
    form.show()                    # radio buttons + submit; without ipywidgets the questions as text
    form.answer("1d 2a 3d …")      # the text route: select these answers and submit them

Without a person (a test, a script): ``form.select("1d 2a …")`` sets the radio buttons and
``form.submit()`` does what the button does (``form.button.click()`` runs the button's own handler);
``answer("1d 2a …")`` scores and saves with no form at all.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from quiz.bank import LETTERS, Bank, load_bank
from quiz.files import write_json_atomic
from quiz.messages import DEFAULT_LANG, check_lang, message
from quiz.session import (
    AnswersError,
    Attempt,
    Presented,
    RunOptions,
    normalise_question_id,
    parse_letter,
    present,
    render_feedback,
    render_question,
    render_summary,
    run_quiz,
)

DEFAULT_OUT = "quiz-attempt.json"
Answers = str | Sequence[str] | Mapping[str, str]
_PAIR = re.compile(r"(?:q)?(\d+)\s*[=:.)\-]?\s*([a-z])(?![a-z])", re.IGNORECASE)


def parse_answers(answers: Answers, bank: Bank) -> dict[str, str]:
    """{question id: option id} from ``"1d 2a …"`` (also ``1=d, 2=a``), a list of letters in question order
    (``["d", "a", …]``, None or "" to skip one) or a mapping ``{"Q1": "d"}``; letters are the lab's a–d."""
    if isinstance(answers, str):
        text = answers.strip()
        pairs = _PAIR.findall(text)
        rest = _PAIR.sub("", text)
        if re.sub(r"[\s,;]+", "", rest):
            raise AnswersError(f"{rest.strip()!r} is not of the form NUMBER LETTER (e.g. 1d)")
    elif isinstance(answers, Mapping):
        pairs = [(str(k), v) for k, v in answers.items()]
    else:
        answers = list(answers)
        if len(answers) > len(bank.ids):
            raise AnswersError(f"{len(answers)} answers for {len(bank.ids)} questions")
        pairs = [(qid, letter) for qid, letter in zip(bank.ids, answers) if letter]
    out: dict[str, str] = {}
    for key, value in pairs:
        try:
            qid = normalise_question_id(bank, str(key))
        except KeyError:
            raise AnswersError(
                f"no question {key!r} in this quiz (known: 1–{len(bank.ids)})"
            ) from None
        ids = [o.id for o in bank.question(qid).options]
        index = parse_letter(str(value), len(ids))
        if index is None and value in ids:
            index = ids.index(value)
        if index is None:
            raise AnswersError(
                f"answer {value!r} to {qid} is not a letter a–{LETTERS[len(ids) - 1]}"
            )
        out[qid] = ids[index]
    return out


def score(
    chosen: Mapping[str, str | None],
    *,
    bank: Bank,
    lang: str = DEFAULT_LANG,
    student: str | None = None,
    out: str | Path | None = DEFAULT_OUT,
    echo: Callable[[str], None] = print,
) -> tuple[Attempt, list[Presented]]:
    """Score ``chosen`` ({question id: option id}) with ``run_quiz``, as ``quiz run --answers`` does, and save it."""
    presented = present(bank.questions)
    options = RunOptions(lang=lang, student=student, show_given=True)
    attempt = run_quiz(
        bank, presented, lambda p: chosen.get(p.question.id), lambda line: None, options
    )
    echo(render_summary(presented, attempt, lang))
    if out:
        write_json_atomic(out, attempt.to_dict())
        echo(message("saved", lang, path=out))
    return attempt, presented


def answer(
    answers: Answers,
    *,
    lang: str = DEFAULT_LANG,
    student: str | None = None,
    out: str | Path | None = DEFAULT_OUT,
    bank: Bank | None = None,
    echo: Callable[[str], None] = print,
) -> Attempt:
    """Score typed answers (see :func:`parse_answers`), print the score and a review, save the attempt."""
    bank = bank or load_bank()
    return score(
        parse_answers(answers, bank), bank=bank, lang=lang, student=student, out=out, echo=echo
    )[0]


class QuizForm:
    """The ten questions as radio buttons with a submit button; without ipywidgets, as text to answer by typing."""

    def __init__(
        self,
        lang: str = DEFAULT_LANG,
        student: str | None = None,
        out: str | Path | None = DEFAULT_OUT,
        bank: Bank | None = None,
    ):
        self.bank = bank or load_bank()
        self.lang = check_lang(lang)
        self.student = student or None
        self.out = out
        self.presented = present(self.bank.questions)
        self.attempt: Attempt | None = None
        self._typed: dict[str, str] = {}
        self.radios: dict[str, object] = {}
        self.feedback: dict[str, object] = {}
        self.summary = None
        self.button = None
        self.widget = None

    def _build(self) -> bool:
        """Make the widgets once; False when ipywidgets is not installed."""
        if self.widget is not None:
            return True
        try:
            import ipywidgets as widgets
        except ImportError:
            return False
        rows = [widgets.HTML(f"<h3>{html.escape(self.bank.title[self.lang])}</h3>")]
        for n, p in enumerate(self.presented, 1):
            q = p.question
            head = html.escape(
                message("question", self.lang, n=n, total=len(self.presented), topic=q.topic)
            )
            text = f"<b>{head}</b><br>{html.escape(q.stem[self.lang])}"
            if q.note:
                text += (
                    f"<br><i>{html.escape(message('note', self.lang, text=q.note[self.lang]))}</i>"
                )
            radio = widgets.RadioButtons(
                options=[
                    (f"{letter}) {q.option(oid).text[self.lang]}", oid)
                    for letter, oid in zip(p.letters, p.option_ids)
                ],
                value=None,
                layout=widgets.Layout(width="auto"),
            )
            self.radios[q.id], self.feedback[q.id] = radio, widgets.Output()
            rows += [widgets.HTML(text), radio, self.feedback[q.id]]
        self.button = widgets.Button(
            description=message("notebook.submit", self.lang), button_style="primary"
        )
        self.button.on_click(lambda _button: self.submit())
        self.summary = widgets.Output()
        self.widget = widgets.VBox([*rows, self.button, self.summary])
        return True

    def show(self) -> None:
        """Display the form; without ipywidgets, print the questions and how to answer them by typing."""
        if self._build():
            from IPython.display import display

            display(self.widget)
            return
        for n, p in enumerate(self.presented, 1):
            print(render_question(p, n, len(self.presented), self.lang) + "\n")
        print(message("notebook.type", self.lang))

    def select(self, answers: Answers) -> dict[str, str]:
        """Choose these answers (any form :func:`parse_answers` reads) in the form; returns {question id: option id}."""
        chosen = parse_answers(answers, self.bank)
        self._typed = chosen
        if self._build():
            for qid, radio in self.radios.items():
                radio.value = chosen.get(qid)
        return chosen

    def chosen(self) -> dict[str, str | None]:
        """The answers chosen so far: the radio buttons' values, or what was typed."""
        if self.radios:
            return {qid: radio.value for qid, radio in self.radios.items()}
        return dict(self._typed)

    def submit(self, *, here: bool = False) -> Attempt:
        """Score the chosen answers as ``quiz run`` does and save the attempt; with widgets, feedback appears
        under each question and the score under the button (``here``: the score and review in the running cell)."""
        chosen = self.chosen()
        for p in self.presented if self.summary is not None and not here else ():
            box = self.feedback[p.question.id]
            box.clear_output()
            with box:
                print(render_feedback(p, chosen.get(p.question.id), self.lang))
        if self.summary is None or here:
            self.attempt = score(
                chosen, bank=self.bank, lang=self.lang, student=self.student, out=self.out
            )[0]
        else:
            self.summary.clear_output()
            with self.summary:
                self.attempt = score(
                    chosen, bank=self.bank, lang=self.lang, student=self.student, out=self.out
                )[0]
        return self.attempt

    def answer(self, answers: Answers) -> Attempt | None:
        """The text route: select ``answers`` and submit them; a typing mistake prints one line and changes nothing."""
        try:
            self.select(answers)
        except AnswersError as err:
            print(message("notebook.bad", self.lang, error=err))
            return None
        return self.submit(here=True)
