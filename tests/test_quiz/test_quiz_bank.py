"""The question bank: the key against facts.md, validation, and the sealed shipped file."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from quiz.bank import BankError, bank_from_dict, default_bank_path, dump_bank, load_bank
from quiz.cli import main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# facts.md, "Quiz answer key": seed letter and option text of the right answer.
FACTS_KEY = {
    "Q1": ("d", "ResNet"),
    "Q2": ("a", "Contrastive Search"),
    "Q3": ("d", "BEATs"),
    "Q4": ("d", "Cosine Similarity"),
    "Q5": ("b", "AudioLDM"),
    "Q6": ("b", "Vicuna"),
    "Q7": ("d", "Audio Generation"),
    "Q8": ("d", "ImageBind"),
    "Q9": ("c", "Tiny Transformer"),
    "Q10": ("b", "Vicuna"),
}

SEED_STEMS = {
    "Q1": "Mô hình nào sau đây không phải là mô hình ngôn ngữ lớn (LLMs)?",
    "Q3": "Mô hình được sử dụng để encode âm thanh là?",
    "Q7": "Mô hình BLIP-2 không xử lý được bài toán nào sau đây?",
}


def test_key_matches_facts_by_letter_and_text():
    bank = load_bank()
    assert bank.ids == list(FACTS_KEY)
    for q in bank.questions:
        letter, text = FACTS_KEY[q.id]
        assert q.seed_letter(q.answer) == letter, q.id
        assert q.right.text["en"] == text, q.id
        assert q.right.text["vi"] == text, q.id
        assert len(q.options) == 4


def test_seed_text_kept_and_clarifications_noted():
    bank = load_bank()
    for qid, stem in SEED_STEMS.items():
        assert bank.question(qid).stem["vi"] == stem
    q8 = bank.question("Q8")
    assert q8.option("imagebind").seed_text == "ImageBlind"
    assert "ImageBlind" in q8.note["vi"] and "ImageBlind" in q8.note["en"]
    q9 = bank.question("Q9")
    assert "Output Generator" in q9.seed_stem
    assert "Output Projector" in q9.stem["vi"] and "output projector" in q9.stem["en"]
    assert q9.note is not None
    q2 = bank.question("Q2")
    assert q2.option("llm-backbone").seed_text == "LLMs"
    assert "LLM Backbone" in q2.note["en"]


def test_every_question_has_both_languages_feedback_and_source():
    for q in load_bank().questions:
        for lang in ("vi", "en"):
            assert q.stem[lang] and q.explanation[lang]
            for o in q.options:
                assert o.text[lang] and o.feedback[lang]
        assert "arXiv:" in q.source


def test_vietnamese_text_has_diacritics():
    q = load_bank().question("Q1")
    assert "không phải" in q.stem["vi"]
    assert "Đúng" in q.right.feedback["vi"]


def test_shipped_file_does_not_show_the_key():
    text = default_bank_path().read_text(encoding="utf-8")
    data = tomllib.loads(text)
    for q in data["question"]:
        assert "answer" not in q and "explanation" not in q and "source" not in q
        assert all("feedback" not in o for o in q["option"])
    # Nothing that gives the answer away in clear text.
    for giveaway in ("Right:", "Đúng:", "arXiv", "1512.03385", "SALMONN", "Vicuna-7B"):
        assert giveaway not in text, giveaway
    # Each right option id occurs once per question block: as its option's id, nowhere else.
    bank = load_bank()
    blocks = re.split(r"^\[\[question\]\]$", text, flags=re.M)[1:]
    for block, q in zip(blocks, bank.questions):
        assert block.count(f'"{q.answer}"') == 1, q.id


def test_seal_roundtrip_keeps_everything(tmp_path):
    bank = load_bank()
    plain = dump_bank(bank, sealed=False)
    assert 'answer = "resnet"' in plain
    resealed = dump_bank(bank_from_dict(tomllib.loads(plain)), sealed=True, salt="other-salt")
    assert bank_from_dict(tomllib.loads(resealed)).questions == bank.questions


def _plain(tmp_path: Path, edit) -> Path:
    text = dump_bank(load_bank(), sealed=False)
    path = tmp_path / "bank.toml"
    path.write_text(edit(text), encoding="utf-8")
    return path


def test_duplicate_question_id_is_named(tmp_path):
    path = _plain(tmp_path, lambda s: s.replace('id = "Q3"', 'id = "Q2"', 1))
    with pytest.raises(BankError) as err:
        load_bank(path)
    assert f"{path}: question Q2: duplicate question id" in str(err.value)


def test_answer_that_is_not_an_option_is_named(tmp_path):
    path = _plain(tmp_path, lambda s: s.replace('answer = "beats"', 'answer = "wav2vec"'))
    with pytest.raises(BankError) as err:
        load_bank(path)
    assert "question Q3: answer 'wav2vec' is not one of the option ids" in str(err.value)
    assert str(path) in str(err.value)


def test_missing_english_stem_is_named(tmp_path):
    path = _plain(tmp_path, lambda s: s.replace('stem.en = "Which LLM does LLaVA use?"\n', ""))
    with pytest.raises(BankError, match=r"question Q6: the stem has no 'en' text"):
        load_bank(path)


def test_no_right_answer_is_named(tmp_path):
    path = _plain(tmp_path, lambda s: s.replace('answer = "audioldm"\n', ""))
    with pytest.raises(
        BankError, match=r"question Q5: no answer .*exactly one option must be right"
    ):
        load_bank(path)


def test_sealed_key_matching_no_option_is_named(tmp_path):
    text = default_bank_path().read_text(encoding="utf-8")
    digest = re.findall(r'answer_sha256 = "([0-9a-f]+)"', text)[6]  # Q7's
    path = tmp_path / "sealed.toml"
    path.write_text(text.replace(digest, "0" * 64), encoding="utf-8")
    with pytest.raises(BankError, match=r"question Q7: the answer key matches 0 options"):
        load_bank(path)


def test_cli_reports_bad_bank_without_traceback(tmp_path):
    path = _plain(tmp_path, lambda s: s.replace('id = "Q3"', 'id = "Q2"', 1))
    result = CliRunner().invoke(main, ["run", "--bank", str(path), "--lang", "en"], input="d\n")
    assert result.exit_code == 1
    assert "invalid question bank" in result.output and "question Q2: duplicate" in result.output
    assert "Traceback" not in result.output


def test_quiz_key_shows_the_key_to_instructors():
    result = CliRunner().invoke(main, ["key", "--lang", "en"])
    assert result.exit_code == 0
    assert "Q1   d) ResNet" in result.output
    assert "Q9   c) Tiny Transformer" in result.output
    assert "arXiv:2309.05519" in result.output
