"""Published BLIP fine-tuning code, carried into the four files (tests/realworld/<source>/, each with its
port.toml: the source, the habits carried, the deviations from the contract).

- ``fixed/`` (only the contract's deviations fixed, in the author's own style) scores 100/100: the habits of
  real code (the processor's encoding returned as is, batch.pop, custom collate functions, clipping,
  schedulers, early stopping, prints) cost nothing.
- ``asis/`` (as the author wrote it) loses points in each exercise its port.toml lists a deviation for, and
  nowhere else; every failed check that shows a hint of its own (a root, not "↳ follows from") is the check
  of one of that exercise's deviations, and the first one is, so a learner reading only the first ✘ of an
  exercise knows what to change.
"""

from __future__ import annotations

import pytest
import tomllib

from grader.judge.grade import Grader
from vqa import course

from paths import CACHE

pytestmark = pytest.mark.slow  # grades many submissions end to end: `pytest -m "not slow"` skips it

REALWORLD = course.ROOT / "tests" / "realworld"
PORTS = sorted(p.name for p in REALWORLD.iterdir() if (p / "port.toml").is_file())
DEVIATION_FIELDS = {"exercise", "function", "sentence", "what", "check"}

# (source, exercise) whose first ✘ is not one of its deviations' checks, and why (at most 10% of them)
FIRST_FAILURE_EXCEPTIONS: dict[tuple[str, str], str] = {}


def port(slug: str) -> dict:
    return tomllib.loads((REALWORLD / slug / "port.toml").read_text(encoding="utf-8"))


def stub_text(exercise: str) -> str:
    return " ".join(
        (course.ROOT / "exercises" / course.FILES[exercise]).read_text(encoding="utf-8").split()
    )


@pytest.fixture(scope="module")
def graded():
    """Every port graded once: {(source, "fixed" | "asis"): GradeResult}."""
    with Grader(sandbox="auto", cache_dir=CACHE, timeout=120) as grader:
        yield {
            (slug, kind): grader.grade(REALWORLD / slug / kind)
            for slug in PORTS
            for kind in ("fixed", "asis")
        }


def test_the_corpus_holds_eight_sources_with_their_facts():
    assert len(PORTS) >= 8, PORTS
    sources = set()
    for slug in PORTS:
        data = port(slug)
        assert data["source"] and data["paths"] and data["summary"] and len(data["habits"]) >= 3, (
            slug
        )
        sources.add(data["source"])
        for kind in ("fixed", "asis"):
            assert {p.name for p in (REALWORLD / slug / kind).glob("*.py")} == set(
                course.FILES.values()
            ), slug
        for deviation in data.get("deviation", []):
            assert DEVIATION_FIELDS <= set(deviation), (slug, deviation)
            assert deviation["exercise"] in course.EXERCISES, (slug, deviation)
            sentence = " ".join(deviation["sentence"].split())
            assert sentence in stub_text(deviation["exercise"]), (
                f"{slug}: not a TODO sentence: {sentence!r}"
            )
            check = deviation["check"]
            assert not check or check.startswith(deviation["exercise"] + "."), (slug, check)
            assert check or deviation.get("check_note"), (
                f"{slug}: a deviation no check catches says why"
            )
    assert len(sources) == len(PORTS), "each port carries its own source"


@pytest.mark.parametrize("slug", PORTS)
def test_fixed_port_scores_full_marks(slug, graded):
    result = graded[slug, "fixed"]
    lost = [(c.name, c.message) for c in result.checks() if not c.passed and not c.skipped]
    assert not lost and result.score == 100, f"{slug}: {lost}"


def deviated(slug: str) -> dict[str, set[str]]:
    """{exercise: the checks of its deviations} for the exercises the as-written port deviates in."""
    out: dict[str, set[str]] = {}
    for deviation in port(slug).get("deviation", []):
        out.setdefault(deviation["exercise"], set())
        if deviation["check"]:
            out[deviation["exercise"]].add(deviation["check"])
    return out


@pytest.mark.parametrize("slug", PORTS)
def test_as_written_port_loses_points_where_it_deviates_and_every_root_is_a_deviation(slug, graded):
    result = graded[slug, "asis"]
    expected = deviated(slug)
    for name, ex in result.exercises.items():
        if name not in expected:
            assert ex.score == ex.max_score, (
                f"{slug}: {name} lost points without a deviation: "
                f"{[(c.name, c.message) for c in ex.checks if not c.passed]}"
            )
            continue
        assert ex.score < ex.max_score, f"{slug}: no points lost in {name}"
        if ex.status != "graded":
            continue
        roots = [c.name for c in ex.checks if not c.passed and not c.skipped and not c.caused_by]
        unexplained = [r for r in roots if r not in expected[name]]
        assert not unexplained, (
            f"{slug}: {name}: failures that none of its deviations explains: {unexplained}"
        )


def test_the_first_failure_of_an_exercise_names_one_of_its_deviations(graded):
    misses, total = {}, 0
    for slug in PORTS:
        for name, checks in deviated(slug).items():
            ex = graded[slug, "asis"].exercises[name]
            if ex.status != "graded":
                continue
            total += 1
            first = next(c for c in ex.checks if not c.passed and not c.skipped)
            root = first.caused_by or first.name
            if root not in checks:
                misses[slug, name] = f"first ✘ {first.name}: {first.message}"
    assert set(misses) == set(FIRST_FAILURE_EXCEPTIONS), misses
    assert total and len(misses) <= total // 10, f"{len(misses)} of {total}: {misses}"


def test_every_deviation_that_a_check_catches_fails_that_check(graded):
    for slug in PORTS:
        result = graded[slug, "asis"]
        failed = {c.name for c in result.checks() if not c.passed}
        for deviation in port(slug).get("deviation", []):
            if deviation["check"]:
                assert deviation["check"] in failed, (slug, deviation["what"])
