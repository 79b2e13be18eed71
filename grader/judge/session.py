"""The grader as one pytest plugin: it serves probe results to the checks and collects outcomes.

Three hooks do the work (collection filtering, one report per check, the end of the session);
student code never runs in this process, so nothing it patches can reach these hooks.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grader.checks import cause_of
from grader.judge.messages import Msg, where
from grader.worker.handle import CallResult
from vqa.course import stub_sentence

CHECKS_DIR = Path(__file__).resolve().parents[1] / "checks"
logger = logging.getLogger(__name__)


@dataclass
class Status:
    kind: str = "graded"  # graded | load_error | imports_reference
    summary: str = ""


class ProbeStore:
    """What the checks see: the student's and the reference's probe results, by key."""

    def __init__(self, student: dict[str, CallResult], reference: dict[str, CallResult],
                 statuses: dict[str, Status], exercise_of: dict[str, str]):
        self._student = student
        self._reference = reference
        self.statuses = statuses
        self.exercise_of = exercise_of
        self.touched: list[str] = []

    def _gate(self, key: str) -> CallResult:
        status = self.statuses.get(self.exercise_of.get(key, ""), Status())
        if status.kind != "graded":
            pytest.fail(status.summary, pytrace=False)
        self.touched.append(key)
        result = self._student.get(key)
        if result is None:
            _fail(Msg("no_result_for", key=key))
        if result.kind == "internal":  # the grader's own worker or protocol failed, not the learner's code
            raise GraderFault(f"probe call {key}: {result.message}")
        if not result.ok:
            _fail(describe_failure(result),
                  cause=cause_of({"kind": result.kind, "message": result.message, "where": result.where}))
        return result

    def has(self, key: str) -> bool:
        """Whether ``key`` was probed in this run (the CUDA probes only with --device cuda)."""
        return key in self._reference

    def student(self, key: str) -> dict:
        return self._gate(key).data or {}

    def student_tensors(self, key: str) -> dict:
        return self._gate(key).tensors

    def reference(self, key: str) -> dict:
        return self._reference[key].data or {}

    def reference_tensors(self, key: str) -> dict:
        return self._reference[key].tensors


class GraderFault(RuntimeError):
    """A fault of the grader itself met while a check ran (its worker, the protocol): never the learner's."""


def _fail(msg: Msg, cause: str | None = None):
    exc = pytest.fail.Exception(msg.render("en"), pytrace=False)
    exc.grader_msg = msg
    exc.grader_cause = cause
    raise exc


def describe_failure(result: CallResult):
    """What went wrong in a probe call, as a message (plain text where only the submission's words exist)."""
    if result.kind == "not_implemented":
        return Msg("not_implemented_detail", detail=stub_sentence(result.message))
    text = Msg.from_dict(result.msg) or result.message
    if result.kind in ("timeout", "crash", "memory"):
        return text
    if result.where and result.kind != "load_error":
        return Msg("error_at", text=text, where=where(result.where))
    return text


@dataclass
class Outcome:
    passed: bool
    message: str = ""
    touched: list = field(default_factory=list)
    msg: Msg | None = None  # the message as data, rendered in the learner's language by the judge
    skipped: bool = False
    cause: str | None = None  # the learner's exception behind the failure (grader.checks.cause_of), if any
    fault: str | None = None  # the traceback of the grader's own exception: the check was not judged

    def text(self, lang: str) -> str:
        return self.msg.render(lang) if self.msg is not None else self.message


class GraderPlugin:
    def __init__(self, store: ProbeStore, exercises: list[str], device: str = "cpu"):
        self.store = store
        self.exercises = list(exercises)
        self.device = device
        self.order: list[tuple[str, str, float]] = []  # (check name, exercise, points)
        self.depends: dict[str, list[str]] = {}  # check name -> the checks whose failure explains its own
        self.depends_when: dict[str, tuple[str, ...]] = {}  # ... for failures with these message keys (all: empty)
        self.outcomes: dict[str, Outcome] = {}
        self._names: dict[str, str] = {}
        self._msgs: dict[str, Msg] = {}
        self._causes: dict[str, str] = {}
        self._faults: dict[str, str] = {}
        self.finished = False

    @pytest.fixture
    def probes(self):
        return self.store

    # hook 1: keep the requested exercises' checks and read their points
    def pytest_collection_modifyitems(self, session, config, items):
        keep, drop = [], []
        for item in items:
            module = Path(str(item.fspath)).stem
            exercise = module[len("test_"):]
            if exercise not in self.exercises or (getattr(item.function, "cuda", False) and self.device != "cuda"):
                drop.append(item)
                continue
            name = f"{exercise}.{item.name[len('test_'):]}"
            self._names[item.nodeid] = name
            self.order.append((name, exercise, float(getattr(item.function, "points", 0))))
            self.depends[name] = [f"{exercise}.{dep}" for dep in getattr(item.function, "depends_on", ())]
            self.depends_when[name] = tuple(getattr(item.function, "depends_when", ()))
            keep.append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
        items[:] = keep

    def pytest_runtest_setup(self, item):
        self.store.touched = []

    # the message a check failed (or was skipped) with, as data
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        yield
        if call.excinfo is not None and not call.excinfo.errisinstance((pytest.fail.Exception,
                                                                         pytest.skip.Exception)):
            # not a verdict on the learner's code: the check itself (or the grader under it) raised
            self._faults[item.nodeid] = "".join(traceback.format_exception(call.excinfo.value))
            logger.error("check %s raised %s", item.nodeid, call.excinfo.exconly())
        elif call.excinfo is not None:
            msg = getattr(call.excinfo.value, "grader_msg", None)
            if isinstance(msg, Msg):
                self._msgs[item.nodeid] = msg
            cause = getattr(call.excinfo.value, "grader_cause", None)
            if isinstance(cause, str):
                self._causes[item.nodeid] = cause

    # hook 2: one outcome per check (a failure in setup counts as a failure of the check)
    def pytest_runtest_logreport(self, report):
        name = self._names.get(report.nodeid)
        if name is None:
            return
        if report.when == "call" or (report.when == "setup" and not report.passed):
            message = ""
            if report.skipped:
                longrepr = report.longrepr
                message = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
                message = message.replace("Skipped: ", "", 1)
                self.outcomes[name] = Outcome(False, message.strip(), list(self.store.touched),
                                              self._msgs.pop(report.nodeid, None), skipped=True)
                return
            if not report.passed:
                longrepr = report.longrepr
                message = getattr(longrepr, "reprcrash", None) and longrepr.reprcrash.message or str(longrepr)
                if isinstance(longrepr, tuple):
                    message = str(longrepr[2])
                message = message.replace("Failed: ", "", 1)
            msg = None if report.passed else self._msgs.pop(report.nodeid, None)
            cause = None if report.passed else self._causes.pop(report.nodeid, None)
            fault = None if report.passed else self._faults.pop(report.nodeid, None)
            self.outcomes[name] = Outcome(report.passed, message.strip(), list(self.store.touched), msg,
                                          cause=cause, fault=fault)

    # hook 3: the session is over
    def pytest_sessionfinish(self, session, exitstatus):
        self.finished = True


def run_checks(plugin: GraderPlugin) -> GraderPlugin:
    """Run the checks in this process, quietly, ignoring any configuration lying around."""
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("PYTEST_")}
    args = [str(CHECKS_DIR), "-p", "no:cacheprovider", "-p", "no:terminal", "--noconftest",
            "--rootdir", str(CHECKS_DIR), "-c", str(CHECKS_DIR / "pytest.toml"), "-o", "addopts=", "-W", "ignore"]
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = pytest.main(args, plugins=[plugin])
        if code not in (0, 1) or not plugin.finished:
            raise RuntimeError(f"the checks could not run (pytest exit code {code})")
    finally:
        os.environ.update(saved)
    return plugin
