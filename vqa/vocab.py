"""The tiny models' word list: every word the generated questions and answers use, plus BERT's specials."""

from __future__ import annotations

from functools import lru_cache

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]")
SHAPES = ("diamonds", "stars", "circles", "hearts", "triangles", "squares")
QUESTION_TEMPLATES = (
    "How many {shape} are there?",
    "How many {shape} are shown?",
    "How many {shape} are in the picture?",
)
WORDS = (
    "how",
    "many",
    "are",
    "there",
    "shown",
    "in",
    "the",
    "picture",
    "is",
    "what",
    "of",
    "count",
)
PUNCTUATION = ("?", ",", ".", ":")
DIGITS = tuple(str(d) for d in range(10))


@lru_cache(maxsize=1)
def tokens() -> tuple[str, ...]:
    """All tokens in id order; digits have word-piece continuations so any integer answer tokenizes."""
    return SPECIALS + PUNCTUATION + WORDS + SHAPES + DIGITS + tuple("##" + d for d in DIGITS)


def token_to_id() -> dict[str, int]:
    """The vocabulary as BertTokenizer's ``vocab=`` takes it."""
    return {token: i for i, token in enumerate(tokens())}
