"""The kit's texts for learners (vqa/messages.toml), looked up as every package of the project looks up its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from catalog import DEFAULT_LANG, LANGS, check_lang, load

__all__ = ["DEFAULT_LANG", "LANGS", "check_lang", "message"]

CATALOG_FILE = Path(__file__).resolve().parent / "messages.toml"


def message(key: str, lang: str = DEFAULT_LANG, /, **fields: Any) -> str:
    """Text ``key`` of messages.toml in ``lang``, formatted with ``fields``; raises
    :class:`~catalog.CatalogError` for a key or a language it lacks."""
    return load(CATALOG_FILE).message(key, lang, **fields)
