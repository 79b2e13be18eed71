"""The grader's texts: titles, hints and messages from hints.toml, in English or Vietnamese.

Messages are data: a check fails with a :class:`Msg` (a key of ``[msg."..."]`` in hints.toml and named
fields), and the judge renders it in the learner's language.  Fields may be messages themselves.
hints.toml is a catalog (:mod:`catalog`): every lookup here raises :class:`~catalog.CatalogError` for a key
or a language it lacks, which the judge reports as its own fault, never as the learner's.
"""

from __future__ import annotations

import functools
import math
import re
from pathlib import Path

from catalog import DEFAULT_LANG, LANGS, Catalog, CatalogError, load, read

__all__ = [
    "DEFAULT_LANG",
    "LANGS",
    "CatalogError",
    "Count",
    "Msg",
    "check_text",
    "error_hint",
    "hints",
    "message",
    "message_keys",
    "render",
    "symptom",
    "table",
    "where",
]

HINTS_FILE = Path(__file__).resolve().parent / "hints.toml"


def hints() -> Catalog:
    """hints.toml as a catalog: ``msg.<key>``, ``checks.<name>.title`` and ``.hint``, ``errors.<name>``, ..."""
    return load(HINTS_FILE)


@functools.lru_cache(maxsize=1)
def table() -> dict:
    """hints.toml as plain data (the checks' table, the symptoms' roots and the errors' patterns)."""
    return read(HINTS_FILE)


class Count(int):
    """A count in a message: ``{got:time|times}`` reads "1 time", "4 times"; other formats as an int's."""

    def __format__(self, spec: str) -> str:
        if "|" in spec:
            one, many = spec.split("|", 1)
            return f"{int(self)} {one if self == 1 else many}"
        return int.__format__(int(self), spec)


def _readable(value):
    """A float as a learner reads it (six significant digits: 0.00015, not 0.00015000000000000001), in lists too."""
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.6g}")
    if isinstance(value, list):
        return [_readable(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_readable(v) for v in value)
    return value


def render(value, lang: str = DEFAULT_LANG):
    """``value`` with every :class:`Msg` in it rendered in ``lang``, counts pluralisable and floats rounded."""
    if isinstance(value, Msg):
        return value.render(lang)
    if isinstance(value, int) and not isinstance(value, bool):
        return Count(value)
    return _readable(value)


def message(key: str, lang: str = DEFAULT_LANG, /, **fields) -> str:
    """Message ``key`` of hints.toml in ``lang``, its ``fields`` rendered there (:func:`render`)."""
    return hints().message(
        f"msg.{key}", lang, **{name: render(value, lang) for name, value in fields.items()}
    )


class Msg:
    """A message not yet rendered: a key of hints.toml and its fields (plain values or other messages)."""

    __slots__ = ("key", "fields")

    def __init__(self, key: str, /, **fields):
        self.key = key
        self.fields = fields

    def render(self, lang: str = DEFAULT_LANG) -> str:
        return message(self.key, lang, **self.fields)

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "fields": {k: v.to_dict() if isinstance(v, Msg) else v for k, v in self.fields.items()},
        }

    @classmethod
    def from_dict(cls, data) -> Msg | None:
        """A message described as plain data ({"key", "fields"}, as the worker sends it), or None."""
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("key"), str)
            or f"msg.{data['key']}" not in hints()
        ):
            return None
        fields = {}
        for name, value in (data.get("fields") or {}).items():
            nested = cls.from_dict(value) if isinstance(value, dict) else None
            fields[str(name)] = nested if nested is not None else value
        return cls(data["key"], **fields)

    def __str__(self) -> str:
        return self.render(DEFAULT_LANG)

    def __repr__(self) -> str:
        return f"Msg({self.key!r}, {self.fields!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Msg) and (self.key, self.fields) == (other.key, other.fields)

    __hash__ = None  # type: ignore[assignment]  # a Msg is not hashable (its fields may be lists)


def where(text: str):
    """``file.py:12 in fn`` (where the worker saw an exception) as a message, other text as it is."""
    place, sep, function = str(text).rpartition(" in ")
    if sep and place.rsplit(":", 1)[-1].isdigit() and function and " " not in function:
        return Msg("where", place=place, function=function)
    return text


def message_keys() -> set[str]:
    """Every message key of hints.toml (each has every language: tests/test_catalog.py)."""
    return {key.removeprefix("msg.") for key in hints().keys("msg.")}


def symptom(msg: Msg) -> dict:
    """The entry of hints.toml's [symptoms."<key>"] for what a check observed (its message key, or a message
    inside it): a list returned instead of a str says more than the check's general hint. Empty if none."""
    symptoms = table().get("symptoms", {})
    todo = [msg]
    while todo:
        current = todo.pop(0)
        if current.key in symptoms:
            return symptoms[current.key]
        todo.extend(v for v in current.fields.values() if isinstance(v, Msg))
    return {}


def error_hint(cause: str, lang: str = DEFAULT_LANG) -> str:
    """The hint of hints.toml's first [errors.*] entry whose pattern is found in ``cause`` (the learner's
    exception: "kind|Type: message|place"), or "" when none explains it."""
    for name, entry in table().get("errors", {}).items():
        if re.search(entry["match"], cause):
            return hints().template(f"errors.{name}", lang)
    return ""


def check_text(name: str, lang: str = DEFAULT_LANG) -> tuple[str, str]:
    """(title, hint) of a check; raises :class:`~catalog.CatalogError` for a check hints.toml does not describe."""
    return hints().template(f"checks.{name}.title", lang), hints().template(
        f"checks.{name}.hint", lang
    )
