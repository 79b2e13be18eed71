"""``grader``: the instructor's commands in one click group, each a thin layer over plain functions.

    grader batch DIR [--out OUT]             grade a class: records, feedback and the class files
    grader report OUT                        write OUT's class files again from its records, grading nothing
    grader bundle gradescope OUT.zip         a Gradescope autograder
    grader bundle github-classroom DIR       a GitHub Classroom workflow (short name: classroom)

Learners use ``grade PATH`` (:mod:`grader.cli`). Runs in the instructor's process: no torch."""

from __future__ import annotations

import click

from grader.batch.cli import batch_command, report_command
from grader.bundles.cli import bundle_group


@click.group("grader", context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Instructors' tools: grade a whole class, write its report again, package the grader for a platform.
    (Learners grade their own work with: grade PATH.)"""


main.add_command(batch_command)
main.add_command(report_command)
main.add_command(bundle_group)

if __name__ == "__main__":  # pragma: no cover
    main()
