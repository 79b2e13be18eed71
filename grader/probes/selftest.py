"""A probe for testing the worker itself: calls ``selftest()`` in a module of the submission."""

from grader.probes.registry import probe
from vqa.course import EXERCISES


def _make(exercise):
    @probe(f"selftest.{exercise}", exercise)
    def run(ctx, **args):
        module = ctx.impl(exercise)
        return {"value": module.selftest(**args)}

    return run


for _exercise in EXERCISES:
    _make(_exercise)
