"""How long `grade solutions/` takes next to the floor: a bare process importing torch, transformers and peft.

    python bench/grade_latency.py [--repeat N] [--sandbox auto|bwrap|none] [--cold]

Times, as the best of N runs measured in this one run: the floor; ``grade solutions/ --no-service`` (graded in
its own process, as ``--watch``, CI and the bundles grade); and the first ``grade solutions/`` of a fresh
terminal session, which starts the session's warm grading service and is answered by it. Prints each and the
worse ratio to the floor (target <= 1.25x). The reference's results are cached on disk; the first grading
fills the cache (reported as "cold") unless it is warm already.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOOR = "import torch, transformers, peft"


def timed(
    cmd: list[str], env: dict, new_session: bool = False
) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, start_new_session=new_session
    )
    return time.perf_counter() - start, proc


def first_in_a_session(grade: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    """``grade`` as the first of a fresh terminal session (it starts the session's service), then let that
    service end with its session before the next figure."""
    elapsed, proc = timed(grade, env, new_session=True)
    end = time.monotonic() + 30
    while any(Path(env["GRADER_SERVICE_DIR"]).glob("*.sock")) and time.monotonic() < end:
        time.sleep(0.1)
    return elapsed, proc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--sandbox", default="auto", choices=["auto", "bwrap", "none"])
    parser.add_argument("--cold", action="store_true", help="start from an empty reference cache")
    args = parser.parse_args()

    env = dict(os.environ)
    env.pop("GRADER_NO_SERVICE", None)
    cache = Path(env.get("GRADER_CACHE") or tempfile.gettempdir()) / "grader-bench-cache"
    if args.cold and cache.exists():
        shutil.rmtree(cache)
    env["GRADER_CACHE"] = str(cache)
    env["GRADER_SERVICE_DIR"] = tempfile.mkdtemp(prefix="grade-bench-services-")
    exe = shutil.which("grade") or str(Path(sys.executable).parent / "grade")
    grade = [exe, "solutions/", "--sandbox", args.sandbox]

    first, proc = timed([*grade, "--no-service"], env)
    if proc.returncode != 0:
        print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
        print(f"grade solutions/ exited with {proc.returncode}", file=sys.stderr)
        return 1
    print(f"first grade solutions/ (fills the cache if cold): {first:6.2f} s")

    floors, alone, served = [], [], []
    for _ in range(max(1, args.repeat)):
        floors.append(timed([sys.executable, "-c", FLOOR], env)[0])
        for times, run in (
            (alone, lambda: timed([*grade, "--no-service"], env)),
            (served, lambda: first_in_a_session(grade, env)),
        ):
            elapsed, proc = run()
            if proc.returncode != 0 or proc.stdout.strip().splitlines()[-1] != "Points 100/100":
                print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
                return 1
            times.append(elapsed)
    shutil.rmtree(env["GRADER_SERVICE_DIR"], ignore_errors=True)
    floor = min(floors)
    print(f"bare import ({FLOOR}): {floor:6.2f} s")
    print(
        f"grade solutions/ --no-service (warm cache, sandbox {args.sandbox}): {min(alone):6.2f} s "
        f"({min(alone) / floor:.2f}x)"
    )
    print(
        f"first grade solutions/ of a terminal session (starts its service): {min(served):6.2f} s "
        f"({min(served) / floor:.2f}x)"
    )
    print(f"ratio: {max(min(alone), min(served)) / floor:.2f}x the import floor (target <= 1.25x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
