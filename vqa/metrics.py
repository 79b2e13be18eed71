"""Answer metrics: IconQA's exact string match, and a normalised match that forgives form, not content."""

from __future__ import annotations

import re

NUMBER_WORDS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
}


def normalize_answer(answer: str) -> str:
    """Strip, lower-case, squeeze spaces, drop thousands separators ("7,364" → "7364"), number words → digits."""
    text = " ".join(str(answer).strip().lower().split())
    text = text.rstrip(".")
    if re.fullmatch(r"\d{1,3}(,\d{3})+", text):
        text = text.replace(",", "")
    # word-piece decoding may put spaces inside a number ("1 2" for "12" is not a number; "7, 364" is)
    if re.fullmatch(r"\d{1,3}(\s*,\s*\d{3})+", text):
        text = re.sub(r"[\s,]", "", text)
    if text in NUMBER_WORDS:
        text = str(NUMBER_WORDS[text])
    return text


def exact_match(prediction: str, answer: str) -> bool:
    """IconQA's official metric: the strings are equal."""
    return str(prediction) == str(answer)


def normalized_match(prediction: str, answer: str) -> bool:
    """Equal after :func:`normalize_answer` on both sides."""
    return normalize_answer(prediction) == normalize_answer(answer)


def score(predictions: dict[str, str], answers: dict[str, str]) -> dict[str, float]:
    """Exact and normalised accuracy (0–1) of ``predictions`` over every id in ``answers``; missing ids count wrong."""
    if not answers:
        return {"exact": 0.0, "normalized": 0.0, "n": 0}
    exact = sum(exact_match(predictions.get(i, ""), a) for i, a in answers.items())
    normal = sum(normalized_match(predictions.get(i, ""), a) for i, a in answers.items())
    n = len(answers)
    return {"exact": exact / n, "normalized": normal / n, "n": n}
