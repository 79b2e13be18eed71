"""Packaging the grader for the platforms schools already run.

* :func:`write_gradescope` — an autograder zip: ``setup.sh`` (pip installs the CPU build of torch,
  then this package, then warms the reference cache) and ``run_autograder`` (copies
  ``/autograder/submission``, runs ``grade SUB --gradescope /autograder/results/results.json``).
  By default the package source is bundled under ``source/``; the zip is private to instructors,
  so the reference solutions it carries stay hidden from learners.
* :func:`write_github_classroom` — ``.github/workflows/classroom.yml`` for a starter repository,
  with ``.github/classroom/setup.sh`` and ``grade.sh``: it runs ``grade .`` (the learner's report
  ends in ``Points X/Y``) and hands the points to GitHub Classroom's autograding reporter.

Every script takes its install source from ``GRADER_SOURCE`` and its folders from environment
variables (``AUTOGRADER_ROOT``, ``GRADE``, ``PYTHON``, ``PIP``), so they run outside the platform too.
``grader bundle classroom-result RESULT.json`` (:mod:`grader.bundles.cli`, run by ``grade.sh``) prints the
reporter's base64 payload of :func:`classroom_payload`.
"""

from __future__ import annotations

import base64
import json
import stat
import subprocess
import zipfile
from pathlib import Path

import jinja2

from catalog import DEFAULT_LANG
from grader.worker import limits
from vqa.course import ROOT as REPO_ROOT

SOURCE_ITEMS = (
    "pyproject.toml",
    "README.md",
    "LICENSE",
    "vqa",
    "grader",
    "quiz",
    "solutions",
    "exercises",
)
SKIP = ("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache")
EXEC_MODE = 0o755


class BundleError(RuntimeError):
    """A bundle cannot be written (no install source known, an unwritable target, ...)."""


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


def _render(name: str, **values) -> str:
    return _env().get_template(name).render(**values)


def _extra_args(extra: list[str] | None) -> str:
    import shlex

    return "".join(" " + shlex.quote(a) for a in (extra or []))


def _source_files(root: Path = REPO_ROOT):
    """(path, name inside source/) for the files a pip install of this package needs."""
    for item in SOURCE_ITEMS:
        path = root / item
        if path.is_file():
            yield path, item
        elif path.is_dir():
            for sub in sorted(path.rglob("*")):
                if (
                    sub.is_file()
                    and not any(part in SKIP for part in sub.parts)
                    and sub.suffix not in (".pyc", ".pyo")
                ):
                    yield sub, sub.relative_to(root).as_posix()


def _add(zf: zipfile.ZipFile, name: str, data: bytes | str, *, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = ((EXEC_MODE if executable else 0o644) | stat.S_IFREG) << 16
    zf.writestr(info, data.encode() if isinstance(data, str) else data)


def write_gradescope(
    out_zip: str | Path,
    *,
    source: str | None = None,
    lang: str = DEFAULT_LANG,
    timeout: float = limits.CALL_TIMEOUT,
    extra_args: list[str] | None = None,
) -> Path:
    """Write the Gradescope autograder zip; ``source`` is what ``setup.sh`` installs.

    ``source`` None bundles this package's source under ``source/``; a path to a wheel or sdist is
    bundled as that file; anything else (a requirement, a git URL) is installed as given.
    """
    out_zip = Path(out_zip)
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    bundled: list[tuple[Path, str]] = []
    if source is None:
        if not (REPO_ROOT / "pyproject.toml").is_file():
            raise BundleError(
                "no package source next to the grader (an installed copy); pass --source "
                "(a wheel, an sdist, a git URL or a requirement)"
            )
        bundled = list(_source_files())
        default_source = "./source"
    elif Path(source).is_file():
        bundled = [(Path(source), Path(source).name)]
        default_source = "./source/" + Path(source).name
    else:
        default_source = source
    values = dict(
        default_source=default_source,
        lang=lang,
        timeout=f"{timeout:g}",
        extra_args=_extra_args(extra_args),
    )
    tmp = out_zip.with_name(f".{out_zip.name}.tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        _add(zf, "setup.sh", _render("setup.sh.j2", **values), executable=True)
        _add(zf, "run_autograder", _render("run_autograder.j2", **values), executable=True)
        for path, name in bundled:
            _add(zf, f"source/{name}", path.read_bytes())
    tmp.replace(out_zip)
    return out_zip


def default_classroom_source() -> str | None:
    """``git+<origin URL>`` of the checkout the grader runs from, when there is one."""
    try:
        url = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "remote", "get-url", "origin"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    return f"git+{url}" if url else None


def write_github_classroom(
    out_dir: str | Path,
    *,
    source: str | None = None,
    lang: str = DEFAULT_LANG,
    timeout: float = limits.CALL_TIMEOUT,
    extra_args: list[str] | None = None,
) -> list[Path]:
    """Write the Classroom workflow and its two scripts into the starter repository ``out_dir``."""
    source = source or default_classroom_source()
    if not source:
        raise BundleError(
            "no install source for the workflow: pass --source (e.g. git+https://…/lab.git or a "
            "package name) or set the GRADER_SOURCE secret in the workflow"
        )
    if any(c in source for c in "'\n"):
        raise BundleError(f"--source {source!r}: quotes and new lines are not allowed")
    out_dir = Path(out_dir)
    values = dict(
        source=source, lang=lang, timeout=f"{timeout:g}", extra_args=_extra_args(extra_args)
    )
    files = {
        ".github/workflows/classroom.yml": ("classroom.yml.j2", False),
        ".github/classroom/setup.sh": ("classroom_setup.sh.j2", True),
        ".github/classroom/grade.sh": ("classroom_grade.sh.j2", True),
    }
    written = []
    for rel, (template, executable) in files.items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_render(template, **values), encoding="utf-8")
        if executable:
            path.chmod(EXEC_MODE)
        written.append(path)
    return written


def classroom_result(result: dict) -> dict:
    """The autograding reporter's runner result for a ``grade --json`` result: one test per check."""
    tests = []
    for ex_name, ex in (result.get("exercises") or {}).items():
        for check in ex.get("checks") or []:
            message = "\n".join(
                x
                for x in (check.get("message"), check.get("hint") and f"Hint: {check['hint']}")
                if x
            )
            tests.append(
                {
                    "name": f"{ex_name}: {check.get('title') or check.get('name')}",
                    "status": "pass" if check.get("passed") else "fail",
                    "score": check.get("score", 0),
                    "message": message,
                    "test_code": f"grade . -e {ex_name}",
                    "filename": f"{ex_name}.py",
                    "line_no": 0,
                    "execution_time": "",
                }
            )
    failed = any(t["status"] == "fail" for t in tests)
    return {
        "version": 1,
        "status": "fail" if failed or not tests else "pass",
        "max_score": result.get("max_score", 0),
        "tests": tests,
    }


def classroom_payload(result_path: str | Path) -> str:
    """Base64 of :func:`classroom_result` for ``result_path``; an error result when it is unreadable."""
    try:
        data = classroom_result(json.loads(Path(result_path).read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        data = {
            "version": 1,
            "status": "error",
            "max_score": 100,
            "tests": [
                {
                    "name": "grading",
                    "status": "error",
                    "score": 0,
                    "message": f"the grader wrote no result ({exc})",
                }
            ],
        }
    return base64.b64encode(json.dumps(data).encode()).decode()
