"""Grading as plain functions: :func:`grade_submission` for one folder, :class:`Grader` to grade many
with one started worker and the reference computed once."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from grader.judge import flags as flag_names
from grader.judge import messages
from grader.judge import plan as plan_mod
from grader.judge.reference import ReferenceStore, versions, vqa_env
from grader.judge.results import CheckResult, ExerciseResult, GradeResult
from grader.judge.session import GraderPlugin, ProbeStore, Status, run_checks
from grader.worker import fixtures, guard, limits
from grader.worker import sandbox as sandbox_mod
from grader.worker.handle import REPO_ROOT, CallResult, Zygote
from grader.worker.lanes import ProbeRunner, copy_submission
from vqa.course import EXERCISES, stub_task


class UsageError(ValueError):
    """A bad argument (no such folder, unknown exercise, ...): exit code 2 on the command line."""


def resolve_submission(path: str | os.PathLike) -> Path:
    folder = Path(path).expanduser()
    if not folder.is_dir() and str(path) in ("solutions", "exercises"):
        folder = REPO_ROOT / str(path)
    if not folder.is_dir():
        raise UsageError(f"{path}: no such folder (pass a folder holding dataset.py, lora.py, train.py, predict.py)")
    return folder.resolve()


def _errors(value, found):
    """Every nested {"error": {...}} description in a probe result."""
    if isinstance(value, dict):
        error = value.get("error")
        if isinstance(error, dict) and "message" in error:
            found.append(error)
        for key, item in value.items():
            if key != "error":
                _errors(item, found)
    elif isinstance(value, list):
        for item in value:
            _errors(item, found)
    return found


class Grader:
    """Grades submissions; keeps a worker and the reference's results between them."""

    def __init__(self, *, lang: str = "en", device: str = "cpu", sandbox: str = "auto",
                 timeout: float = limits.CALL_TIMEOUT, memory_mb: int = limits.MEMORY_MB,
                 cache_dir: str | os.PathLike | None = None, output_limit: int = 4096):
        if lang not in messages.LANGS:
            raise UsageError(f"unknown language {lang!r}; choose one of {', '.join(messages.LANGS)}")
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
        self.references = ReferenceStore(cache_dir, sandbox_mode=self.sandbox_mode,
                                         memory_mb=max(self.memory_mb, 4096))
        self.run_root = Path(tempfile.mkdtemp(prefix="grader-run-"))
        self._zygote: Zygote | None = None
        self._count = 0

    # -- the submission worker, started early so its imports overlap other work
    def start(self) -> "Grader":
        if self._zygote is None:
            entry = self.references.entry(self.device)
            artifacts = entry / "artifacts"
            hidden = [str(entry / "results"), str(self.references.reference)]
            self._zygote = Zygote(sandbox_mode=self.sandbox_mode, writable=[str(self.run_root / "work")],
                                  readable=[str(self.references.cache_dir)], hidden=hidden,
                                  cwd=str(self.run_root / "zygote"), env=vqa_env(artifacts),
                                  log_path=str(self.run_root / "zygote.log"), cuda=self.device == "cuda")
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
        self._zygote.wait_ready()

    def close(self) -> None:
        if self._zygote is not None:
            self._zygote.close()
            self._zygote = None
        shutil.rmtree(self.run_root, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # -- grading
    def grade(self, path: str | os.PathLike, exercises=None) -> GradeResult:
        start = time.perf_counter()
        folder = resolve_submission(path)
        exercises = list(exercises or EXERCISES)
        unknown = [e for e in exercises if e not in EXERCISES]
        if unknown:
            raise UsageError(f"unknown exercise {unknown[0]!r}; choose from {', '.join(EXERCISES)}")
        exercises = [e for e in EXERCISES if e in exercises]
        self.start()
        reference = self.references.get(self.device)
        if self.sandbox_mode == "bwrap" and not self._zygote.ready and not self._zygote.alive():
            self._zygote.start()
        self._count += 1
        work = self.run_root / "work" / f"sub-{self._count}"
        copy = copy_submission(folder, work / "submission")
        calls = plan_mod.calls_for(exercises, self.device)
        config = {
            "role": "student", "folder": str(copy), "artifacts": str(reference.artifacts),
            "scratch": str(work / "scratch"), "device": "cpu",
            "guard": {"blocked_dirs": [str(self.references.reference), str(reference.results_dir)],
                      "allowed_dirs": [str(copy)]},
        }
        runner = ProbeRunner(self._zygote, timeout=self.timeout, memory_mb=self.memory_mb,
                             output_limit=self.output_limit)
        try:
            student = runner.run(calls, config)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        places = grader_places(reference.artifacts, work)
        for call in student.values():
            learner_paths(call, copy, folder, places)
        result = self._judge(folder, exercises, student, reference.results)
        result.execution_time = round(time.perf_counter() - start, 3)
        return result

    def _judge(self, folder: Path, exercises: list[str], student: dict[str, CallResult],
               reference: dict[str, CallResult]) -> GradeResult:
        lang = self.lang
        exercise_of = {call.key: call.exercise for call in plan_mod.plan_for(self.device)}
        statuses: dict[str, Status] = {}
        flags: list[str] = []
        for exercise in exercises:
            keys = [k for k, e in exercise_of.items() if e == exercise]
            results = [student[k] for k in keys if k in student]
            static = guard.scan_source(folder / f"{exercise}.py")
            dynamic = sorted({v for r in results for v in r.violations})
            load = next((r for r in results if r.kind == "load_error"), None)
            if static or dynamic:
                what = " and ".join(static or sorted({v.split()[-1].split("/")[-1] for v in dynamic}))
                detail = "; ".join(([f"imports {s}" for s in static] + dynamic)[:3])
                statuses[exercise] = Status("imports_reference", messages.message(
                    "imports_reference", lang, file=f"{exercise}.py", what=what, detail=detail))
                flags.append(flag_names.make("imports_reference", exercise))
            elif load is not None:
                statuses[exercise] = Status("load_error", f"{exercise}.py {messages.message('load_error', lang)}: "
                                                          f"{load.message}")
                flags.append(flag_names.make("load_error", exercise))
            else:
                statuses[exercise] = Status()
            for r in results:
                raised = []
                if r.kind in flag_names.WORKER_KINDS:
                    raised.append(flag_names.make(r.kind, exercise))
                if r.output_bytes > self.output_limit:
                    raised.append(flag_names.make("output_truncated", exercise))
                flags.extend(f for f in raised if f not in flags)
        store = ProbeStore(student, reference, statuses, exercise_of)
        plugin = run_checks(GraderPlugin(store, exercises, self.device))

        notes = list(self.notes)
        cuda_keys = [call.key for call in plan_mod.CUDA_PLAN if call.key in reference]
        if self.device == "cuda" and cuda_keys and not all((reference[k].data or {}).get("cuda") for k in cuda_keys):
            notes.append(messages.message("cuda_unavailable_note", lang))
        grade = GradeResult(flags=flags, versions=versions(), notes=notes, submission=str(folder), lang=lang)
        for exercise in exercises:
            grade.exercises[exercise] = ExerciseResult(exercise)
        symptom_roots: dict[str, str] = {}
        causes: dict[str, str] = {}
        for name, exercise, pts in plugin.order:
            outcome = plugin.outcomes.get(name)
            passed = bool(outcome and outcome.passed)
            skipped = bool(outcome and outcome.skipped)
            title, hint = messages.check_text(name, lang)
            if not passed and outcome and outcome.cause:  # the learner's code raised: a hint for that error only
                causes[name] = outcome.cause
                hint = messages.error_hint(outcome.cause, lang)
            elif not passed and outcome and outcome.msg is not None:
                symptom = messages.symptom(outcome.msg)
                hint = symptom.get(lang) or symptom.get("en") or hint
                root = symptom.get("root")
                if root and root != name:
                    symptom_roots[name] = root
            message = "" if passed else (outcome.text(lang) if outcome else messages.message("check_not_run", lang))
            grade.exercises[exercise].checks.append(CheckResult(
                name=name, score=pts if passed else 0.0, max_score=pts, passed=passed, message=message,
                hint="" if passed or skipped else hint, title=title, skipped=skipped))
        for exercise in exercises:
            checks = grade.exercises[exercise].checks
            root_causes(checks, plugin.depends, lang, symptom_roots, causes)
            shown = next((c for c in checks if not c.passed and not c.skipped), None)
            if shown is not None:  # the learner's own prints, once per exercise, with its first failed check
                shown.output = exercise_output([student[k] for k, e in exercise_of.items()
                                                if e == exercise and k in student])
        for exercise in exercises:
            ex = grade.exercises[exercise]
            status = statuses[exercise]
            if status.kind != "graded":
                ex.status, ex.summary = status.kind, status.summary
                continue
            keys = [k for k, e in exercise_of.items() if e == exercise]
            errors = []
            for k in keys:
                r = student.get(k)
                if r is None:
                    continue
                if not r.ok:
                    errors.append({"kind": r.kind, "message": r.message})
                else:
                    _errors(r.data, errors)
            if ex.checks and not any(c.passed for c in ex.checks) and errors and \
                    all(e.get("kind") == "not_implemented" for e in errors):
                first = stub_task(errors[0].get("message", ""), lang)
                ex.status = "not_implemented"
                ex.summary = f"{messages.message('not_implemented', lang)}: {first}"
                flags.append(flag_names.make("not_implemented", exercise))
                for check in ex.checks:
                    if not check.skipped:
                        check.message = ex.summary
        grade.flags = flags
        return grade


def root_causes(checks: list[CheckResult], depends: dict[str, list[str]], lang: str,
                symptom_roots: dict[str, str] | None = None, causes: dict[str, str] | None = None) -> None:
    """Point each failed check whose failure another failed check explains at that check, from evidence: a
    check that failed on an exception of the learner's code follows from the first check that failed on the
    same exception (one mistake seen by several checks) and from nothing else; a check that failed on a value
    follows from the check its symptom belongs to, one it declares it depends on, or the first that observed
    the very same thing (the same message). Its hint then says
    "follows from …" instead of sending the learner after a second bug. Points do not change."""
    failed = {c.name: c for c in checks if not c.passed and not c.skipped}
    causes = causes or {}
    first_with: dict[str, CheckResult] = {}  # by the exception, or by the very same observed value
    for check in checks:
        if check.name not in failed:
            continue
        cause = causes.get(check.name)
        if cause is None:
            candidates = [(symptom_roots or {}).get(check.name), *depends.get(check.name, ())]
            root = next((failed[d] for d in candidates
                         if d in failed and d != check.name and failed[d].caused_by != check.name), None)
            if root is None and check.message:
                root = first_with.setdefault(f"message|{check.message}", check)
        else:
            root = first_with.setdefault(cause, check)
        if root is None or root is check:
            continue
        root = failed.get(root.caused_by, root)
        check.caused_by = root.name
        check.hint = messages.message("follows_from", lang, check=root.title)


OUTPUT_LIMIT = 2000


def exercise_output(calls: list[CallResult]) -> str:
    """What the learner's code printed during an exercise's probe calls, each distinct text once, the end kept."""
    texts = list(dict.fromkeys(call.output.strip("\n") for call in calls if call.output.strip()))
    return "\n".join(texts)[-OUTPUT_LIMIT:]


def display_path(folder: Path) -> str:
    """The folder as a learner's editor finds it: relative to the working directory when inside it."""
    try:
        return os.path.relpath(folder) if folder.resolve().is_relative_to(Path.cwd().resolve()) else str(folder)
    except (OSError, ValueError):
        return str(folder)


def grader_places(artifacts: Path, work: Path) -> list[tuple[re.Pattern, str]]:
    """The grader's own folders as a learner's code was given them, each with the argument's name to show
    instead (``<test_dir>``, ``<out_dir>``, ``<scratch>``): a message or a print never shows the grader's paths."""
    places = [(re.compile(re.escape(str(artifacts / rel).rstrip(os.sep)) + r"(?![\w.-])"), name)
              for rel, name in fixtures.PLACES]
    scratch = re.escape(str(work)) + r"[\\/]scratch(?:-\d+)?"
    return [(re.compile(scratch + r"[\\/]" + fixtures.FIT_OUT + r"-\d+"), fixtures.OUT_DIR),
            (re.compile(scratch), fixtures.SCRATCH), *places]


def learner_paths(call: CallResult, copy: Path, folder: Path,
                  places: list[tuple[re.Pattern, str]] = ()) -> None:
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
            if key == "where" and file.endswith(".py") and not os.path.isabs(file) and (folder / file).is_file():
                value = os.path.join(shown, value)
            return value
        if isinstance(value, dict):
            return {k: fix(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    call.message = fix(call.message)
    call.output = fix(call.output)
    call.where = fix(call.where, "where")
    call.data = fix(call.data)


def grade_submission(path, *, exercises=None, lang: str = "en", device: str = "cpu", sandbox: str = "auto",
                     timeout: float = limits.CALL_TIMEOUT, memory_mb: int = limits.MEMORY_MB,
                     cache_dir=None) -> GradeResult:
    """Grade one submission folder and return the result (see grader.judge.results)."""
    with Grader(lang=lang, device=device, sandbox=sandbox, timeout=timeout, memory_mb=memory_mb,
                cache_dir=cache_dir) as grader:
        return grader.grade(path, exercises)
