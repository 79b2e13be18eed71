"""report.html in a real browser (headless Chromium via Playwright): the key sections and numbers are
visible, sorting and drill-down work, nothing is fetched from outside, no console errors.
A screenshot is saved under the test's tmp dir."""

from __future__ import annotations

import pytest

from browser import browser_skip_reason, check_report_in_browser

pytestmark = pytest.mark.slow  # grades many submissions end to end: `pytest -m "not slow"` skips it


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory):
    from test_report import sample_records

    from grader.reports import class_report as report

    out = tmp_path_factory.mktemp("report")
    records, pairs, quiz = sample_records(tmp_path_factory.mktemp("code"))
    report.write_class_outputs(records, out, similar=pairs, quiz=quiz)
    return out / "report.html"


@pytest.mark.skipif(browser_skip_reason() is not None, reason=browser_skip_reason() or "")
def test_report_renders_in_chromium(sample_report, tmp_path):
    shot = check_report_in_browser(
        sample_report,
        tmp_path,
        students=6,
        expect_visible=[
            "Score distribution",
            "Most common failures",
            "labels: got shape [1, 8], expected [8]",
            "Similar submissions",
            "Item statistics",
            "Not graded",
            "mallory.zip: refused",
        ],
    )
    print(f"screenshot: {shot}")
