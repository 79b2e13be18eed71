"""``quiz export``: GIFT checked by an outside parser and Moodle's grammar, Markdown, JSON."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import sys
import types

import pytest
from click.testing import CliRunner

from quiz.bank import Bank, Option, Question, load_bank
from quiz.cli import main
from quiz.export import gift_escape, to_gift, to_json, to_markdown

TRICKY = "Tìm {x}: a=b ~ c # d \\ e"


def tricky_bank() -> Bank:
    q = Question(
        id="Q1",
        topic="Esc",
        stem={"vi": TRICKY, "en": TRICKY},
        options=(
            Option(
                "right-one", {"vi": "x = {1}", "en": "x = {1}"}, {"vi": "ok: #1", "en": "ok: #1"}
            ),
            Option("wrong-one", {"vi": "~y", "en": "~y"}, {"vi": "no = 0", "en": "no = 0"}),
        ),
        answer="right-one",
        explanation={"vi": "a:b", "en": "a:b"},
        source="arXiv:1",
    )
    return Bank(quiz_id="t", title={"vi": "T", "en": "T"}, questions=(q,))


def pygift():
    """pygiftparser, or skip. Its Markdown<3.1 dependency imports pkg_resources at import
    time, which setuptools >= 81 no longer ships; parsing never uses it, so a stub suffices."""
    pytest.importorskip("yattag")
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        sys.modules.setdefault("pkg_resources", types.ModuleType("pkg_resources"))
    parser = pytest.importorskip("pygiftparser.parser")
    from pygiftparser.utils import transformSpecials

    return parser, transformSpecials


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_gift_parses_with_pygiftparser(lang):
    parser, unescape = pygift()
    bank = load_bank()
    questions = parser.parseFile(io.StringIO(to_gift(bank, lang)))
    assert len(questions) == 10
    for parsed, q in zip(questions, bank.questions):
        assert parsed.valid, q.id
        assert parsed.title.startswith(q.id + " ")
        right = [a for a in parsed.answers.answers if a.fraction == 100]
        assert [unescape(a.answer) for a in right] == [q.right.text[lang]]
        assert len(parsed.answers.answers) == 4
        assert unescape(right[0].feedback) == q.right.feedback[lang]
        assert q.source in unescape(parsed.generalFeedback)
        assert unescape(parsed.text).startswith(q.stem[lang])
    assert questions[0].cat == "$course$/mllm_part4"


def test_gift_escaping_roundtrips_through_pygiftparser():
    parser, unescape = pygift()
    # pygiftparser 1.1 ends the answer block at the first "}" even when escaped (Moodle
    # does not), so "}" inside the answers is checked by the grammar test below only.
    bank = tricky_bank()
    q = bank.questions[0]
    q = dataclasses.replace(
        q,
        options=(
            dataclasses.replace(q.options[0], text={"vi": "x = {1", "en": "x = {1"}),
            q.options[1],
        ),
    )
    parsed = parser.parseFile(
        io.StringIO(to_gift(dataclasses.replace(bank, questions=(q,)), "en"))
    )[0]
    assert parsed.valid
    # pygiftparser unescapes ~=#{}: but leaves "\\" doubled, as Moodle's own parser would resolve.
    assert unescape(parsed.text).replace("\\\\", "\\") == TRICKY
    answers = {
        unescape(a.answer): (a.fraction, unescape(a.feedback)) for a in parsed.answers.answers
    }
    assert answers == {"x = {1": (100, "ok: #1"), "~y": (0, "no = 0")}


def test_gift_escape_rules():
    assert gift_escape("a~b=c#d{e}f:g\\h") == "a\\~b\\=c\\#d\\{e\\}f\\:g\\\\h"
    assert gift_escape("line\nnext") == "line\\nnext"


# Moodle's GIFT grammar for one multiple-choice question with feedback, after removing
# escaped characters: no bare ~ = # { } : outside the markup itself.
PLAIN = r"[^~=#{}:\n]*"
GIFT_MC = re.compile(rf"^::{PLAIN}::{PLAIN} \{{\n(\t[=~]{PLAIN}#{PLAIN}\n)+\t####{PLAIN}\n\}}$")


@pytest.mark.parametrize("bank", [load_bank(), tricky_bank()], ids=["shipped", "tricky"])
def test_gift_follows_moodle_grammar(bank):
    text = to_gift(bank, "vi")
    blocks = [b for b in text.split("\n\n") if b.startswith("::")]
    assert len(blocks) == len(bank.questions)
    for block, q in zip(blocks, bank.questions):
        bare = re.sub(r"\\.", "", block)
        assert GIFT_MC.match(bare), block
        assert len(re.findall(r"^\t=", block, flags=re.M)) == 1, q.id
        assert f"\t={gift_escape(q.right.text['vi'])}#" in block


def test_markdown_handout_hides_the_key_unless_asked():
    bank = load_bank()
    handout = to_markdown(bank, "vi")
    assert "**Câu 1.** Mô hình nào sau đây không phải là mô hình ngôn ngữ lớn (LLMs)?" in handout
    assert "- d) ResNet" in handout
    assert "Đáp án" not in handout and "Giải thích" not in handout and "arXiv" not in handout
    keyed = to_markdown(bank, "en", with_key=True)
    assert (
        "## Answer key" in keyed
        and "1. **d) ResNet**" in keyed
        and "9. **c) Tiny Transformer**" in keyed
    )


def test_json_export_key_only_when_asked():
    data = json.loads(to_json(load_bank(), "en"))
    assert len(data["questions"]) == 10
    assert all("answer" not in q for q in data["questions"])
    assert data["questions"][0]["options"][3] == {"id": "resnet", "letter": "d", "text": "ResNet"}
    keyed = json.loads(to_json(load_bank(), "en", with_key=True))
    assert (
        keyed["questions"][7]["answer"] == "imagebind"
        and keyed["questions"][7]["answer_letter"] == "d"
    )


def test_cli_export_writes_file(tmp_path):
    out = tmp_path / "quiz.gift"
    result = CliRunner().invoke(
        main, ["export", "--format", "gift", "--lang", "en", "--out", str(out)]
    )
    assert result.exit_code == 0
    assert "=ResNet#Right\\: ResNet" in out.read_text(encoding="utf-8")
    result = CliRunner().invoke(
        main, ["export", "--format", "gift", "--out", str(tmp_path / "no" / "x.gift")]
    )
    assert result.exit_code == 2 and "does not exist" in result.output
