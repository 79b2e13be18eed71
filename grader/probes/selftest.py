"""A probe for testing the worker itself: calls ``selftest()`` in a module of the submission."""

from grader.probes.registry import probe
from grader.worker import contract
from grader.worker.contract import SelftestResult
from vqa.course import EXERCISES


def _make(exercise):
    @probe(contract.selftest(exercise), exercise)
    def run(ctx, **args) -> SelftestResult:
        module = ctx.impl(exercise)
        return SelftestResult(value=module.selftest(**args))

    return run


for _exercise in EXERCISES:
    _make(_exercise)
