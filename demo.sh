#!/usr/bin/env bash
# The lab's main job on the built-in tiny model and generated data: grade, train, predict, quiz, class report.
# Everything runs offline on a CPU; outputs go to runs/.
set -u
cd "$(dirname "$0")"
step() { printf '\n\033[1m== %s ==\033[0m\n' "$*"; }

step "1. Grade the reference (expect 100/100)"
grade solutions/

step "2. Grade the stubs a learner starts from (expect 0/100, one line per exercise)"
grade exercises/

step "2b. The notebook route: grade the lab notebook from its %%writefile cells (expect 100/100)"
grade solutions/lab.ipynb

step "3. The lab's pipeline: LoRA fine-tuning of the tiny pretrained BLIP on shifted-style icons"
vqa train --impl solutions --out runs/demo-model || exit 1

step "4. Answer the test split with the saved adapter"
vqa predict --model-dir runs/demo-model --out runs/demo-model/predictions.jsonl || exit 1

step "5. The quiz, answered from a file (the answer key: 10/10)"
mkdir -p runs/quiz && printf '1=d,2=a,3=d,4=d,5=b,6=b,7=d,8=d,9=c,10=b\n' > runs/quiz-answers.txt
quiz run --lang en --exam --answers runs/quiz-answers.txt --student demo --out runs/quiz/demo.json || exit 1

step "6. Grade a small class (the reference, the stubs, a notebook) and write the report"
rm -rf runs/class && mkdir -p runs/class
cp -r solutions runs/class/alice && cp -r exercises runs/class/bob && cp solutions/lab.ipynb runs/class/carol.ipynb
grader batch runs/class --out runs/class-report --quiz runs/quiz || true
echo "open runs/class-report/report.html in a browser"
