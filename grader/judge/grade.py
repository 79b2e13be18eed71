"""The judge's conductor: :class:`Grader` starts a worker, runs the probe calls of a submission in it, runs the
checks on their results and hands them to :mod:`grader.judge.verdicts`; one Grader grades many submissions
with one started worker and the reference computed once."""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from grader.judge import faults, messages, verdicts
from grader.judge import plan as plan_mod
from grader.judge.lanes import ProbeRunner, copy_submission
from grader.judge.reference import ReferenceStore, versions, vqa_env
from grader.judge.results import GradeResult
from grader.judge.session import GraderPlugin, ProbeStore, run_checks
from grader.worker import contract, fixtures, limits
from grader.worker import sandbox as sandbox_mod
from grader.worker.handle import CallResult, WorkerStartError, Zygote
from vqa import course
from vqa.course import EXERCISES

logger = logging.getLogger(__name__)


class UsageError(ValueError):
    """A bad argument (no such folder, unknown exercise, ...): exit code 2 on the command line."""


def resolve_submission(path: str | os.PathLike) -> Path:
    folder = Path(path).expanduser()
    if not folder.is_dir() and str(path) in ("solutions", "exercises"):
        folder = course.ROOT / str(path)
    if not folder.is_dir():
        raise UsageError(
            f"{path}: no such folder (pass a folder holding dataset.py, lora.py, train.py, predict.py)"
        )
    return folder.resolve()


class Grader:
    """Grades submissions; keeps a worker and the reference's results between them."""

    def __init__(
        self,
        *,
        lang: str = "en",
        device: str = "cpu",
        sandbox: str = "auto",
        timeout: float = limits.CALL_TIMEOUT,
        memory_mb: int = limits.MEMORY_MB,
        cache_dir: str | os.PathLike | None = None,
        output_limit: int = 4096,
        debug: bool = False,
    ):
        if lang not in messages.LANGS:
            raise UsageError(
                f"unknown language {lang!r}; choose one of {', '.join(messages.LANGS)}"
            )
        if device not in ("cpu", "cuda"):
            raise UsageError(f"unknown device {device!r}; choose cpu or cuda")
        try:
            self.sandbox_mode, note = sandbox_mod.resolve(sandbox)
        except sandbox_mod.SandboxError as exc:
            raise UsageError(str(exc)) from None
        if note:  # the same note, in the learner's language
            note = messages.message("sandbox_none", lang, reason=sandbox_mod.bwrap_status()[1])
        self.notes = [note] if note else []
        self.lang = lang
        self.device = device
        self.timeout = float(timeout)
        self.memory_mb = int(memory_mb)
        self.output_limit = output_limit
        self.references = ReferenceStore(
            cache_dir, sandbox_mode=self.sandbox_mode, memory_mb=max(self.memory_mb, 4096)
        )
        self.run_root = Path(tempfile.mkdtemp(prefix="grader-run-"))
        self.log_dir = self.references.cache_dir / "logs"  # where a grader error's log is written
        self.debug = debug  # keep the run folder (the worker's log) when done
        self._zygote: Zygote | None = None
        self._count = 0

    # -- the submission worker, started early so its imports overlap other work
    def start(self) -> Grader:
        if self._zygote is None:
            entry = self.references.entry(self.device)
            artifacts = entry / "artifacts"
            hidden = [str(entry / "results"), str(self.references.reference)]
            self._zygote = Zygote(
                sandbox_mode=self.sandbox_mode,
                writable=[str(self.run_root / "work")],
                readable=[str(self.references.cache_dir)],
                hidden=hidden,
                cwd=str(self.run_root / "zygote"),
                env=vqa_env(artifacts),
                log_path=str(self.run_root / "zygote.log"),
                cuda=self.device == "cuda",
            )
            os.makedirs(self.run_root / "work", exist_ok=True)
            # folders must exist before the sandbox can bind or hide them
            (entry / "results").mkdir(parents=True, exist_ok=True)
            artifacts.mkdir(parents=True, exist_ok=True)
            self._zygote.start()
        return self

    def warm(self) -> None:
        """Start the worker, load (or compute) the reference and wait until the worker has its imports done:
        the batch calls this once per slot, so no student's clock pays for start-up."""
        self.start()
        self.references.get(self.device)
        assert self._zygote is not None  # started just above
        self._zygote.wait_ready()

    def close(self) -> None:
        if self._zygote is not None:
            self._zygote.close()
            self._zygote = None
        if self.debug:
            logger.info("kept the run folder (the worker's log is zygote.log): %s", self.run_root)
        else:
            shutil.rmtree(self.run_root, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # -- grading
    def grade(self, path: str | os.PathLike, exercises=None) -> GradeResult:
        """Grade the submission at ``path`` (all exercises, or ``exercises``). A fault of the grader itself (not
        of the submission) raises :class:`GraderError` with the log that tells it; a bad argument UsageError."""
        start = time.perf_counter()
        folder = resolve_submission(path)
        exercises = self._exercises(exercises)
        self.start()
        reference = self.references.get(self.device)
        try:
            student = self._probe(folder, exercises, reference)
            result = self._judge(folder, exercises, student, reference.results)
        except WorkerStartError:  # the environment (no worker could start): said as it is
            raise
        except Exception as exc:  # a bug of the grader's: logged in full, said as the grader's, never the learner's
            if self.debug:
                raise
            log = faults.write_log(
                self.log_dir,
                f"the grader failed while grading {folder}",
                {"traceback": faults.traceback_text(exc), "worker log (end)": self._zygote_log()},
            )
            raise faults.GraderError(f"{type(exc).__name__}: {exc}", log) from exc
        result.execution_time = round(time.perf_counter() - start, 3)
        return result

    @staticmethod
    def _exercises(exercises) -> list[str]:
        wanted = list(exercises or EXERCISES)
        unknown = [e for e in wanted if e not in EXERCISES]
        if unknown:
            raise UsageError(f"unknown exercise {unknown[0]!r}; choose from {', '.join(EXERCISES)}")
        return [e for e in EXERCISES if e in wanted]

    def _probe(self, folder: Path, exercises: list[str], reference) -> dict[str, CallResult]:
        """Run the exercises' probe calls on a copy of the submission in the worker; the results name the
        learner's own files and the arguments' names, never the grader's paths."""
        assert self._zygote is not None  # grade() starts it
        if self.sandbox_mode == "bwrap" and not self._zygote.ready and not self._zygote.alive():
            self._zygote.start()
        self._count += 1
        work = self.run_root / "work" / f"sub-{self._count}"
        copy = copy_submission(folder, work / "submission")
        config = {
            "role": "student",
            "folder": str(copy),
            "artifacts": str(reference.artifacts),
            "scratch": str(work / "scratch"),
            "device": "cpu",
            "guard": {
                "blocked_dirs": [str(self.references.reference), str(reference.results_dir)],
                "allowed_dirs": [str(copy)],
            },
        }
        runner = ProbeRunner(
            self._zygote,
            timeout=self.timeout,
            memory_mb=self.memory_mb,
            output_limit=self.output_limit,
        )
        try:
            student = runner.run(plan_mod.calls_for(exercises, self.device), config)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        places = grader_places(reference.artifacts, work)
        for call in student.values():
            learner_paths(call, copy, folder, places)
        return student

    def _judge(
        self,
        folder: Path,
        exercises: list[str],
        student: dict[str, CallResult],
        reference: dict[str, CallResult],
    ) -> GradeResult:
        """The checks run on the probes' results, and the verdicts the learner reads."""
        lang = self.lang
        exercise_of = {call.key: call.exercise for call in plan_mod.plan_for(self.device)}
        calls = {
            e: [student[k] for k, x in exercise_of.items() if x == e and k in student]
            for e in exercises
        }
        statuses, flags = verdicts.exercise_statuses(
            folder, exercises, calls, lang, self.output_limit
        )
        plugin = run_checks(
            GraderPlugin(ProbeStore(student, reference, statuses), exercises, self.device)
        )
        grade = GradeResult(
            flags=flags,
            versions=versions(),
            notes=self._notes(reference),
            submission=str(folder),
            lang=lang,
        )
        grade.exercises, evidence = verdicts.check_results(plugin, exercises, lang)
        for exercise, ex in grade.exercises.items():
            verdicts.root_causes(
                ex.checks, evidence.depends, lang, evidence.symptom_roots, evidence.causes
            )
            verdicts.attach_output(ex, calls[exercise])
            grade.flags.extend(verdicts.summarise(ex, statuses[exercise], calls[exercise], lang))
        if evidence.faults:
            verdicts.report_faults(grade, evidence.faults, self.log_dir, self._zygote_log())
        return grade

    def _notes(self, reference: dict[str, CallResult]) -> list[str]:
        """The run's notes: the sandbox's fallback, and CUDA asked for where there is none."""
        notes = list(self.notes)
        cuda_keys = [call.key for call in plan_mod.CUDA_PLAN if call.key in reference]
        if (
            self.device == "cuda"
            and cuda_keys
            and not all(contract.ran_on_cuda(reference[k].data) for k in cuda_keys)
        ):
            notes.append(messages.message("cuda_unavailable_note", self.lang))
        return notes

    def _zygote_log(self) -> str:
        try:
            return (self.run_root / "zygote.log").read_text(errors="replace")[-3000:]
        except OSError:
            return ""


def display_path(folder: Path) -> str:
    """The folder as a learner's editor finds it: relative to the working directory when inside it."""
    try:
        return (
            os.path.relpath(folder)
            if folder.resolve().is_relative_to(Path.cwd().resolve())
            else str(folder)
        )
    except (OSError, ValueError):
        return str(folder)


def grader_places(artifacts: Path, work: Path) -> list[tuple[re.Pattern, str]]:
    """The grader's own folders as a learner's code was given them, each with the argument's name to show
    instead (``<test_dir>``, ``<out_dir>``, ``<scratch>``): a message or a print never shows the grader's paths."""
    places = [
        (re.compile(re.escape(str(artifacts / rel).rstrip(os.sep)) + r"(?![\w.-])"), name)
        for rel, name in fixtures.PLACES
    ]
    scratch = re.escape(str(work)) + r"[\\/]scratch(?:-\d+)?"
    return [
        (re.compile(scratch + r"[\\/]" + fixtures.FIT_OUT + r"-\d+"), fixtures.OUT_DIR),
        (re.compile(scratch), fixtures.SCRATCH),
        *places,
    ]


def learner_paths(
    call: CallResult, copy: Path, folder: Path, places: Sequence[tuple[re.Pattern[str], str]] = ()
) -> None:
    """Make the places a call's errors name point at the learner's own files, not the worker's copy of them:
    ``…/submission/dataset.py:73`` and ``dataset.py:73 in f`` both become ``exercises/dataset.py:73``; the
    grader's own folders become the names of the arguments they were passed as."""
    shown = display_path(folder)
    prefix = str(copy) + os.sep

    def fix(value, key=None):
        if isinstance(value, str):
            value = value.replace(prefix, shown + os.sep).replace(str(copy), shown)
            for pattern, name in places:
                value = pattern.sub(name, value)
            file = value.split(":", 1)[0]
            if (
                key == "where"
                and file.endswith(".py")
                and not os.path.isabs(file)
                and (folder / file).is_file()
            ):
                value = os.path.join(shown, value)
            return value
        if isinstance(value, dict):  # keys too: a learner's dict may be keyed by paths it was given
            return {fix(k) if isinstance(k, str) else k: fix(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    call.message = fix(call.message)
    call.output = fix(call.output)
    call.where = fix(call.where, "where")
    if call.data is not None:  # every text in the result, by the contract's JSON form
        call.data = contract.decode(type(call.data), fix(contract.encode(call.data)))
