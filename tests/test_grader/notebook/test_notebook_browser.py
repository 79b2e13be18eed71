"""check()'s HTML under a cell, in headless Chromium, on a light and a dark notebook theme: what a learner
sees is the failed check with what was found and the hint, and the total, in the theme's own text colour."""

from __future__ import annotations

import pytest
from test_notebook_check import sample_result

from grader.notebook import CheckReport

from browser import browser_skip_reason, open_report

THEMES = {
    "light": ("#ffffff", "rgb(33, 33, 33)"),
    "dark": ("#1e1e1e", "rgb(213, 213, 213)"),
}  # Colab's two


def page(fragment: str, background: str, colour: str) -> str:
    """A notebook output area around the fragment, as Jupyter and Colab give it: the theme's colours, and a
    stylesheet that styles tables its own way (the fragment must hold its own against it)."""
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><style>'
        f"body {{ background: {background}; color: {colour}; font-family: sans-serif; }}"
        "table { border: 2px solid black; } td { text-align: right; padding: 0; }"
        "tbody tr:nth-child(odd) { background: rgba(128, 128, 128, .05); }"
        f'</style></head><body><div class="output_html">{fragment}</div></body></html>'
    )


@pytest.mark.skipif(browser_skip_reason() is not None, reason=browser_skip_reason() or "")
@pytest.mark.parametrize("theme", sorted(THEMES))
def test_a_failed_check_shows_its_message_hint_and_the_total(tmp_path, theme):
    background, colour = THEMES[theme]
    html = tmp_path / "cell.html"
    html.write_text(
        page(CheckReport(sample_result())._repr_html_(), background, colour), encoding="utf-8"
    )
    with open_report(html, tmp_path) as (page_, errors, requests):
        row = page_.locator("tr.check.fail").first
        assert row.is_visible()
        cells = [c.strip() for c in row.locator("td").all_inner_texts()]
        assert cells[0] == "✘" and cells[1] == "item shapes and dtypes" and cells[2] == "0/4"
        assert "labels: got shape [1, 8], expected [8] <list>" in cells[3]
        assert "hint: Squeeze the batch dimension: tensor[0] or .squeeze(0)." in cells[3]
        follows = page_.locator("tr.check.fail").nth(1)
        assert "↳ follows from ✘ “item shapes and dtypes”" in follows.inner_text()
        assert page_.locator("tr.check.pass").count() == 2
        assert "✘" in page_.locator("tbody.exercise-lora").inner_text()
        assert (
            "not implemented yet: write build_lora_model"
            in page_.locator("tbody.exercise-lora").inner_text()
        )
        assert page_.locator(".vqa-check .total").inner_text().strip() == "Points 20/40"
        # the text keeps the theme's colour (readable on light and dark), the marks their own
        message = page_.locator("tr.check.fail .msg").first
        assert message.evaluate("e => getComputedStyle(e).color") == colour
        assert (
            page_.locator("tr.check.fail td.mark").first.evaluate("e => getComputedStyle(e).color")
            == "rgb(229, 83, 75)"
        )
        assert row.locator("td").nth(1).evaluate("e => getComputedStyle(e).textAlign") == "left"
        page_.screenshot(path=str(tmp_path / f"check-{theme}.png"), full_page=True)
        assert errors == [] and all(u.startswith(("file:", "data:", "about:")) for u in requests)
