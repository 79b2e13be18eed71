"""``grader bundle gradescope|github-classroom``: the files are written, each command's help lists only its
options, usage errors are click's, and ``classroom`` is the short name of ``github-classroom``."""

from __future__ import annotations

import base64
import json
import re
import zipfile

from click.testing import CliRunner

from grader.bundles import build as bundle
from grader.instructor import main


def grader(*args: str):
    return CliRunner().invoke(main, list(args), prog_name="grader")


def option_names(help_text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])--[a-z][\w-]*", help_text))


def test_bundle_commands_write_the_autograders(tmp_path, monkeypatch):
    done = grader(
        "bundle", "gradescope", str(tmp_path / "ag.zip"), "--lang", "vi", "--timeout", "30"
    )
    assert done.exit_code == 0, done.output
    run_autograder = zipfile.ZipFile(tmp_path / "ag.zip").read("run_autograder").decode()
    assert "--lang vi --timeout 30" in run_autograder
    done = grader(
        "bundle", "github-classroom", str(tmp_path / "starter"), "--source", "mllm-vqa-lab"
    )
    assert done.exit_code == 0 and (tmp_path / "starter/.github/workflows/classroom.yml").is_file()
    done = grader("bundle", "classroom", str(tmp_path / "short"), "--source", "mllm-vqa-lab")
    assert done.exit_code == 0 and (tmp_path / "short/.github/classroom/grade.sh").is_file()
    monkeypatch.setattr(bundle, "default_classroom_source", lambda: None)
    failed = grader("bundle", "github-classroom", str(tmp_path / "other"))
    assert (
        failed.exit_code == 1
        and "pass --source" in failed.output
        and "Traceback" not in failed.output
    )


def test_each_bundle_command_lists_only_its_options():
    for command in ("gradescope", "github-classroom", "classroom"):
        done = grader("bundle", command, "--help")
        assert done.exit_code == 0
        assert option_names(done.output) == {"--source", "--lang", "--timeout", "--help"}, command
    listing = grader("bundle", "--help").output
    assert (
        "gradescope" in listing
        and "github-classroom" in listing
        and "classroom-result" not in listing
    )


def test_usage_errors_are_clicks():
    missing = grader("bundle", "gradescope")
    assert missing.exit_code == 2 and "Missing argument 'OUT.zip'" in missing.output
    unknown = grader("bundle", "moodle", "x")
    assert unknown.exit_code == 2 and "No such command 'moodle'" in unknown.output
    lang = grader("bundle", "gradescope", "ag.zip", "--lang", "fr")
    assert lang.exit_code == 2 and "'fr' is not one of 'en', 'vi'" in lang.output


def test_classroom_result_prints_the_reporters_payload(tmp_path):
    result = {
        "max_score": 100,
        "exercises": {
            "lora": {
                "checks": [
                    {
                        "name": "lora.trainable",
                        "title": "only LoRA trainable",
                        "passed": True,
                        "score": 15,
                    }
                ]
            }
        },
    }
    (tmp_path / "result.json").write_text(json.dumps(result))
    done = grader("bundle", "classroom-result", str(tmp_path / "result.json"))
    assert done.exit_code == 0, done.output
    payload = json.loads(base64.b64decode(done.output))
    assert (
        payload["status"] == "pass" and payload["tests"][0]["name"] == "lora: only LoRA trainable"
    )
    missing = json.loads(
        base64.b64decode(grader("bundle", "classroom-result", str(tmp_path / "none.json")).output)
    )
    assert missing["status"] == "error" and "wrote no result" in missing["tests"][0]["message"]
