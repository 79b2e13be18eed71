"""Titles, hints and messages from hints.toml, in English or Vietnamese."""

from __future__ import annotations

import functools
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

LANGS = ("en", "vi")
HINTS_FILE = Path(__file__).resolve().parent / "hints.toml"


@functools.lru_cache(maxsize=1)
def table() -> dict:
    with open(HINTS_FILE, "rb") as fh:
        return tomllib.load(fh)


def message(key: str, lang: str = "en", **kwargs) -> str:
    messages = table().get("messages", {})
    text = messages.get(lang, {}).get(key) or messages.get("en", {}).get(key) or key
    return text.format(**kwargs) if kwargs else text


def check_text(name: str, lang: str = "en") -> tuple[str, str]:
    """(title, hint) of a check."""
    entry = table().get("checks", {}).get(name, {})
    title = entry.get("title", {})
    hint = entry.get("hint", {})
    return (title.get(lang) or title.get("en") or name), (hint.get(lang) or hint.get("en") or "")
