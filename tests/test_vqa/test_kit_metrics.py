"""IconQA's exact match and the normalised match."""

import pytest

from vqa.metrics import exact_match, normalize_answer, normalized_match, score


@pytest.mark.parametrize(
    "pred, gold", [("7,364", "7364"), ("Three", "3"), (" 5 ", "5"), ("5.", "5"), ("TWELVE", "12")]
)
def test_normalised_match_forgives_form(pred, gold):
    assert normalized_match(pred, gold)
    assert not exact_match(pred, gold)


@pytest.mark.parametrize("pred, gold", [("4", "5"), ("1 2", "12"), ("quarter", "half"), ("", "0")])
def test_normalised_match_does_not_forgive_content(pred, gold):
    assert not normalized_match(pred, gold)


def test_normalize_keeps_times_and_words():
    assert normalize_answer("6:30") == "6:30"
    assert normalize_answer("o'clock") == "o'clock"


def test_score_counts_missing_predictions_as_wrong():
    result = score({"a": "1", "b": "two"}, {"a": "1", "b": "2", "c": "3"})
    assert result == {"exact": pytest.approx(1 / 3), "normalized": pytest.approx(2 / 3), "n": 3}
