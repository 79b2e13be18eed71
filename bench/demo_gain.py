"""The demo's LoRA gain for several seeds: `vqa train --impl solutions --seed N`, exactly as a learner runs it.

    python bench/demo_gain.py [--seeds 0 1 2 3 4] [--jobs N] [-- more vqa train options]

One line per seed: held-out exact match before and after fine-tuning (the shipped tiny-pretrained base on
the generated shifted-style demo data), the gain in points and the command's wall time; then the
smallest gain. Each seed runs as its own `vqa train` process (imports included in the time) with its output
piped. With --jobs above 1 the seeds run side by side (faster in all, slower each).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_seed(seed: int, out: Path, train_args: list[str]) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "vqa.cli",
        "train",
        "--impl",
        "solutions",
        "--device",
        "cpu",
        "--seed",
        str(seed),
        "--out",
        str(out),
        *train_args,
    ]
    start = time.perf_counter()
    proc = subprocess.run(
        cmd,
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    log = proc.stdout
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        return {"seed": seed, "error": f"vqa train failed (exit {proc.returncode})\n{log}"}
    report = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    return {
        "seed": seed,
        "before": 100 * report["before"]["exact"],
        "after": 100 * report["after"]["exact"],
        "seconds": seconds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--jobs", type=int, default=1, help="seeds run side by side [default: 1]")
    parser.add_argument("train_args", nargs="*", help="more `vqa train` options, after --")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=args.jobs) as pool:
        runs = [
            pool.submit(run_seed, seed, Path(tmp) / f"seed-{seed}", args.train_args)
            for seed in args.seeds
        ]
        gains = []
        for run in runs:
            row = run.result()
            if "error" in row:
                print(f"seed {row['seed']}: {row['error']}", file=sys.stderr)
                return 1
            gain = row["after"] - row["before"]
            gains.append(gain)
            print(
                f"seed {row['seed']}: before {row['before']:4.1f}% · after {row['after']:4.1f}% · "
                f"gain {gain:+5.1f} points · {row['seconds']:5.1f} s",
                flush=True,
            )
    print(f"min gain over {len(gains)} seeds: {min(gains):.1f} points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
