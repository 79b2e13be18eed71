"""The class files at a course's size: similarity, report.html, report.json and the CSVs for N submissions.

Builds a synthetic class (``tests/synthetic_class.py``: most submissions near-duplicates of the reference,
some distinct, a few planted groups of copies) with recorded results, writes the class files the way
``grader batch`` does after grading, and prints the seconds for similarity and for the rest, the report's
size, its first paint in headless Chromium (when installed) and whether every planted group was found.

    python bench/class_scale.py            # 1,000 submissions
    python bench/class_scale.py -n 300
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from grader.batch.cli import write_class_files  # noqa: E402
from grader.batch.records import FAILED, GRADED, Record  # noqa: E402

from synthetic_class import build_class, synthetic_results  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000, help="submissions (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", default=None, help="where the class and its files go (default: a temporary folder)"
    )
    args = parser.parse_args()
    base = Path(args.out or tempfile.mkdtemp(prefix="class-scale-"))

    t0 = time.perf_counter()
    synthetic = build_class(base / "submissions", args.n, seed=args.seed)
    students = sorted(synthetic.folders)
    records = []
    for i, (student, result) in enumerate(
        zip(students, synthetic_results(students, seed=args.seed))
    ):
        if i % 97 == 13:  # about 1% not graded
            records.append(
                Record(student, student, FAILED, reason=f"{student}.zip: not a zip file")
            )
        else:
            records.append(
                Record(
                    student, student, GRADED, folder=str(synthetic.folders[student]), result=result
                )
            )
    print(f"built {args.n} submissions in {time.perf_counter() - t0:.1f} s under {base}")

    out = base / "graded"
    t0 = time.perf_counter()
    summary = write_class_files(records, out)
    total = time.perf_counter() - t0
    run = summary.similarity or {}
    similarity_s = float(run.get("seconds", 0.0))
    html = out / "report.html"
    size_mb = html.stat().st_size / 1e6
    print(
        f"similarity: {similarity_s:.1f} s ({run.get('compared')} submissions with distinctive code, "
        f"{run.get('candidates')} candidate pairs, {len(summary.similar)} pairs at or above the threshold)"
    )
    print(f"report and the other class files: {total - similarity_s:.1f} s")
    print(
        f"report.html {size_mb:.1f} MB, report.json {(out / 'report.json').stat().st_size / 1e6:.1f} MB"
    )

    clusters = [set(c["members"]) for c in summary.clusters]
    print(
        f"clusters found: {len(clusters)}, sizes {sorted((len(c) for c in clusters), reverse=True)}"
    )
    planted_found = 0
    for group in synthetic.groups:
        found = next((c for c in clusters if set(group) <= c), None)
        planted_found += found is not None
        extra = sorted(found - set(group)) if found else []
        print(
            f"  planted {', '.join(group)}: {'found' if found else 'MISSED'}"
            + (f" (with {', '.join(extra)})" if extra else "")
        )
    planted = set().union(*map(set, synthetic.groups))
    others = [c for c in clusters if not c & planted]
    print(
        f"planted groups found: {planted_found}/{len(synthetic.groups)}; clusters without a planted copy: "
        f"{len(others)} (largest {max((len(c) for c in others), default=0)} submissions)"
    )

    try:
        from browser import browser_skip_reason, first_paint_ms

        reason = browser_skip_reason()
        if reason:
            print(f"first paint: not measured ({reason})")
        else:
            print(f"first paint in headless Chromium: {first_paint_ms(html, base) / 1000:.2f} s")
    except Exception as exc:  # noqa: BLE001 - the browser is a bonus here
        print(f"first paint: not measured ({exc})")

    print(f"{args.n} submissions: class files in {total:.1f} s, report.html {size_mb:.1f} MB")
    return 0 if planted_found == len(synthetic.groups) else 1


if __name__ == "__main__":
    sys.exit(main())
