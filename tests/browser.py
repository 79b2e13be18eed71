"""Opening a class report in headless Chromium (via Playwright) and checking what a person sees: shared by
the report's own browser test and the batch test that renders a whole class."""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM = next(
    (p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()), None
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def browser_skip_reason() -> str | None:
    if CHROMIUM is None:
        return "chromium is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright; no browser download needed)"
    return None


def open_report(html: Path, workdir: Path):
    """Context manager yielding (page, console_errors, requests) for ``html`` in headless Chromium."""
    from contextlib import contextmanager

    from playwright.sync_api import sync_playwright

    @contextmanager
    def session():
        profile = workdir / "chromium-profile"  # a fresh profile for every run
        shutil.rmtree(profile, ignore_errors=True)
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                str(profile),
                executable_path=CHROMIUM,
                args=FLAGS,
                headless=True,
                viewport={"width": 1280, "height": 900},
            )
            try:
                page = context.new_page()
                errors: list[str] = []
                requests: list[str] = []
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("request", lambda r: requests.append(r.url))
                page.goto(html.resolve().as_uri())
                page.wait_for_load_state("load")
                yield page, errors, requests
            finally:
                context.close()
            shutil.rmtree(profile, ignore_errors=True)

    return session()


def check_report_in_browser(
    html: Path, workdir: Path, *, students: int, expect_visible: list[str]
) -> Path:
    """The checks every report must pass in the browser; returns the screenshot's path."""
    with open_report(html, workdir) as (page, errors, requests):
        for section in (
            "#summary",
            "#failures",
            "#distribution",
            "#exercises",
            "#checks",
            "#flags",
            "#similar",
            "#students",
        ):
            assert page.locator(section).is_visible(), f"section {section} is not visible"
        assert page.locator("#count-students").inner_text().strip() == str(students)
        rows = page.locator("#student-table tr.student")
        assert rows.count() == students
        assert page.locator("#distribution svg rect").count() == 10
        body = page.locator("body").inner_text()
        for text in expect_visible:
            assert text in body, f"{text!r} is not on the page"

        def totals():
            return [
                float(v)
                for v in page.locator("#student-table td.total").evaluate_all(
                    "cells => cells.map(c => c.getAttribute('data-value'))"
                )
            ]

        total_header = page.locator("#student-table th", has_text="Total")
        total_header.click()
        assert totals() == sorted(totals()) and totals()[0] < totals()[-1]
        total_header.click()
        assert totals() == sorted(totals(), reverse=True)
        # each name links to the student's own feedback page, next to the report
        first = rows.first
        name = first.locator("td").first.locator("a")
        assert name.get_attribute("href").startswith("feedback/") and name.get_attribute(
            "href"
        ).endswith(".html")
        # "only those that need a look" leaves the flagged and the not graded
        look = page.locator("#student-table tr.student[data-look='1']").count()
        page.locator("#only-look").check()
        assert page.locator("#student-table tr.student:visible").count() == look < students
        page.locator("#only-look").uncheck()
        page.locator("#filter").fill(name.inner_text())
        assert page.locator("#student-table tr.student:visible").count() >= 1
        page.locator("#filter").fill("")
        shot = workdir / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        page.emulate_media(media="print")
        assert page.locator("#students").is_visible()
        assert errors == [], f"console errors: {errors}"
        outside = [u for u in requests if not u.startswith(("file:", "data:", "about:"))]
        assert outside == [], f"the report fetched {outside}"
    assert shot.stat().st_size > 10_000
    return shot


def first_paint_ms(html: Path, workdir: Path) -> float:
    """Milliseconds from navigation to the first contentful paint of ``html`` in headless Chromium."""
    with open_report(html, workdir) as (page, _errors, _requests):
        return float(
            page.evaluate(
                "() => { const e = performance.getEntriesByName('first-contentful-paint')[0];"
                " return e ? e.startTime : -1; }"
            )
        )
