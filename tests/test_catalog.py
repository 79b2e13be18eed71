"""The message catalogs: every text in every language with the same fields, one lookup in every package, and a
text that is missing raises instead of showing a key or English."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import catalog
from catalog import DEFAULT_LANG, LANGS, CatalogError
from grader.judge import messages as grader_messages
from quiz import messages as quiz_messages
from vqa import messages as kit_messages

from paths import ROOT

PACKAGES = ("vqa", "grader", "quiz")
LOOKUPS = {
    "grader": grader_messages.message,
    "quiz": quiz_messages.message,
    "vqa": kit_messages.message,
}
SAMPLES = {  # package: (key, fields, English, Vietnamese)
    "grader": (
        "follows_from",
        {"check": "len"},
        "follows from ✘ “len”: fix that first, then grade again",
        "là hệ quả của ✘ “len”: hãy sửa lỗi đó trước rồi chấm lại",
    ),
    "quiz": ("score", {"score": 7, "total": 10}, "Score: 7/10", "Điểm: 7/10"),
    "vqa": (
        "needs",
        {"what": "lora.py"},
        "This step needs lora.py first: run the cells above once they work.",
        "Bước này cần lora.py trước: hãy chạy các ô ở trên khi chúng đã chạy được.",
    ),
}


def catalog_files() -> list[Path]:
    """Every TOML file of the packages that holds texts (a table with a language in it)."""
    files = sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.toml"))
    return [path for path in files if catalog.entries(catalog.read(path))]


def test_every_package_keeps_its_texts_in_a_catalog():
    found = {path.relative_to(ROOT).as_posix() for path in catalog_files()}
    assert {"grader/judge/hints.toml", "quiz/messages.toml", "vqa/messages.toml"} <= found


@pytest.mark.parametrize(
    "path", catalog_files(), ids=lambda path: path.relative_to(ROOT).as_posix()
)
def test_every_key_has_every_language_with_the_same_fields(path):
    texts = catalog.load(path)
    assert texts.entries
    assert texts.problems() == []


def test_a_missing_language_or_other_fields_are_found(tmp_path):
    path = tmp_path / "texts.toml"
    path.write_text(
        '[a]\nen = "one {n}"\nvi = "một {m}"\n[b.c]\nen = "only English"\n[d]\nen = "{"\nvi = "{"\n',
        encoding="utf-8",
    )
    problems = catalog.load(path).problems()
    assert len(problems) == 3
    assert "'a' has other fields in each language" in problems[0]
    assert "'b.c' has no vi text" in problems[1]
    assert "'d' is not a format string" in problems[2]


@pytest.mark.parametrize("package", sorted(LOOKUPS))
def test_every_package_looks_up_the_same_way_and_a_missing_text_raises(package):
    lookup = LOOKUPS[package]
    assert list(inspect.signature(lookup).parameters) == ["key", "lang", "fields"]
    assert inspect.signature(lookup).parameters["lang"].default == DEFAULT_LANG == "en"
    with pytest.raises(CatalogError, match="no text 'no.such.key'|no text 'msg.no.such.key'"):
        lookup("no.such.key", "en")
    key, fields, english, vietnamese = SAMPLES[package]
    assert lookup(key, "en", **fields) == english == lookup(key, **fields)
    assert lookup(key, "vi", **fields) == vietnamese
    with pytest.raises(CatalogError, match="unknown language 'fr'; choose one of en, vi"):
        lookup(key, "fr", **fields)


def test_a_key_without_the_language_asked_for_raises(tmp_path):
    path = tmp_path / "texts.toml"
    path.write_text('[hello]\nen = "Hello {name}"\n', encoding="utf-8")
    texts = catalog.load(path)
    assert texts.message("hello", "en", name="An") == "Hello An"
    with pytest.raises(CatalogError, match="'hello' has no 'vi' text"):
        texts.message("hello", "vi", name="An")


def _bilingual_dicts(path: Path) -> list[int]:
    """Lines of ``path`` that write a text in several languages as a dict literal ({"en": ..., "vi": ...})."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Dict)
        and len({k.value for k in node.keys if isinstance(k, ast.Constant)} & set(LANGS)) > 1
    ]


def test_no_texts_in_several_languages_outside_the_catalogs():
    where = [
        f"{path.relative_to(ROOT)}:{line}"
        for package in (*PACKAGES, "catalog")
        for path in sorted((ROOT / package).rglob("*.py"))
        for line in _bilingual_dicts(path)
    ]
    assert not where, "texts written in code instead of a catalog: " + ", ".join(where)
