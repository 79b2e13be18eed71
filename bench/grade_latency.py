"""How long `grade solutions/` takes next to the floor: a bare process importing torch, transformers and peft.

    python bench/grade_latency.py [--repeat N] [--sandbox auto|bwrap|none] [--cold]

Prints both wall times (the best of N runs, measured in this one run) and their ratio. The reference's
results are cached on disk; the first grading fills the cache (reported as "cold") unless it is warm already.
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


def timed(cmd: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    return time.perf_counter() - start, proc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--sandbox", default="auto", choices=["auto", "bwrap", "none"])
    parser.add_argument("--cold", action="store_true", help="start from an empty reference cache")
    args = parser.parse_args()

    env = dict(os.environ)
    cache = Path(env.get("GRADER_CACHE") or tempfile.gettempdir()) / "grader-bench-cache"
    if args.cold and cache.exists():
        shutil.rmtree(cache)
    env["GRADER_CACHE"] = str(cache)
    exe = shutil.which("grade") or str(Path(sys.executable).parent / "grade")
    grade = [exe, "solutions/", "--sandbox", args.sandbox]

    first, proc = timed(grade, env)
    if proc.returncode != 0:
        print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
        print(f"grade solutions/ exited with {proc.returncode}", file=sys.stderr)
        return 1
    print(f"first grade solutions/ (fills the cache if cold): {first:6.2f} s")

    floors, grades = [], []
    for _ in range(max(1, args.repeat)):
        floors.append(timed([sys.executable, "-c", FLOOR], env)[0])
        elapsed, proc = timed(grade, env)
        if proc.returncode != 0 or proc.stdout.strip().splitlines()[-1] != "Points 100/100":
            print(proc.stdout[-2000:], file=sys.stderr)
            return 1
        grades.append(elapsed)
    floor, graded = min(floors), min(grades)
    print(f"bare import ({FLOOR}): {floor:6.2f} s")
    print(f"grade solutions/ (warm cache, sandbox {args.sandbox}): {graded:6.2f} s")
    print(f"ratio: {graded / floor:.2f}x the import floor (target <= 2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
