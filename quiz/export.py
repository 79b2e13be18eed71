"""Export the bank: GIFT (Moodle import), Markdown (handout), JSON."""

from __future__ import annotations

import json

from quiz.bank import LETTERS, Bank
from quiz.messages import message

GIFT_SPECIAL = "~=#{}:"


def gift_escape(text: str) -> str:
    """Escape GIFT's special characters ``~ = # { } :`` (and ``\\``) with a backslash; newlines as ``\\n``."""
    out = text.replace("\\", "\\\\")
    for ch in GIFT_SPECIAL:
        out = out.replace(ch, "\\" + ch)
    return out.replace("\r\n", "\n").replace("\n", "\\n")


def to_gift(bank: Bank, lang: str) -> str:
    """Moodle GIFT: one multiple-choice question per block, per-option and general feedback."""
    source_label = message("export.source", lang)
    blocks = [
        f"// {bank.title[lang]}",
        f"// {bank.quiz_id}: {len(bank.questions)} questions ({lang})",
        "",
    ]
    blocks.append("$CATEGORY: $course$/mllm_part4")
    blocks.append("")
    for q in bank.questions:
        stem = q.stem[lang]
        if q.note:
            stem += f"\n({q.note[lang]})"
        lines = [f"::{gift_escape(q.id + ' ' + q.topic)}::{gift_escape(stem)} {{"]
        for o in q.options:
            mark = "=" if o.id == q.answer else "~"
            lines.append(f"\t{mark}{gift_escape(o.text[lang])}#{gift_escape(o.feedback[lang])}")
        general = f"{q.explanation[lang]} ({source_label}: {q.source})"
        lines.append(f"\t####{gift_escape(general)}")
        lines.append("}")
        blocks.append("\n".join(lines))
        blocks.append("")
    return "\n".join(blocks)


def to_markdown(bank: Bank, lang: str, with_key: bool = False) -> str:
    """A handout: questions and options a-d; the answer key at the end only with ``with_key``."""
    out = [f"# {bank.title[lang]}", ""]
    for n, q in enumerate(bank.questions, 1):
        out.append(f"**{message('export.question', lang)} {n}.** {q.stem[lang]}")
        out.append("")
        out += [f"- {LETTERS[i]}) {o.text[lang]}" for i, o in enumerate(q.options)]
        if q.note:
            out += ["", f"> {message('export.note', lang)}: {q.note[lang]}"]
        out.append("")
    if with_key:
        out += [f"## {message('export.key', lang)}", ""]
        for n, q in enumerate(bank.questions, 1):
            r = q.right
            out.append(
                f"{n}. **{q.seed_letter(r.id)}) {r.text[lang]}**: {q.explanation[lang]} "
                f"*{message('export.source', lang)}: {q.source}*"
            )
        out.append("")
    return "\n".join(out)


def to_json(bank: Bank, lang: str, with_key: bool = False) -> str:
    """Questions with option ids and seed letters; answers, feedback and sources only ``with_key``."""
    questions = []
    for q in bank.questions:
        item = {
            "id": q.id,
            "topic": q.topic,
            "stem": q.stem[lang],
            "options": [
                {"id": o.id, "letter": LETTERS[i], "text": o.text[lang]}
                | ({"feedback": o.feedback[lang]} if with_key else {})
                for i, o in enumerate(q.options)
            ],
        }
        if q.note:
            item["note"] = q.note[lang]
        if q.seed_stem:
            item["seed_stem"] = q.seed_stem
        if with_key:
            item |= {
                "answer": q.answer,
                "answer_letter": q.seed_letter(q.answer),
                "explanation": q.explanation[lang],
                "source": q.source,
            }
        questions.append(item)
    data = {"quiz": bank.quiz_id, "title": bank.title[lang], "lang": lang, "questions": questions}
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def key_table(bank: Bank, lang: str) -> str:
    """The answer key for instructors: one block per question."""
    lines = []
    for q in bank.questions:
        r = q.right
        lines.append(f"{q.id:<4} {q.seed_letter(r.id)}) {r.text[lang]}  [{r.id}]")
        lines.append(f"     {q.explanation[lang]}")
        lines.append(f"     {message('export.source', lang)}: {q.source}")
    return "\n".join(lines) + "\n"
