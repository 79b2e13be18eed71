"""Load, validate and write the question bank (TOML).

Two forms of the same schema are accepted:

* *sealed* (shipped, ``quiz/questions.toml``): ``answer_sha256`` and ``sealed`` per question;
* *plain* (instructor authoring file): ``answer``, ``explanation``, ``source`` and
  per-option ``feedback`` in clear text. ``quiz seal`` turns a plain file into a sealed one.
"""

from __future__ import annotations

import json
import re
import string
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quiz import sealing

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

LANGS = ("vi", "en")
BANK_FORMAT = "quiz-bank/1"
OPTION_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")  # 2+ chars: never mistaken for a letter
LETTERS = string.ascii_lowercase


class BankError(ValueError):
    """The question bank file is missing, unreadable or invalid."""


@dataclass(frozen=True)
class Option:
    id: str
    text: Mapping[str, str]
    feedback: Mapping[str, str]
    seed_text: str | None = None  # the seed's wording where it was corrected


@dataclass(frozen=True)
class Question:
    id: str
    topic: str
    stem: Mapping[str, str]
    options: tuple[Option, ...]
    answer: str  # option id of the right option
    explanation: Mapping[str, str]
    source: str
    seed_stem: str | None = None
    note: Mapping[str, str] | None = None  # why the seed's wording was clarified

    def option(self, option_id: str) -> Option:
        for opt in self.options:
            if opt.id == option_id:
                return opt
        raise KeyError(option_id)

    def seed_letter(self, option_id: str) -> str:
        """Letter of an option in the seed's (unshuffled) order."""
        return LETTERS[[o.id for o in self.options].index(option_id)]

    @property
    def right(self) -> Option:
        return self.option(self.answer)


@dataclass(frozen=True)
class Bank:
    quiz_id: str
    title: Mapping[str, str]
    questions: tuple[Question, ...]
    path: str = "<memory>"
    salt: str | None = None
    _by_id: dict = field(default_factory=dict, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id.update({q.id: q for q in self.questions})

    def question(self, question_id: str) -> Question:
        return self._by_id[question_id]

    @property
    def ids(self) -> list[str]:
        return [q.id for q in self.questions]


def default_bank_path() -> Path:
    """Path of the shipped (sealed) question bank."""
    return Path(__file__).with_name("questions.toml")


def load_bank(path: str | Path | None = None) -> Bank:
    """Load and validate a bank (the shipped one by default).

    Raises ``BankError`` listing every problem as ``FILE: question QID: problem``.
    """
    p = Path(path) if path is not None else default_bank_path()
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise BankError(f"{p}: cannot read question bank ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise BankError(f"{p}: not a UTF-8 text file") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BankError(f"{p}: not valid TOML: {exc}") from exc
    return bank_from_dict(data, str(p))


def _lang_text(value: Any, where: str, what: str, errors: list[str]) -> dict[str, str]:
    if not isinstance(value, Mapping):
        errors.append(f"{where}: {what} must give the text in both languages (vi, en)")
        return {}
    out = {}
    for lang in LANGS:
        text = value.get(lang)
        if not isinstance(text, str) or not text.strip():
            errors.append(f"{where}: {what} has no '{lang}' text")
        else:
            out[lang] = text
    return out


def bank_from_dict(data: Mapping[str, Any], path: str = "<memory>") -> Bank:
    """Validate parsed TOML and build a :class:`Bank` (see :func:`load_bank`)."""
    errors: list[str] = []
    if data.get("format") != BANK_FORMAT:
        errors.append(f"top level: 'format' must be \"{BANK_FORMAT}\"")
    quiz_id = data.get("quiz")
    if not isinstance(quiz_id, str) or not quiz_id:
        errors.append("top level: 'quiz' (the quiz id) is missing")
    title = _lang_text(data.get("title"), "top level", "'title'", errors)
    salt = data.get("salt")
    raw_questions = data.get("question")
    if not isinstance(raw_questions, list) or not raw_questions:
        errors.append("top level: no [[question]] tables")
        raw_questions = []

    questions: list[Question] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_questions, start=1):
        qid = raw.get("id") if isinstance(raw, Mapping) else None
        where = f"question {qid}" if isinstance(qid, str) and qid else f"question #{index} (no id)"
        if not isinstance(qid, str) or not qid:
            errors.append(f"{where}: 'id' is missing")
        elif qid in seen:
            errors.append(f"{where}: duplicate question id")
        else:
            seen.add(qid)
        q = _question(raw, where, salt, errors)
        if q is not None:
            questions.append(q)

    if errors:
        raise BankError("\n".join(f"{path}: {e}" for e in errors))
    return Bank(quiz_id=quiz_id, title=title, questions=tuple(questions), path=path, salt=salt)


def _question(raw: Mapping[str, Any], where: str, salt: Any, errors: list[str]) -> Question | None:
    n_errors = len(errors)
    qid = raw.get("id", "")
    topic = raw.get("topic")
    if not isinstance(topic, str) or not topic:
        errors.append(f"{where}: 'topic' is missing")
    stem = _lang_text(raw.get("stem"), where, "the stem", errors)
    note = raw.get("note")
    if note is not None:
        note = _lang_text(note, where, "the note", errors)

    raw_options = raw.get("option")
    if not isinstance(raw_options, list) or len(raw_options) < 2:
        errors.append(f"{where}: needs at least two [[question.option]] entries")
        return None
    if len(raw_options) > len(LETTERS):
        errors.append(f"{where}: too many options")
        return None
    option_ids: list[str] = []
    texts: dict[str, dict[str, str]] = {}
    seeds: dict[str, str | None] = {}
    plain_feedback: dict[str, dict[str, str]] = {}
    for n, opt in enumerate(raw_options):
        oid = opt.get("id") if isinstance(opt, Mapping) else None
        owhere = f"{where}, option {LETTERS[n]})"
        if not isinstance(oid, str) or not OPTION_ID_RE.match(oid):
            errors.append(f"{owhere}: 'id' must be 2+ characters of a-z, 0-9 or '-' (got {oid!r})")
            continue
        if oid in option_ids:
            errors.append(f"{owhere}: duplicate option id '{oid}'")
            continue
        option_ids.append(oid)
        texts[oid] = _lang_text({k: opt.get(k) for k in LANGS}, owhere, "the option", errors)
        seeds[oid] = opt.get("seed")
        if "feedback" in opt:
            plain_feedback[oid] = _lang_text(opt["feedback"], owhere, "the feedback", errors)

    has_plain, has_hash = "answer" in raw, "answer_sha256" in raw
    answer: str | None = None
    explanation: dict[str, str] = {}
    source = ""
    feedback: dict[str, dict[str, str]] = {}
    if has_plain and has_hash:
        errors.append(f"{where}: give either 'answer' or 'answer_sha256', not both")
    elif has_plain:
        answer = raw["answer"]
        if answer not in option_ids:
            errors.append(f"{where}: answer {answer!r} is not one of the option ids {option_ids}")
            answer = None
        explanation = _lang_text(raw.get("explanation"), where, "the explanation", errors)
        source = raw.get("source") or ""
        feedback = plain_feedback
    elif has_hash:
        if not isinstance(salt, str) or not salt:
            errors.append(f"{where}: 'answer_sha256' needs a top-level 'salt'")
        else:
            matches = [
                o for o in option_ids if sealing.answer_hash(salt, qid, o) == raw["answer_sha256"]
            ]
            if len(matches) != 1:
                errors.append(
                    f"{where}: the answer key matches {len(matches)} options; exactly one must be right"
                )
            else:
                answer = matches[0]
                try:
                    hidden = sealing.unseal(raw.get("sealed", ""), salt, qid, answer)
                    explanation = _lang_text(
                        hidden.get("explanation"), where, "the explanation", errors
                    )
                    source = hidden.get("source") or ""
                    feedback = {
                        k: _lang_text(v, f"{where}, option {k}", "the feedback", errors)
                        for k, v in hidden.get("feedback", {}).items()
                    }
                except (ValueError, AttributeError) as exc:
                    errors.append(f"{where}: {exc}")
    else:
        errors.append(
            f"{where}: no answer ('answer' or 'answer_sha256'); exactly one option must be right"
        )

    if answer is not None:
        if not source.strip():
            errors.append(f"{where}: the explanation has no 'source'")
        for oid in option_ids:
            if oid not in feedback:
                errors.append(f"{where}: option '{oid}' has no feedback")
        for oid in feedback:
            if oid not in option_ids:
                errors.append(f"{where}: feedback for unknown option '{oid}'")
    if len(errors) > n_errors or answer is None:
        return None
    options = tuple(Option(o, texts[o], feedback[o], seeds[o]) for o in option_ids)
    return Question(
        id=qid,
        topic=topic,
        stem=stem,
        options=options,
        answer=answer,
        explanation=explanation,
        source=source,
        seed_stem=raw.get("seed_stem"),
        note=note,
    )


# ---------------------------------------------------------------- writing
def _s(value: str) -> str:
    """A TOML basic string (JSON string escapes are valid TOML)."""
    return json.dumps(value, ensure_ascii=False)


def _wrapped(blob: str, width: int = 72) -> str:
    parts = [blob[i : i + width] for i in range(0, len(blob), width)] or [""]
    return '"""\\\n' + "\\\n".join(parts) + '"""'


def dump_bank(
    bank: Bank, *, sealed: bool, salt: str | None = None, header: Iterable[str] = ()
) -> str:
    """Write ``bank`` as TOML, sealed (hashed key, hidden feedback) or plain."""
    if sealed:
        salt = salt or bank.salt or sealing.new_salt()
    lines = [f"# {h}" for h in header]
    lines += [f"format = {_s(BANK_FORMAT)}", f"quiz = {_s(bank.quiz_id)}"]
    lines += [f"title.{lang} = {_s(bank.title[lang])}" for lang in LANGS]
    if sealed:
        lines.append(f"salt = {_s(salt)}")
    for q in bank.questions:
        lines += ["", "[[question]]", f"id = {_s(q.id)}", f"topic = {_s(q.topic)}"]
        lines += [f"stem.{lang} = {_s(q.stem[lang])}" for lang in LANGS]
        if q.seed_stem:
            lines.append(f"seed_stem = {_s(q.seed_stem)}")
        if q.note:
            lines += [f"note.{lang} = {_s(q.note[lang])}" for lang in LANGS]
        if sealed:
            hidden = {
                "explanation": dict(q.explanation),
                "source": q.source,
                "feedback": {o.id: dict(o.feedback) for o in q.options},
            }
            lines.append(f"answer_sha256 = {_s(sealing.answer_hash(salt, q.id, q.answer))}")
            lines.append(f"sealed = {_wrapped(sealing.seal(hidden, salt, q.id, q.answer))}")
        else:
            lines.append(f"answer = {_s(q.answer)}")
            lines += [f"explanation.{lang} = {_s(q.explanation[lang])}" for lang in LANGS]
            lines.append(f"source = {_s(q.source)}")
        for o in q.options:
            lines += ["", "[[question.option]]", f"id = {_s(o.id)}"]
            lines += [f"{lang} = {_s(o.text[lang])}" for lang in LANGS]
            if o.seed_text:
                lines.append(f"seed = {_s(o.seed_text)}")
            if not sealed:
                lines += [f"feedback.{lang} = {_s(o.feedback[lang])}" for lang in LANGS]
    return "\n".join(lines) + "\n"
