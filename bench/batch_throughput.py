"""Batch grading throughput: ``grader batch --jobs 2`` against a plain loop of ``grade PATH --no-service``.

Grades N submissions (copies of the reference and of known-wrong versions) both ways, in one run,
with the reference's results cached beforehand so neither side pays for them, and prints both wall
times and the ratio.  The batch wins by starting each worker once (torch, transformers and peft
imported once per slot, then forked per submission) and by grading two submissions at a time.

    python bench/batch_throughput.py [--n 20] [--jobs 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MUTATIONS = {  # name: (file, old, new) turning the reference into a known-wrong version
    "maxlen": ("dataset.py", "            max_length=self.question_max_length,\n", ""),
    "grad_eval": ("train.py", "    with torch.no_grad():\n", "    with torch.enable_grad():\n"),
    "no_seed": ("dataset.py", "random.Random(seed).shuffle(order)", "random.shuffle(order)"),
}
KINDS = ("ref", "maxlen", "ref", "grad_eval", "no_seed")


def make_submissions(root: Path, n: int) -> list[Path]:
    """``n`` submission folders cycling through the reference and the known-wrong versions."""
    root.mkdir(parents=True, exist_ok=True)
    folders = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        folder = root / f"s{i:02d}_{kind}"
        shutil.copytree(
            REPO / "solutions", folder, ignore=shutil.ignore_patterns("__pycache__", "__init__.py")
        )
        if kind in MUTATIONS:
            name, old, new = MUTATIONS[kind]
            text = (folder / name).read_text()
            if old not in text:
                raise SystemExit(f"solutions/{name} no longer contains {old!r}: update MUTATIONS")
            (folder / name).write_text(text.replace(old, new, 1))
        folders.append(folder)
    return folders


def command(name: str, module: str) -> list[str]:
    """The console script ``name`` of this environment, else its ``module`` run by this interpreter."""
    exe = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", module]


def grade_command() -> list[str]:
    return command("grade", "grader.cli")


def batch_command() -> list[str]:
    return [*command("grader", "grader.instructor"), "batch"]


def run(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode not in (0, 1):  # 1: some checks failed, as expected for the wrong versions
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return time.perf_counter() - start


def bench_parser(doc: str, n: int) -> argparse.ArgumentParser:
    """The options every batch benchmark takes: ``--n`` submissions and ``--keep DIR``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--n", type=int, default=n, help=f"number of submissions (default {n})")
    parser.add_argument(
        "--keep", type=Path, default=None, help="keep the submissions and results here"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__, 20)
    parser.add_argument("--jobs", type=int, default=2, help="batch --jobs (default 2)")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="batch-bench-"))
    cache = work / "cache"
    subs = make_submissions(work / "submissions", args.n)
    common = ["--cache-dir", str(cache)]

    print(f"{args.n} submissions ({', '.join(sorted(set(KINDS)))}) in {work}", flush=True)
    warm = run([*grade_command(), str(subs[0]), *common, "--no-service"])
    print(f"warm-up (reference results cached): {warm:.1f} s", flush=True)

    # each `grade` starts its own worker, as the batch's slots do once (a terminal's warm service would keep one)
    loop = sum(run([*grade_command(), str(folder), *common, "--no-service"]) for folder in subs)
    print(
        f"loop of `grade PATH --no-service`: {loop:7.1f} s  ({loop / args.n:.1f} s per submission)",
        flush=True,
    )

    out = work / "batch-out"
    batch = run(
        [
            *batch_command(),
            str(subs[0].parent),
            "--out",
            str(out),
            "--jobs",
            str(args.jobs),
            "--no-similarity",
            "--no-progress",
            *common,
        ]
    )
    print(
        f"`grader batch --jobs {args.jobs}`:           {batch:7.1f} s  ({batch / args.n:.1f} s per submission)"
    )

    scores = {}
    for path in sorted((out / "students").glob("*.json")):
        record = json.loads(path.read_text())
        scores[record["student"]] = (record["result"] or {}).get("score")
    wrong = [s for s, v in scores.items() if ("_ref" in s) != (v == 100)]
    print(
        f"ratio: {loop / batch:.2f}x (target >= 3x); {len(scores)} graded, "
        f"{'all scores as expected' if not wrong else 'unexpected scores: ' + ', '.join(wrong)}"
    )
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
