"""Writers: one result model (grader.results.GradeResult), several formats."""

from grader.outputs.gradescope import to_gradescope, write_gradescope
from grader.outputs.json_out import write_json
from grader.outputs.junit import to_junit_xml, write_junit
from grader.outputs.terminal import points_line, render

__all__ = ["render", "points_line", "write_json", "to_gradescope", "write_gradescope", "to_junit_xml", "write_junit"]
