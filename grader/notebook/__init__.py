"""The lab as a notebook: grading the modules a ``lab.ipynb`` writes with ``%%writefile`` cells.

==================  ===============================================  ============================================
module              process it runs in                               may import
==================  ===============================================  ============================================
``cells``           any (pure functions on a cell's text)            the standard library
``extract``         the judge (``grade lab.ipynb``) or the batch     nbformat, ``grader.judge.messages``,
                    parent: the notebook to four modules + problems  ``vqa.course``; never runs a cell
``annotate``        the same: a folder's grade told in cells/lines   ``grader.judge.results``/``messages``
``submission``      the same: which paths are notebooks; grading one ``extract``, ``annotate``; no torch
``inline``          the learner's kernel: ``check()``                jinja2, rich, ``grader.judge.results``/
                                                                     ``messages``, ``vqa.course``, the service's
                                                                     client; the grader itself runs in the
                                                                     kernel's warm service (or a process of its
                                                                     own); no torch
==================  ===============================================  ============================================

In a notebook cell::

    from grader.notebook import check
    check("dataset")        # or check() for all four exercises; check("lora", lang="vi")
"""

from grader.notebook.inline import CheckReport, check

__all__ = ["CheckReport", "check"]
