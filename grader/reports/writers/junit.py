"""JUnit XML: one testsuite per exercise, one testcase per check."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from grader.judge import messages
from grader.judge.results import GradeResult, fmt_points


def to_junit_xml(result: GradeResult) -> str:
    root = ET.Element(
        "testsuites",
        name="grade",
        tests=str(sum(1 for _ in result.checks())),
        failures=str(sum(1 for c in result.checks() if not c.passed and not c.skipped)),
        time=f"{result.execution_time:.3f}",
    )
    for exercise in result.exercises.values():
        suite = ET.SubElement(
            root,
            "testsuite",
            name=exercise.name,
            tests=str(len(exercise.checks)),
            failures=str(sum(1 for c in exercise.checks if not c.passed and not c.skipped)),
            errors="0",
            skipped=str(sum(1 for c in exercise.checks if c.skipped)),
        )
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="score", value=fmt_points(exercise.score))
        ET.SubElement(props, "property", name="max_score", value=fmt_points(exercise.max_score))
        for check in exercise.checks:
            case = ET.SubElement(
                suite, "testcase", classname=f"grade.{exercise.name}", name=check.name, time="0"
            )
            if check.skipped:
                ET.SubElement(case, "skipped", message=check.message[:500])
            elif not check.passed:
                failure = ET.SubElement(
                    case, "failure", message=check.message[:500], type="CheckFailed"
                )
                hint = check.hint and f"{messages.message('hint', result.lang)}: {check.hint}"
                failure.text = "\n".join(filter(None, [check.message, hint, check.output]))
            out = ET.SubElement(case, "system-out")
            out.text = f"points {fmt_points(check.score)}/{fmt_points(check.max_score)}"
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(result: GradeResult, path: str | Path) -> None:
    Path(path).write_text(to_junit_xml(result), encoding="utf-8")
