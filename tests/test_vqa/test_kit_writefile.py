"""A ``%%writefile`` cell read as IPython runs it: the file, append or not, the exact text, the first line."""

from __future__ import annotations

import ast

import pytest

from vqa.writefile import count_lines, parse_writefile, split_lines

CELLS = [
    "%%writefile dataset.py\nimport torch\nx = 1",
    "%%writefile dataset.py\nimport torch\n",
    "%%writefile -a lora.py\ndef f():\n    return 1\n",
    "%%writefile --append lora.py\nx = 2",
    '%%writefile "train.py"\nx = 3\n',
    "%%writefile 'predict.py' -a\nx = 4\n",
    "%%file dataset.py\nx = 5\n",
    "\n  \n%%writefile dataset.py\nx = 6\n",
    "%%writefile dataset.py\ndef f():\n    x = 1\n    \n    return x\n",
    "  %%writefile dataset.py\n  x = 7\n    y = 8\n",
    "%%writefile dataset.py\r\nx = 9\r\ny = 10\r\n",
    "%%writefile dataset.py",
    "%%writefile /content/drive/lab/dataset.py\nx = 11\n",
]
NOT_WRITEFILE = [
    "import os\n%%writefile dataset.py\nx = 1\n",  # not the first line: IPython runs no cell magic
    "%%capture\n%%writefile dataset.py\nx = 1\n",
    "%writefile dataset.py\nx = 1\n",
    "%%writefile\nx = 1\n",  # no file name: IPython refuses
    "%%writefile a.py b.py\nx = 1\n",
    "%%writefile -x dataset.py\nx = 1\n",
    "%%writefile? \n",
    "",
    "  %%writefile dataset.py\nx = 1\n",  # indented, but the cell is not: no cell magic
]


def test_a_plain_cell():
    write = parse_writefile("%%writefile dataset.py\nimport torch\nx = 1")
    assert (write.filename, write.append, write.body, write.first_line) == (
        "dataset.py",
        False,
        "import torch\nx = 1\n",
        2,
    )


def test_append_quotes_alias_and_blank_lines_above():
    assert parse_writefile("%%writefile -a lora.py\nx\n").append
    assert parse_writefile("%%writefile --append lora.py\nx\n").append
    assert parse_writefile('%%writefile "train.py"\nx\n').filename == "train.py"
    assert parse_writefile("%%file dataset.py\nx\n").filename == "dataset.py"
    write = parse_writefile("\n  \n%%writefile dataset.py\nx = 6\n")
    assert write.body == "x = 6\n" and write.first_line == 4  # the magic is on line 3 of the cell


def test_whitespace_only_lines_are_emptied_as_ipython_does():
    write = parse_writefile("%%writefile dataset.py\ndef f():\n    x = 1\n    \n    return x\n")
    assert write.body == "def f():\n    x = 1\n\n    return x\n"


@pytest.mark.parametrize("source", NOT_WRITEFILE)
def test_cells_ipython_would_not_write(source):
    assert parse_writefile(source) is None


@pytest.mark.parametrize("source", CELLS)
def test_the_body_is_what_ipython_hands_to_the_magic(source):
    transformer = pytest.importorskip("IPython.core.inputtransformer2")
    code = transformer.TransformerManager().transform_cell(source)
    call = ast.parse(code).body[0].value
    assert call.func.attr == "run_cell_magic"
    magic, line, body = (a.value for a in call.args)
    write = parse_writefile(source)
    assert magic in ("writefile", "file")
    assert write.body == body
    assert write.append == ("-a" in line.split() or "--append" in line.split())


@pytest.mark.parametrize("source", NOT_WRITEFILE[:3] + NOT_WRITEFILE[-1:])
def test_ipython_runs_no_writefile_for_these(source):
    transformer = pytest.importorskip("IPython.core.inputtransformer2")
    code = transformer.TransformerManager().transform_cell(source)
    assert "run_cell_magic('writefile'" not in code


def test_lines_are_counted_as_python_counts_them():
    assert count_lines("a\nb\n") == 2 and count_lines("a\nb") == 2 and count_lines("") == 0
    assert count_lines("a\r\nb\rc\n") == 3
    assert split_lines("a\r\nb\rc") == ["a\r\n", "b\r", "c"]
