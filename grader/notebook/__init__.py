"""The lab as a notebook: grading the modules a ``lab.ipynb`` writes with ``%%writefile`` cells.

==================  ===============================================  ============================================
module              process it runs in                               may import
==================  ===============================================  ============================================
``reading``         the judge (``grade lab.ipynb``) or the batch     nbformat, ``grader.judge.messages``; never
                    parent: the file to an nbformat node, or one     runs a cell
                    NotebookError saying where it breaks
``found``           the same: what the cells make (modules, each     ``grader.judge.messages``, ``vqa.course``
                    line's cell, problems), as plain data
``problems``        the same: notebook-only lines and syntax errors  ``found``; compiles, never runs
``extract``         the same: the notebook to four modules + what    ``reading``, ``found``, ``problems``,
                    was found; the batch's content hash              ``vqa.writefile``/``files``
``annotate``        the same: a folder's grade told in cells/lines   ``grader.judge.results``/``messages``
``submission``      the same: which paths are notebooks; grading one ``extract``, ``annotate``; no torch
``inline``          the learner's kernel: ``check()``                jinja2, rich, ``grader.judge.results``/
                                                                     ``messages``, ``vqa.course``; the grader
                                                                     itself runs in its own process; no torch
==================  ===============================================  ============================================

In a notebook cell::

    from grader.notebook import check
    check("dataset")        # or check() for all four exercises; check("lora", lang="vi")
"""

from grader.notebook.inline import CheckReport, check

__all__ = ["CheckReport", "check"]
