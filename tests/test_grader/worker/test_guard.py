"""The static scan of a submission's imports of the reference and the grader."""

from __future__ import annotations

from grader.worker import guard


def test_scan_source_finds_reference_imports(tmp_path):
    cases = {
        "from solutions.lora import build_lora_model\n": ["solutions"],
        "import grader.checks\n": ["grader"],
        "import importlib\nm = importlib.import_module('solutions.lora')\n": ["solutions"],
        "import solutionsx\nfrom .solutions import y\n": [],
        "def f():\n    import solutions\n": ["solutions"],
    }
    for n, (source, expected) in enumerate(cases.items()):
        path = tmp_path / f"m{n}.py"
        path.write_text(source)
        assert guard.scan_source(path) == expected, source
