"""How long a learner waits for a check, next to the floor: a bare process importing torch, transformers and peft.

    python bench/check_latency.py [--repeat N] [--no-kernel] [--no-shell]

For each exercise and for all four, in one run: the first ``check()`` in a fresh Jupyter kernel (nbclient),
which starts the kernel's warm grading service, and the same check again (best of N); then the same from a
shell: the first ``grade solutions/`` of a fresh terminal session and the next one. The floor is the best of N
bare imports, measured before and after. The reference's results are cached beforehand (a bench cache of
its own), so no figure pays for computing them. Everything grades as a learner's check does, with the
default sandbox (bubblewrap where it works). Prints each time and its ratio to the floor, the machine's load,
and as its last line ``check(): first F× the import floor, again A× (worst exercise)`` (the targets: first at
most 1.25×, again at most 0.25×).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grade_latency import FLOOR, ROOT, timed

sys.path.insert(0, str(ROOT))
from vqa.course import EXERCISES, POINTS, TOTAL_POINTS  # noqa: E402

TARGETS = [*EXERCISES, None]  # None: all four
GRADE = shutil.which("grade") or str(Path(sys.executable).parent / "grade")


def label(target: str | None) -> str:
    return target or "all four"


def floor_seconds(env: dict, repeat: int) -> float:
    return min(timed([sys.executable, "-c", FLOOR], env)[0] for _ in range(repeat))


def kernel_times(target: str | None, repeat: int, env: dict) -> tuple[float, float]:
    """(first, again) seconds of check(target) in a fresh kernel, as the kernel's cells measure them."""
    import nbformat
    from nbclient import NotebookClient

    call = f"check({target!r}, folder={str(ROOT / 'solutions')!r}, show=False)"
    timed_cell = (
        "import json, time\nstart = time.perf_counter()\nfrom grader.notebook import check\n"
        f"report = {call}\n"
        "print(json.dumps([time.perf_counter() - start, report.score, report.error]))"
    )
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(timed_cell) for _ in range(1 + repeat)]
    saved = dict(os.environ)
    os.environ.update(env)  # the kernel starts with this environment
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3").execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    times = []
    for cell in nb.cells:
        text = "".join(out.get("text", "") for out in cell.outputs if out.output_type == "stream")
        seconds, score, error = json.loads(text.strip().splitlines()[-1])
        if error or score != (POINTS[target] if target else TOTAL_POINTS):
            raise SystemExit(f"check({target!r}) in a kernel: score {score}, error {error!r}")
        times.append(seconds)
    return times[0], min(times[1:])


SHELL = """
import json, subprocess, sys, time
times = []
for _ in range({runs}):
    start = time.perf_counter()
    proc = subprocess.run({command!r}, capture_output=True, text=True)
    times.append(time.perf_counter() - start)
    if proc.returncode != 0:
        sys.exit(proc.stdout[-2000:] + proc.stderr[-2000:])
print(json.dumps(times))
"""


def shell_times(target: str | None, repeat: int, env: dict) -> tuple[float, float]:
    """(first, again) seconds of ``grade solutions/ [-e target]`` in a fresh terminal session."""
    command = [GRADE, "solutions/"] + (["-e", target] if target else [])
    script = SHELL.format(runs=1 + repeat, command=command)
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        start_new_session=True,
    )  # the session's leader: its service ends with it
    if proc.returncode != 0:
        raise SystemExit(f"grade {label(target)} from a shell failed:\n{proc.stderr[-3000:]}")
    times = json.loads(proc.stdout)
    return times[0], min(times[1:])


def wait_for_no_service(folder: Path, seconds: float = 30.0) -> None:
    """Let the services of ended owners stop before the next figure (they would share the CPUs with it)."""
    end = time.monotonic() + seconds
    while any(folder.glob("*.sock")) and time.monotonic() < end:
        time.sleep(0.1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each repeated check and of the floor"
    )
    parser.add_argument(
        "--no-kernel", action="store_true", help="skip the figures in a Jupyter kernel"
    )
    parser.add_argument("--no-shell", action="store_true", help="skip the figures from a shell")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="check-bench-"))
    services = work / "services"
    env = dict(os.environ)
    env.pop("GRADER_NO_SERVICE", None)
    env.update(
        GRADER_CACHE=str(
            Path(env.get("GRADER_CACHE") or tempfile.gettempdir()) / "grader-bench-cache"
        ),
        GRADER_SERVICE_DIR=str(services),
    )
    load_before = os.getloadavg()
    warm_up, proc = timed([GRADE, "solutions/", "--no-service"], env)
    if proc.returncode != 0:
        print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
        return 1
    print(
        f"reference cached ({warm_up:.1f} s for the first grade solutions/ --no-service)",
        flush=True,
    )
    floor = floor_seconds(env, args.repeat)
    print(f"bare import ({FLOOR}): {floor:.2f} s", flush=True)

    rows = []
    for target in TARGETS:
        if not args.no_kernel:
            first, again = kernel_times(target, args.repeat, env)
            rows.append(("kernel", target, first, again))
            print(
                f"check({label(target)}) in a kernel: first {first:5.2f} s, again {again:5.2f} s",
                flush=True,
            )
            wait_for_no_service(services)
        if not args.no_shell:
            first, again = shell_times(target, args.repeat, env)
            rows.append(("shell", target, first, again))
            print(
                f"grade solutions/ {'-e ' + target if target else ''} from a shell: first {first:5.2f} s, "
                f"again {again:5.2f} s",
                flush=True,
            )
            wait_for_no_service(services)
    floor = min(floor, floor_seconds(env, args.repeat))
    load_after = os.getloadavg()
    shutil.rmtree(work, ignore_errors=True)

    print(
        f"\nimport floor (best of {2 * args.repeat}, before and after): {floor:.2f} s; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after, on {os.cpu_count()} CPUs"
    )
    print(f"{'where':8} {'check':10} {'first':>8} {'× floor':>8} {'again':>8} {'× floor':>8}")
    for where, target, first, again in rows:
        print(
            f"{where:8} {label(target):10} {first:7.2f}s {first / floor:7.2f}× {again:7.2f}s {again / floor:7.2f}×"
        )
    where = "shell" if args.no_kernel else "kernel"
    exercises = [r for r in rows if r[0] == where and r[1] is not None]
    if exercises:
        first = max(r[2] for r in exercises) / floor
        again = max(r[3] for r in exercises) / floor
        name = "grade" if args.no_kernel else "check()"
        print(f"{name}: first {first:.2f}× the import floor, again {again:.2f}× (worst exercise)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
