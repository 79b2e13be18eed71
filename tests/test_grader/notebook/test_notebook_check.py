"""``check()`` in a notebook: the grader runs in its own process, the result comes back as an object with the
score and every check, shown once under the cell as HTML (text where HTML is not shown), in en or vi."""

from __future__ import annotations

import subprocess
import sys

import pytest

from grader.judge.results import CheckResult, ExerciseResult, GradeResult
from grader.notebook import CheckReport, check, inline

from notebook_files import REPO, lab, module_text, save
from paths import CACHE


def sample_result(lang: str = "en") -> GradeResult:
    """dataset 20/25 (one root failure, one that follows from it) and lora not implemented: 20/40."""
    checks = [
        CheckResult("dataset.item_keys", 3, 3, True, title="items have the four keys"),
        CheckResult(
            "dataset.item_shapes",
            0,
            4,
            False,
            message="labels: got shape [1, 8], expected [8] <list>",
            hint="Squeeze the batch dimension: tensor[0] or .squeeze(0).",
            title="item shapes and dtypes",
        ),
        CheckResult(
            "dataset.loader_batches",
            0,
            1,
            False,
            message="labels: got shape [1, 8], expected [8] <list>",
            hint="follows from ✘ “item shapes and dtypes”: fix that first, then grade again",
            title="loaders batch with batch_size",
            caused_by="dataset.item_shapes",
        ),
        CheckResult("dataset.len", 17, 17, True, title="len(dataset)"),
    ]
    result = GradeResult(
        lang=lang, notes=["running without a sandbox: bubblewrap is not installed"]
    )
    result.exercises["dataset"] = ExerciseResult("dataset", checks=checks)
    stub = "not implemented yet: write build_lora_model"
    result.exercises["lora"] = ExerciseResult(
        "lora",
        checks=[
            CheckResult(
                "lora.returns_peft_model", 0, 15, False, message=stub, title="returns a PeftModel"
            )
        ],
        status="not_implemented",
        summary=stub,
    )
    return result


def test_the_report_holds_the_score_and_each_check():
    report = CheckReport(sample_result())
    assert (report.score, report.max_score, report.passed) == (20, 40, False)
    assert [c.name for c in report.checks][:2] == ["dataset.item_keys", "dataset.item_shapes"]
    assert report.check("dataset.item_shapes").message.startswith("labels: got shape [1, 8]")


def test_the_text_is_what_grade_prints():
    text = str(CheckReport(sample_result()))
    assert repr(CheckReport(sample_result())) == text
    lines = text.splitlines()
    assert "note: running without a sandbox: bubblewrap is not installed" in lines[0]
    assert "dataset 20/25  start with: ✘ item shapes and dtypes" in text
    assert "  ✘ item shapes and dtypes (0/4)" in lines
    assert "      labels: got shape [1, 8], expected [8] <list>" in lines
    assert "      hint: Squeeze the batch dimension: tensor[0] or .squeeze(0)." in lines
    assert (
        "      ↳ follows from ✘ “item shapes and dtypes”: fix that first, then grade again" in lines
    )
    assert "✘ lora 0/15  not implemented yet: write build_lora_model" in lines
    assert lines[-1] == "Points 20/40"


def test_the_html_shows_each_check_with_its_message_and_hint():
    html = CheckReport(sample_result())._repr_html_()
    assert html.count('<tr class="check fail">') == 2 and html.count('<tr class="check pass">') == 2
    assert (
        "labels: got shape [1, 8], expected [8] &lt;list&gt;" in html
    )  # escaped, shown as the learner wrote it
    assert "<b>hint:</b> Squeeze the batch dimension" in html
    assert "↳ follows from ✘ “item shapes and dtypes”" in html
    assert "not implemented yet: write build_lora_model" in html
    assert "Points 20/40" in html
    assert "<script" not in html and "http" not in html  # self-contained


def test_vietnamese():
    report = CheckReport(sample_result("vi"), lang="vi")
    html = report._repr_html_()
    assert "<th>Kiểm tra</th>" in html and "<b>gợi ý:</b>" in html and "Điểm 20/40" in html
    assert "hãy bắt đầu từ: ✘ item shapes and dtypes" in html
    assert str(report).splitlines()[-1] == "Điểm 20/40"


def test_a_grader_that_cannot_run_is_one_clear_line():
    report = CheckReport(None, "en", "the worker could not start: no python")
    assert str(report) == "The grader could not run: the worker could not start: no python"
    assert (report.score, report.max_score, report.checks) == (0, 0, [])
    assert 'role="alert"' in report._repr_html_()


def test_a_module_not_written_yet_says_to_run_its_cell(tmp_path):
    result = sample_result()
    result.exercises["lora"].status = "load_error"
    result.exercises["lora"].summary = "lora.py cannot be loaded: /x/lora.py: missing."
    inline.not_written(result, tmp_path)
    lora = result.exercises["lora"]
    assert lora.summary == (
        "lora.py is not in this folder yet: run the cell that starts with %%writefile lora.py "
        "(the lora exercise), then check again."
    )
    assert lora.checks[0].message == lora.summary
    assert result.exercises["dataset"].status == "graded"


def test_wrong_arguments_say_what_to_pass():
    with pytest.raises(ValueError, match="choose one of dataset, lora, train, predict"):
        check("datasets")
    with pytest.raises(ValueError, match="choose one of en, vi"):
        check("dataset", lang="fr")


def test_check_runs_the_grader_as_its_own_process(tmp_path):
    report = check("lora", folder=tmp_path / "nowhere", show=False)
    assert report.result is None and report.usage and "nowhere: no such folder" in str(report)
    (tmp_path / "lab.ipynb").write_text('{"cells": [')
    report = check(folder=tmp_path / "lab.ipynb", lang="vi", show=False)
    assert str(report).startswith(
        f"{tmp_path / 'lab.ipynb'} không đọc được như một notebook: JSON bị hỏng ở dòng 1"
    )


@pytest.fixture()
def canned(monkeypatch):
    """check() without grading: the grader's process answers with sample_result()."""
    calls = []

    def fake(folder, exercise, lang, timeout):
        calls.append((folder, exercise, lang))
        return CheckReport(sample_result(lang), lang, "", exercise)

    monkeypatch.setattr(inline, "_grade", fake)
    return calls


def test_the_language_comes_from_the_environment(canned, monkeypatch, capsys):
    monkeypatch.setenv("GRADER_LANG", "vi")
    check("dataset")
    assert canned == [(".", "dataset", "vi")]
    assert capsys.readouterr().out.rstrip().endswith("Điểm 20/40")  # no IPython: printed as text


def test_in_ipython_the_result_shows_once_per_cell(canned):
    interactive = pytest.importorskip("IPython.core.interactiveshell")
    from IPython.utils.capture import capture_output

    shell = interactive.InteractiveShell.instance()
    try:

        def outputs(code):
            with capture_output() as captured:
                assert shell.run_cell(code, store_history=True).success
            return [o.data for o in captured.outputs]

        shown = outputs("from grader.notebook import check\nr = check('dataset')")
        assert len(shown) == 1 and "Points 20/40" in shown[0]["text/html"]
        assert shown[0]["text/plain"].endswith("Points 20/40")
        assert len(outputs("check('dataset')")) == 1  # the cell's value is the report already shown
        assert len(outputs("r")) == 1  # shown again in a later cell
        assert shell.user_ns["r"].score == 20
    finally:
        interactive.InteractiveShell.clear_instance()


@pytest.mark.parametrize(
    "module",
    [
        "grader.notebook.extract",
        "grader.notebook.annotate",
        "grader.notebook.submission",
        "grader.notebook.inline",
    ],
)
def test_no_module_of_the_notebook_layer_imports_torch(module):
    code = (
        f"import sys, {module}; heavy = [m for m in ('torch', 'transformers', 'peft') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_importing_it_in_a_kernel_brings_in_no_torch_and_no_judge():
    code = (
        "import sys; from grader.notebook import check; "
        "heavy = [m for m in ('torch', 'transformers', 'peft', 'nbformat', 'pytest', 'grader.judge.grade') "
        "if m in sys.modules]; assert not heavy, heavy"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.slow
def test_check_grades_a_notebooks_modules_for_real(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_CACHE", str(CACHE))
    wrong = module_text("solutions", "lora.py").replace('bias="none"', 'bias="all"')
    (tmp_path / "lora.py").write_text(
        wrong
    )  # what running the lab's lora cell leaves in the folder
    report = check("lora", folder=tmp_path, show=False)
    assert report.error == "" and report.max_score == 15 and 0 < report.score < 15
    failed = [c for c in report.checks if not c.passed]
    assert "lora.no_bias_training" in [c.name for c in failed]
    html = report._repr_html_()
    assert f"Points {report.score:g}/15" in html and "bias=&#39;none&#39;" in html
    report = check("train", folder=tmp_path, lang="vi", show=False)  # its cell not run yet
    assert report.result.exercises["train"].summary.startswith(
        "train.py chưa có trong thư mục này: hãy chạy ô"
    )
    save(tmp_path / "lab.ipynb", lab("solutions"))
    report = check("predict", folder=tmp_path / "lab.ipynb", show=False)
    assert (report.score, report.max_score) == (25, 25)
