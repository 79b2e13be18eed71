"""Writers: one result model (grader.judge.results.GradeResult), several formats."""

from grader.reports.writers.gradescope import to_gradescope, write_gradescope
from grader.reports.writers.json_out import write_json
from grader.reports.writers.junit import to_junit_xml, write_junit
from grader.reports.writers.terminal import points_line, render

__all__ = [
    "render",
    "points_line",
    "write_json",
    "to_gradescope",
    "write_gradescope",
    "to_junit_xml",
    "write_junit",
]
