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
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import pytest

from catalog import DEFAULT_LANG
from grader.checks import cause_of, message_of
from grader.judge.messages import Msg, where
from grader.judge.results import ExerciseStatus
from grader.worker.contract import ProbeCall
from grader.worker.handle import CallResult
from vqa.course import stub_sentence

if TYPE_CHECKING:
    from numpy.typing import NDArray

R = TypeVar("R")

CHECKS_DIR = Path(__file__).resolve().parents[1] / "checks"
logger = logging.getLogger(__name__)


@dataclass
class Status:
    """Whether an exercise is graded check by check, and the one line that says why not."""

    # "not_implemented" is decided after the checks ran (grader.judge.verdicts)
    kind: ExerciseStatus = "graded"
    summary: str = ""


class ProbeStore:
    """What the checks see (the ``probes`` fixture, :class:`grader.checks.Probes`): the student's and the
    reference's probe results, by call, each of the type the call's probe returns."""

    def __init__(
        self,
        student: dict[str, CallResult],
        reference: dict[str, CallResult],
        statuses: dict[str, Status],
    ):
        self._student = student
        self._reference = reference
        self.statuses = statuses
        self.touched: list[str] = []

    def _gate(self, call: ProbeCall[Any]) -> CallResult:
        status = self.statuses.get(call.exercise, Status())
        if status.kind != "graded":
            pytest.fail(status.summary, pytrace=False)
        self.touched.append(call.key)
        result = self._student.get(call.key)
        if result is None:
            _fail(Msg("no_result_for", key=call.key))
        if (
            result.kind == "internal"
        ):  # the grader's own worker or protocol failed, not the learner's code
            raise GraderFault(f"probe call {call.key}: {result.message}")
        if not result.ok:
            _fail(
                describe_failure(result), cause=cause_of(result.kind, result.message, result.where)
            )
        return result

    def has(self, call: ProbeCall[Any]) -> bool:
        """Whether ``call`` was made in this run (the CUDA calls only with --device cuda)."""
        return call.key in self._reference

    def student(self, call: ProbeCall[R]) -> R:
        return _typed(call, self._gate(call).data)

    def student_tensors(self, call: ProbeCall[Any]) -> dict[str, NDArray[Any]]:
        return self._gate(call).tensors

    def reference(self, call: ProbeCall[R]) -> R:
        return _typed(call, self._reference[call.key].data)

    def reference_tensors(self, call: ProbeCall[Any]) -> dict[str, NDArray[Any]]:
        return self._reference[call.key].tensors


def _typed(call: ProbeCall[R], data: object) -> R:
    """``data`` as the result of ``call``'s probe; anything else is the grader's fault."""
    if not isinstance(data, call.probe.result):
        raise GraderFault(
            f"probe call {call.key}: a {type(data).__name__}, not a {call.probe.result.__name__}"
        )
    return data


class GraderFault(RuntimeError):
    """A fault of the grader itself met while a check ran (its worker, the protocol): never the learner's."""


def _fail(msg: Msg | str, cause: str | None = None) -> NoReturn:
    """Fail the check with ``msg`` (plain text where only the submission's words exist)."""
    exc = pytest.fail.Exception(
        msg.render(DEFAULT_LANG) if isinstance(msg, Msg) else msg, pytrace=False
    )
    exc.grader_msg = msg if isinstance(msg, Msg) else None  # type: ignore[attr-defined]  # read by the plugin
    exc.grader_cause = cause  # type: ignore[attr-defined]
    raise exc


def describe_failure(result: CallResult) -> Msg | str:
    """What went wrong in a probe call, as a message (plain text where only the submission's words exist)."""
    if result.kind == "not_implemented":
        return Msg("not_implemented_detail", detail=stub_sentence(result.message))
    text = message_of(result.msg) or result.message
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
    # the learner's exception behind the failure (grader.checks.cause_of), if any
    cause: str | None = None
    # the traceback of the grader's own exception: the check was not judged
    fault: str | None = None

    def text(self, lang: str) -> str:
        return self.msg.render(lang) if self.msg is not None else self.message


class GraderPlugin:
    def __init__(self, store: ProbeStore, exercises: list[str], device: str = "cpu"):
        self.store = store
        self.exercises = list(exercises)
        self.device = device
        self.order: list[tuple[str, str, float]] = []  # (check name, exercise, points)
        self.depends: dict[
            str, list[str]
        ] = {}  # check name -> the checks whose failure explains its own
        self.depends_when: dict[
            str, tuple[str, ...]
        ] = {}  # ... for failures with these message keys (all: empty)
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
            exercise = module[len("test_") :]
            if exercise not in self.exercises or (
                getattr(item.function, "cuda", False) and self.device != "cuda"
            ):
                drop.append(item)
                continue
            name = f"{exercise}.{item.name[len('test_') :]}"
            self._names[item.nodeid] = name
            self.order.append((name, exercise, float(getattr(item.function, "points", 0))))
            self.depends[name] = [
                f"{exercise}.{dep}" for dep in getattr(item.function, "depends_on", ())
            ]
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
        if call.excinfo is not None and not call.excinfo.errisinstance(
            (pytest.fail.Exception, pytest.skip.Exception)
        ):
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
                self.outcomes[name] = Outcome(
                    False,
                    message.strip(),
                    list(self.store.touched),
                    self._msgs.pop(report.nodeid, None),
                    skipped=True,
                )
                return
            if not report.passed:
                longrepr = report.longrepr
                message = (
                    getattr(longrepr, "reprcrash", None)
                    and longrepr.reprcrash.message
                    or str(longrepr)
                )
                if isinstance(longrepr, tuple):
                    message = str(longrepr[2])
                message = message.replace("Failed: ", "", 1)
            msg = None if report.passed else self._msgs.pop(report.nodeid, None)
            cause = None if report.passed else self._causes.pop(report.nodeid, None)
            fault = None if report.passed else self._faults.pop(report.nodeid, None)
            self.outcomes[name] = Outcome(
                report.passed,
                message.strip(),
                list(self.store.touched),
                msg,
                cause=cause,
                fault=fault,
            )

    # hook 3: the session is over
    def pytest_sessionfinish(self, session, exitstatus):
        self.finished = True


def _pytest(plugin: GraderPlugin) -> int:
    """pytest over the checks in this process, quietly, ignoring any configuration lying around."""
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("PYTEST_")}
    args = [
        str(CHECKS_DIR),
        "-p",
        "no:cacheprovider",
        "-p",
        "no:terminal",
        "--noconftest",
        "--rootdir",
        str(CHECKS_DIR),
        "-c",
        str(CHECKS_DIR / "pytest.toml"),
        "-o",
        "addopts=",
        "-W",
        "ignore",
    ]
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return pytest.main(args, plugins=[plugin])
    finally:
        os.environ.update(saved)


def run_checks(plugin: GraderPlugin) -> GraderPlugin:
    """Run the checks in this process, quietly, ignoring any configuration lying around."""
    code = _pytest(plugin)
    if code not in (0, 1) or not plugin.finished:
        raise RuntimeError(f"the checks could not run (pytest exit code {code})")
    return plugin


def warm_checks() -> None:
    """Collect the checks once without running any: pytest imports them and readies its own machinery, so the
    first real :func:`run_checks` takes a fraction of the time. The judge does this while its worker starts."""
    code = _pytest(GraderPlugin(ProbeStore({}, {}, {}), exercises=[]))
    if code not in (0, 5):  # 5: no check selected, as asked
        raise RuntimeError(f"the checks could not be collected (pytest exit code {code})")
