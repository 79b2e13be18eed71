"""The batch on a Dask cluster against the local batch: ``grader batch --cluster local:W`` vs ``--jobs W``.

Grades the same class of N submissions (copies of the reference and of known-wrong versions, as
``bench/batch_throughput.py`` builds it) both ways in one run, local first, with the reference's results cached
beforehand so neither side pays for them; checks that every grade is identical; prints both wall times, the
overhead ratio and, from the cost per submission measured on the cluster, a planning table for larger classes
on more cores. The last line: ``N submissions on a W-worker Dask cluster: identical grades, C× the local
batch's time``.

    python bench/cluster_batch.py [--n 32] [--workers 2] [--keep DIR]
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from batch_throughput import batch_command, bench_parser, grade_command, make_submissions, run

PLAN_SUBMISSIONS = (1_000, 10_000, 100_000)
PLAN_CORES = (16, 64, 256)
TIMINGS = ("execution_time", "seconds", "graded_at")


def grades(out: Path) -> dict[str, dict]:
    """Each student's record as a person reads it (status, reason, the whole result), without clock readings."""

    def untimed(value):
        if isinstance(value, dict):
            return {k: untimed(v) for k, v in value.items() if k not in TIMINGS}
        if isinstance(value, list):
            return [untimed(v) for v in value]
        return value

    return {
        p.stem: untimed(json.loads(p.read_text()))
        for p in sorted((out / "students").glob("*.json"))
    }


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def grading_seconds(out: Path) -> list[float]:
    """The seconds each submission took in its slot (what one more submission costs a worker)."""
    return [json.loads(p.read_text())["seconds"] for p in sorted((out / "students").glob("*.json"))]


def planning_table(cost: float, fixed: float) -> list[str]:
    """Wall time for the planned classes at one worker per core: ``fixed`` seconds of start-up and hand-over, then
    ``cost`` seconds of a worker per submission."""
    lines = [f"{'submissions':>12}" + "".join(f"{f'{c} cores':>12}" for c in PLAN_CORES)]
    for n in PLAN_SUBMISSIONS:
        lines.append(
            f"{n:>12,}" + "".join(f"{duration(fixed + n * cost / c):>12}" for c in PLAN_CORES)
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__, 32)
    parser.add_argument(
        "--workers", type=int, default=2, help="local --jobs and Dask workers (default 2)"
    )
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="cluster-bench-"))
    subs = make_submissions(work / "submissions", args.n)
    common = ["--cache-dir", str(work / "cache"), "--no-similarity", "--no-progress"]
    print(f"{args.n} submissions in {work}; {args.workers} workers", flush=True)
    warm = run([*grade_command(), str(subs[0]), "--cache-dir", str(work / "cache")])
    print(f"warm-up (reference results cached): {warm:.1f} s", flush=True)

    local = run(
        [
            *batch_command(),
            str(subs[0].parent),
            "--out",
            str(work / "out-local"),
            "--jobs",
            str(args.workers),
            *common,
        ]
    )
    print(
        f"local batch, --jobs {args.workers}:          {local:7.1f} s ({local / args.n:.2f} s per submission)",
        flush=True,
    )
    on_cluster = run(
        [
            *batch_command(),
            str(subs[0].parent),
            "--out",
            str(work / "out-cluster"),
            "--cluster",
            f"local:{args.workers}",
            *common,
        ]
    )
    print(
        f"Dask cluster, --cluster local:{args.workers}:  {on_cluster:7.1f} s "
        f"({on_cluster / args.n:.2f} s per submission)",
        flush=True,
    )

    here, there = grades(work / "out-local"), grades(work / "out-cluster")
    differ = sorted(s for s in set(here) | set(there) if here.get(s) != there.get(s))
    ratio = on_cluster / local
    spent = grading_seconds(work / "out-cluster")
    cost = sum(spent) / max(len(spent), 1)  # one submission, graded in a worker's slot
    fixed = max(
        0.0, on_cluster - sum(spent) / args.workers
    )  # the rest: start-up, hand-over, class files
    print(f"overhead: {ratio:.2f}x the local batch (target <= 1.15x)")
    print(
        f"planning, one single-threaded worker per core: {cost:.2f} s of a worker per submission and {fixed:.0f} s "
        "of start-up, as measured here (other CPUs differ):"
    )
    print("\n".join(planning_table(cost, fixed)))
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    verdict = (
        "identical grades"
        if not differ and len(here) == args.n
        else f"DIFFERENT grades ({', '.join(differ) or f'{len(here)} and {len(there)} records'})"
    )
    print(
        f"{args.n} submissions on a {args.workers}-worker Dask cluster: {verdict}, "
        f"{ratio:.2f}× the local batch's time"
    )
    return 0 if verdict == "identical grades" else 1


if __name__ == "__main__":
    sys.exit(main())
