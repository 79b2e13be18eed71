"""Texts people read, kept as data: one TOML catalog per package, one lookup, one default language.

A catalog maps each key to its text in every language; nested tables name keys with dots, so that
``[export.source]`` in a file is the key ``export.source``::

    [saved]
    en = "Attempt saved to {path}."
    vi = "Đã lưu bài làm vào {path}."

Every package looks its texts up the same way, ``message(key, lang, **fields)`` (its ``messages`` module
binds its own file). A key or a language the catalog lacks raises :class:`CatalogError`: a learner never
reads a key instead of a sentence, nor English where they asked for Vietnamese. ``tests/test_catalog.py``
loads every catalog and checks that each key has every language, with the same format fields in each.

The vqa kit, the grader and the quiz all import this module, so it imports nothing from them and nothing
beyond the standard library.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

LANGS: tuple[str, ...] = ("en", "vi")
DEFAULT_LANG = "en"  # the language of every command and page that is not told another


class CatalogError(LookupError):
    """A text the code asks for is not in its catalog: an unknown key, or a key without that language."""


def check_lang(lang: str) -> str:
    """``lang`` when the project speaks it; raises :class:`CatalogError` naming the languages it does."""
    if lang not in LANGS:
        raise CatalogError(f"unknown language {lang!r}; choose one of {', '.join(LANGS)}")
    return lang


def is_entry(node: Any) -> bool:
    """Whether a TOML table is one text (it holds a language), not a table of further keys."""
    return isinstance(node, Mapping) and any(lang in node for lang in LANGS)


def entries(data: Mapping[str, Any], prefix: str = "") -> dict[str, Mapping[str, Any]]:
    """Every text entry in ``data`` by its dotted key (tables that are not texts are walked into)."""
    found: dict[str, Mapping[str, Any]] = {}
    for name, node in data.items():
        key = f"{prefix}{name}"
        if is_entry(node):
            found[key] = node
        elif isinstance(node, Mapping):
            found.update(entries(node, key + "."))
    return found


def field_names(text: str) -> set[str]:
    """The names of the format fields in ``text`` (``{n:one|many}`` and ``{path}`` give n and path)."""
    return {
        name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(text) if name
    }


@dataclass(frozen=True)
class Catalog:
    """The texts of one file: ``entries`` maps a dotted key to its text per language (and any other fields the
    entry carries, such as a hint's ``match``)."""

    source: str
    entries: Mapping[str, Mapping[str, Any]]

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def keys(self, prefix: str = "") -> list[str]:
        """The keys that start with ``prefix``, in the file's order."""
        return [key for key in self.entries if key.startswith(prefix)]

    def template(self, key: str, lang: str = DEFAULT_LANG, /) -> str:
        """The text of ``key`` in ``lang`` as written (not formatted); raises :class:`CatalogError` when absent."""
        entry = self.entries.get(key)
        if entry is None:
            raise CatalogError(f"{self.source} has no text {key!r}")
        text = entry.get(check_lang(lang))
        if not isinstance(text, str):
            raise CatalogError(f"{self.source}: {key!r} has no {lang!r} text")
        return text

    def message(self, key: str, lang: str = DEFAULT_LANG, /, **fields: Any) -> str:
        """The text of ``key`` in ``lang`` with its format fields filled in from ``fields``."""
        return self.template(key, lang).format(**fields)

    def problems(self) -> list[str]:
        """What is wrong with the texts: a key without every language, or whose languages differ in fields."""
        found = []
        for key, entry in self.entries.items():
            texts = {
                lang: text
                for lang in LANGS
                if isinstance(text := entry.get(lang), str) and text.strip()
            }
            missing = [lang for lang in LANGS if lang not in texts]
            if missing:
                found.append(f"{self.source}: {key!r} has no {', '.join(missing)} text")
                continue
            try:
                names = {lang: sorted(field_names(text)) for lang, text in texts.items()}
            except (
                ValueError
            ) as err:  # a stray brace: format() would raise at the learner's first sight of it
                found.append(f"{self.source}: {key!r} is not a format string: {err}")
                continue
            if len({tuple(n) for n in names.values()}) > 1:
                found.append(f"{self.source}: {key!r} has other fields in each language: {names}")
        return found


def read(path: str | Path) -> dict[str, Any]:
    """The TOML file at ``path`` as plain data."""
    with open(path, "rb") as handle:
        return tomllib.load(handle)


@functools.cache
def load(path: str | Path) -> Catalog:
    """The catalog in the TOML file at ``path`` (read once per process)."""
    path = Path(path)
    return Catalog(source=f"{path.parent.name}/{path.name}", entries=entries(read(path)))
