"""A notebook turned into the four modules without running it: the files, the cells they came from, each
problem's message (in English and Vietnamese), and notebooks that cannot be read."""

from __future__ import annotations

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from grader.judge.messages import message
from grader.notebook.extract import extract, notebook_hash
from grader.notebook.reading import NotebookError

from notebook_files import MODULES, cell_number, lab, module_text, save, writefile


def problems_text(extraction, exercise, lang="en"):
    return [p.text(lang) for p in extraction.problems.get(exercise, [])]


def test_the_solutions_notebook_gives_the_solutions_files(tmp_path):
    nb = save(tmp_path / "lab.ipynb", lab("solutions"))
    extraction = extract(nb, tmp_path / "out")
    assert extraction.written == list(MODULES)
    assert extraction.problems == {}
    for file in MODULES:
        assert (tmp_path / "out" / file).read_text(encoding="utf-8") == module_text(
            "solutions", file
        )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        MODULES
    )  # experiments wrote nothing
    # cells counted from 1 over every cell, markdown included: title, set-up, then 3 cells per module
    assert [extraction.cells(f) for f in MODULES] == [[4], [7], [10], [13]]
    assert cell_number(nb, "%%writefile train.py") == 10
    ids = [c.id for c in nbformat.read(str(nb), as_version=4).cells]
    assert extraction.segments["train.py"][0].cell_id == ids[9]


def test_later_cells_append_or_replace_in_cell_order(tmp_path):
    nb = save(
        tmp_path / "lab.ipynb",
        [
            writefile("dataset.py", "old = 1\n"),
            writefile("dataset.py", "import torch\n\nA = 1"),  # replaces: the last plain write wins
            new_code_cell("print('experiment')"),
            writefile("dataset.py", "B = 2\nC = 3\n", append=True),
            writefile("lora.py", "D = 4\n", append=True),  # an append with no file yet creates it
            new_markdown_cell("%%writefile train.py\nnot code"),  # markdown never writes
        ],
    )
    extraction = extract(nb, tmp_path / "out")
    assert (tmp_path / "out" / "dataset.py").read_text() == "import torch\n\nA = 1\nB = 2\nC = 3\n"
    assert (tmp_path / "out" / "lora.py").read_text() == "D = 4\n"
    assert extraction.cells("dataset.py") == [2, 4]
    # file line -> (cell, line in the cell): the magic is each cell's line 1
    assert extraction.place("dataset.py", 1) == (2, 2)
    assert extraction.place("dataset.py", 3) == (2, 4)
    assert extraction.place("dataset.py", 4) == (4, 2)
    assert extraction.place("dataset.py", 5) == (4, 3)
    assert extraction.place("lora.py", 1) == (5, 2)
    assert extraction.place("train.py", 1) is None
    assert set(extraction.problems) == {"train", "predict"}


def test_list_sources_and_crlf_line_breaks(tmp_path):
    """A notebook written on Windows, by hand or by a tool: sources as lists of lines, CRLF breaks, a cell without
    metadata; the modules are written byte for byte."""
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Lab\r\n", "text"]},
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": 3,
            "outputs": [],
            "source": [
                "%%writefile dataset.py\r\n",
                "import os\r\n",
                "def f(:\r\n",
                "    pass\r\n",
            ],
        },
        {
            "cell_type": "code",
            "execution_count": None,
            "outputs": [],  # no metadata: a tool's notebook
            "source": "%%writefile lora.py\r\nX = 1\r\n",
        },
    ]
    path = tmp_path / "win.ipynb"
    path.write_text(
        json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})
    )
    extraction = extract(path, tmp_path / "out")
    assert (tmp_path / "out" / "dataset.py").read_bytes() == b"import os\r\ndef f(:\r\n    pass\r\n"
    assert (tmp_path / "out" / "lora.py").read_bytes() == b"X = 1\r\n"
    assert "lora" not in extraction.problems
    assert problems_text(extraction, "dataset") == [
        "win.ipynb, cell 2 (%%writefile dataset.py), line 3: invalid syntax"
    ]


def test_a_missing_cell_is_named_and_the_others_are_written(tmp_path):
    nb = save(tmp_path / "lab.ipynb", lab("solutions", skip=("lora.py",)))
    extraction = extract(nb, tmp_path / "out")
    assert extraction.written == ["dataset.py", "train.py", "predict.py"]
    assert set(extraction.problems) == {"lora"}
    assert problems_text(extraction, "lora") == [
        "lab.ipynb has no `%%writefile lora.py` cell: the lora exercise is graded from a code cell whose first line "
        "is %%writefile lora.py. Put your code for it in such a cell (or restore that cell from the lab), run it, "
        "and grade again."
    ]
    assert problems_text(extraction, "lora", "vi")[0].startswith(
        "lab.ipynb không có ô `%%writefile lora.py`: bài lora được chấm từ một ô code có dòng đầu là "
        "%%writefile lora.py."
    )


def test_a_syntax_error_names_the_cell_and_its_line(tmp_path):
    body = "import torch\n\n\nclass VQADataset:\n    def __init__(self, records:\n        pass\n"
    nb = save(tmp_path / "lab.ipynb", lab("solutions", replace={"dataset.py": body}))
    extraction = extract(nb, tmp_path / "out")
    assert set(extraction.problems) == {"dataset"}
    [problem] = extraction.problems["dataset"]
    assert (problem.cell, problem.line) == (4, 6)  # line 5 of the file is line 6 of the cell
    assert problem.text("en") in (
        "lab.ipynb, cell 4 (%%writefile dataset.py), line 6: '(' was never closed",
        "lab.ipynb, cell 4 (%%writefile dataset.py), line 6: invalid syntax",
    )
    assert problem.text("vi").startswith("lab.ipynb, ô 4 (%%writefile dataset.py), dòng 6: ")


def test_a_syntax_error_in_an_appended_cell_names_that_cell(tmp_path):
    nb = save(
        tmp_path / "lab.ipynb",
        [
            new_markdown_cell("# Lab"),
            writefile(
                "dataset.py", "import torch\n\n\ndef load_splits(data_dir):\n    return [], []\n"
            ),
            new_code_cell("load_splits('.')"),
            writefile(
                "dataset.py", "\n\ndef build_dataloaders(a, b):\n    return a b\n", append=True
            ),
        ],
    )
    extraction = extract(nb, tmp_path / "out")
    assert problems_text(extraction, "dataset")[0].startswith(
        "lab.ipynb, cell 4 (%%writefile dataset.py), line 5: invalid syntax"
    )


def test_an_unterminated_string_says_the_cells_line(tmp_path):
    nb = save(
        tmp_path / "lab.ipynb",
        [
            writefile(
                "lora.py",
                "X = 1\n",
            ),
            new_code_cell("x"),
            writefile("lora.py", 'Y = """\nnever closed\n', append=True),
        ],
    )
    [text] = problems_text(extract(nb, tmp_path / "out"), "lora")
    assert text == (
        "lab.ipynb, cell 3 (%%writefile lora.py), line 2: unterminated triple-quoted string literal "
        "(detected at line 3)"
    )


@pytest.mark.parametrize(
    "line, what",
    [
        ("!pip install peft", "a shell command (!)"),
        ("%time build_lora_model(model)", "an IPython line magic (%)"),
        ("%%capture", "an IPython cell magic (%%), which works only as a cell's first line"),
        ("%load_ext autoreload", "an IPython line magic (%)"),
        ("get_ipython().system('nvidia-smi')", "a call of IPython's get_ipython()"),
    ],
)
def test_notebook_only_syntax_is_named_with_its_cell_and_line(tmp_path, line, what):
    body = f"import torch\n{line}\n\n\ndef build_lora_model(model):\n    return model\n"
    nb = save(tmp_path / "lab.ipynb", lab("solutions", replace={"lora.py": body}))
    extraction = extract(nb, tmp_path / "out")
    assert set(extraction.problems) == {"lora"}
    assert problems_text(extraction, "lora") == [
        f"lab.ipynb, cell 7 (%%writefile lora.py), line 3: `{line}` is {what}, which runs only in a notebook: a "
        "module file cannot run it. Move it to a cell of its own (without %%writefile), run that cell, and grade "
        "again."
    ]
    assert problems_text(extraction, "lora", "vi")[0].startswith(
        f"lab.ipynb, ô 7 (%%writefile lora.py), dòng 3: `{line}` là "
    )
    assert (tmp_path / "out" / "lora.py").read_text() == body  # written as IPython writes it


def test_every_notebook_only_line_is_named_and_a_syntax_error_after_them_too(tmp_path):
    body = "import os\n!pip install a\ndef f():\n    %time g()\n    return 1\ndef g(:\n    pass\n"
    nb = save(tmp_path / "lab.ipynb", [writefile("train.py", body)])
    texts = problems_text(extract(nb, tmp_path / "out"), "train")
    assert [t.split(":")[0] for t in texts] == [
        "lab.ipynb, cell 1 (%%writefile train.py), line 3",
        "lab.ipynb, cell 1 (%%writefile train.py), line 5",
        "lab.ipynb, cell 1 (%%writefile train.py), line 7",
    ]
    assert texts[2].endswith("line 7: invalid syntax")


def test_what_looks_like_notebook_syntax_but_is_python_is_fine(tmp_path):
    body = (
        '"""Usage:\n!pip install peft\n%time fit(...)\n"""\nfrom IPython import get_ipython\n\n\n'
        "def shell():\n    return get_ipython()\n\n\nRATIO = 10 % 3\n"
    )
    nb = save(tmp_path / "lab.ipynb", lab("solutions", replace={"train.py": body}))
    assert extract(nb, tmp_path / "out").problems == {}


def test_a_cell_removed_since_the_last_extraction_leaves_no_file_behind(tmp_path):
    extract(save(tmp_path / "lab.ipynb", lab("solutions")), tmp_path / "out")
    extraction = extract(
        save(tmp_path / "lab.ipynb", lab("solutions", skip=("predict.py",))), tmp_path / "out"
    )
    assert not (tmp_path / "out" / "predict.py").exists()
    assert "predict" in extraction.problems


# --------------------------------------------------------------------------- notebooks that cannot be read


def whole_notebook_error(path, lang="en") -> str:
    with pytest.raises(NotebookError) as info:
        extract(path, path.parent / "out")
    assert not (path.parent / "out").exists()
    return info.value.text(lang)


def test_a_truncated_notebook_says_where_its_json_breaks(tmp_path):
    full = save(tmp_path / "full.ipynb", lab("solutions")).read_text()
    cut = tmp_path / "lab.ipynb"
    cut.write_text(full[: len(full) // 2])
    line = full[: len(full) // 2].count("\n") + 1
    text = whole_notebook_error(cut)
    assert text.startswith(
        f"lab.ipynb is not a readable notebook: its JSON breaks at line {line}, column "
    )
    assert "cut short" in text and "File → Download → .ipynb" in text
    assert whole_notebook_error(cut, "vi").startswith(
        f"lab.ipynb không đọc được như một notebook: JSON bị hỏng ở dòng {line}, cột "
    )


@pytest.mark.parametrize(
    "content, key, fields",
    [
        (b"", "notebook.empty", {}),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "notebook.not_text", {"offset": 0}),
        (b'["a", "list"]', "notebook.not_notebook", {"missing": '"nbformat"'}),
        (b'{"metadata": {}}', "notebook.not_notebook", {"missing": '"nbformat"'}),
        (
            b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}}',
            "notebook.not_notebook",
            {"missing": '"cells"'},
        ),
        (b'{"nbformat": 5, "cells": []}', "notebook.bad_version", {"version": "5"}),
        (b'{"nbformat": "4", "cells": []}', "notebook.bad_version", {"version": '"4"'}),
        (
            b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"source": "x"}]}',
            "notebook.unreadable",
            {"error": "ValueError: cell 1 has no cell_type"},
        ),
        (
            b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", "source": 7}]}',
            "notebook.unreadable",
            {"error": "ValueError: cell 1 has no text source"},
        ),
    ],
)
@pytest.mark.parametrize("lang", ["en", "vi"])
def test_files_that_are_not_notebooks(tmp_path, content, key, fields, lang):
    path = tmp_path / "lab.ipynb"
    path.write_bytes(content)
    assert whole_notebook_error(path, lang) == message(key, lang, notebook="lab.ipynb", **fields)


def test_the_not_a_notebook_messages_read_well():
    assert message("notebook.bad_version", "en", notebook="lab.ipynb", version="5") == (
        "lab.ipynb is in notebook format 5; the grader reads format 4 (what Jupyter and Colab save) and the older 3. "
        "Open it in Jupyter or Colab, save it, and grade again."
    )
    assert message("notebook.empty", "en", notebook="lab.ipynb").startswith(
        "lab.ipynb is empty: save the notebook"
    )


def test_a_huge_notebook_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from grader.notebook import reading

    monkeypatch.setattr(reading, "MAX_NOTEBOOK_BYTES", 2**20)
    path = save(tmp_path / "lab.ipynb", lab("solutions"))
    path.write_text(
        path.read_text().replace('"metadata": {}', '"metadata": {"pad": "' + "x" * 2**20 + '"}', 1)
    )
    assert whole_notebook_error(path) == (
        "lab.ipynb is 1.1 MB; the grader reads notebooks up to 1 MB. Clear the outputs (Edit → Clear all outputs), "
        "save, and grade again."
    )


def test_an_older_format_3_notebook_is_read(tmp_path):
    from nbformat import v3

    nb = v3.new_notebook(
        worksheets=[
            v3.new_worksheet(
                cells=[
                    v3.new_code_cell(input="%%writefile dataset.py\nX = 1\n"),
                    v3.new_text_cell("markdown", "notes"),
                ]
            )
        ]
    )
    path = tmp_path / "old.ipynb"
    path.write_text(v3.writes_json(nb))
    extraction = extract(path, tmp_path / "out")
    assert (tmp_path / "out" / "dataset.py").read_text() == "X = 1\n"
    assert extraction.cells("dataset.py") == [1]


# --------------------------------------------------------------------------- the batch's content hash


def test_the_hash_follows_the_cells_not_the_outputs(tmp_path):
    path = save(tmp_path / "lab.ipynb", lab("solutions"))
    before = notebook_hash(path)
    nb = nbformat.read(str(path), as_version=4)
    for count, cell in enumerate(
        c for c in nb.cells if c.cell_type == "code"
    ):  # the notebook run again
        cell.execution_count = count + 10
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"Writing {count}\n")]
    nbformat.write(nb, str(path))
    assert notebook_hash(path) == before
    nb.cells[3].source += "\n# a comment"  # the dataset cell
    nbformat.write(nb, str(path))
    changed = notebook_hash(path)
    assert changed != before
    nb.cells.insert(0, new_code_cell("print('moved every cell down')"))
    nbformat.write(nb, str(path))
    assert notebook_hash(path) != changed  # the messages name cells: a move is graded again


def test_an_unreadable_notebook_hashes_by_its_bytes(tmp_path):
    path = tmp_path / "lab.ipynb"
    path.write_text('{"cells": [')
    first = notebook_hash(path)
    path.write_text('{"cells": [{')
    assert notebook_hash(path) != first


# --------------------------------------------------------------------------- the same files IPython writes


def test_running_the_notebook_in_ipython_writes_the_same_files(tmp_path, monkeypatch):
    interactive = pytest.importorskip("IPython.core.interactiveshell")
    cells = lab("solutions") + [
        writefile("lora.py", "\n\nEXTRA = 1\n", append=True),
        new_code_cell("  %%writefile train.py\n  def f():\n      return 1\n  \n  X = 2"),
        new_code_cell("\n\n%%file predict.py\r\nY = 1\r\n"),
        writefile("dataset.py", "Z = 1", append=True),
    ]
    path = save(tmp_path / "lab.ipynb", cells)
    extraction = extract(path, tmp_path / "extracted")
    ran = tmp_path / "ran"
    ran.mkdir()
    monkeypatch.chdir(ran)
    shell = interactive.InteractiveShell.instance()
    try:
        for cell in nbformat.read(str(path), as_version=4).cells:
            if cell.cell_type == "code" and (
                "%%writefile" in cell.source or "%%file" in cell.source
            ):
                assert shell.run_cell(cell.source, silent=True).success
    finally:
        interactive.InteractiveShell.clear_instance()
    for file in MODULES:
        assert (ran / file).read_bytes() == (tmp_path / "extracted" / file).read_bytes(), file
    assert extraction.problems == {}
