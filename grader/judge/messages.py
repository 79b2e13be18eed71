"""Titles, hints and messages from hints.toml, in English or Vietnamese.

Messages are data: a check fails with a :class:`Msg` (a key of ``[msg."..."]`` in hints.toml and named
fields), and the judge renders it in the learner's language.  Fields may be messages themselves.
"""

from __future__ import annotations

import functools
import math
import re
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


def template(key: str, lang: str = "en", /) -> str | None:
    """The text of message ``key`` in ``lang`` (English when missing there), or None when unknown."""
    labels = table().get("messages", {})
    entry = table().get("msg", {}).get(key, {})
    return (labels.get(lang, {}).get(key) or entry.get(lang)
            or labels.get("en", {}).get(key) or entry.get("en"))


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


def render(value, lang: str = "en"):
    """``value`` with every :class:`Msg` in it rendered in ``lang``, counts pluralisable and floats rounded."""
    if isinstance(value, Msg):
        return value.render(lang)
    if isinstance(value, int) and not isinstance(value, bool):
        return Count(value)
    return _readable(value)


def message(key: str, lang: str = "en", /, **kwargs) -> str:
    text = template(key, lang)
    if text is None:
        return key
    if not kwargs:
        return text
    return text.format(**{name: render(value, lang) for name, value in kwargs.items()})


class Msg:
    """A message not yet rendered: a key of hints.toml and its fields (plain values or other messages)."""

    __slots__ = ("key", "fields")

    def __init__(self, key: str, /, **fields):
        self.key = key
        self.fields = fields

    def render(self, lang: str = "en") -> str:
        return message(self.key, lang, **self.fields) if self.fields else message(self.key, lang)

    def to_dict(self) -> dict:
        return {"key": self.key, "fields": {k: v.to_dict() if isinstance(v, Msg) else v
                                            for k, v in self.fields.items()}}

    @classmethod
    def from_dict(cls, data) -> "Msg | None":
        """A message described as plain data ({"key", "fields"}, as the worker sends it), or None."""
        if not isinstance(data, dict) or not isinstance(data.get("key"), str) or template(data["key"]) is None:
            return None
        fields = {}
        for name, value in (data.get("fields") or {}).items():
            nested = cls.from_dict(value) if isinstance(value, dict) else None
            fields[str(name)] = nested if nested is not None else value
        return cls(data["key"], **fields)

    def __str__(self) -> str:
        return self.render("en")

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


def message_keys(lang: str) -> set[str]:
    """Every message key that has a text in ``lang``."""
    keys = set(table().get("messages", {}).get(lang, {}))
    keys |= {key for key, entry in table().get("msg", {}).items() if entry.get(lang)}
    return keys


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


def error_hint(cause: str, lang: str = "en") -> str:
    """The hint of hints.toml's first [errors.*] entry whose pattern is found in ``cause`` (the learner's
    exception: "kind|Type: message|place"), or "" when none explains it."""
    for entry in table().get("errors", {}).values():
        if re.search(entry["match"], cause):
            return entry.get(lang) or entry["en"]
    return ""


def check_text(name: str, lang: str = "en") -> tuple[str, str]:
    """(title, hint) of a check."""
    entry = table().get("checks", {}).get(name, {})
    title = entry.get("title", {})
    hint = entry.get("hint", {})
    return (title.get(lang) or title.get("en") or name), (hint.get(lang) or hint.get("en") or "")
