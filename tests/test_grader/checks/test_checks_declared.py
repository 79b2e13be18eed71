"""Every check declares what the learner reads about it: a title and a hint in each language."""

from __future__ import annotations

import importlib

import pytest

from grader.judge import messages
from vqa.course import EXERCISES


def check_functions(exercise):
    module = importlib.import_module(f"grader.checks.test_{exercise}")
    return {
        f"{exercise}.{name[5:]}": fn
        for name, fn in vars(module).items()
        if name.startswith("test_") and callable(fn)
    }


@pytest.mark.parametrize("exercise", EXERCISES)
def test_every_check_has_title_and_hint_in_both_languages(exercise):
    table = messages.table()["checks"]
    for name in check_functions(exercise):
        assert name in table, f"{name} missing from hints.toml"
        for lang in messages.LANGS:
            assert table[name]["title"][lang] and table[name]["hint"][lang], (name, lang)
