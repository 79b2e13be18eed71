#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: grade the reference with --device cuda (the CUDA checks of train and
# predict run and must pass), then one epoch of the demo on CUDA. Prints the CUDA checks' results.
# Takes a few minutes at most (the tiny models; the reference's CUDA runs are cached after the first time).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-$(mktemp -d)}"
python -c "import torch; print('torch', torch.__version__, 'cuda available:', torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"

status=0
timeout 300 grade solutions/ --device cuda --json "$OUT/cuda.json" || status=$?
echo "grade exit code: $status"
python - "$OUT/cuda.json" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
print("score", data["score"], "/", data["max_score"], {n: e["max_score"] for n, e in data["exercises"].items()})
for note in data["notes"]:
    print("note:", note)
for exercise in data["exercises"].values():
    for check in exercise["checks"]:
        if ".cuda_" in check["name"]:
            state = "skipped" if check.get("skipped") else ("passed" if check["passed"] else "FAILED")
            print(f"{check['name']:24} {state:8} {check['message']}")
PY

timeout 240 vqa train --impl solutions --device cuda --epochs 1 --out /tmp/cuda-demo
ls /tmp/cuda-demo
exit "$status"
