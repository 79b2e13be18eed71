"""Autograder for the VQA lab: one folder per process.

========================  ==========================================  ===============================================
folder                    process it runs in                          may import
========================  ==========================================  ===============================================
``grader/cli.py``         the judge (``grade PATH``, the learner's;   judge, worker handle, reports, ``options``,
                          it asks the terminal's service first)       ``service`` (client), ``vqa.course``; no torch
``grader/instructor.py``  the instructor's ``grader`` commands        ``batch.cli``, ``bundles.cli``; no torch
``grader/options.py``     the judge or the instructor's process: the  the judge (``Grader``'s defaults),
                          grading options ``grade`` and ``grader``    ``vqa.course``, click; no torch
                          share
``grader/judge/``         the judge: plan, lanes of worker calls,     ``grader.worker`` (handle, contract, protocol,
                          verdicts, checks run under pytest,          sandbox, guard, limits), ``grader.checks``,
                          results, reference store, messages          ``vqa.course``, ``vqa.files``; no torch
``grader/checks/``        the judge (pytest files, found by path)     ``grader.judge.messages``/``plan``,
                                                                      ``grader.worker.contract``, ``vqa.course``,
                                                                      numpy, pytest; no torch
``grader/worker/``        the boundary: ``handle`` in the judge,      protocol, sandbox, limits; ``zygote`` imports
                          ``zygote`` in the zygote and its forked     ``grader.probes`` (inside functions); never
                          children; ``protocol`` and ``contract``     the judge; no torch at module level
                          on both sides
``grader/probes/``        the worker children (and the zygote's       torch, transformers, peft, ``vqa``,
                          preload; the reference builder uses the     ``grader.worker`` (contract, protocol, guard,
                          same children)                              fixtures); never the judge
``grader/batch/``         ``scheduler``/``cli``/``cluster``: the      the judge, ``grader.reports``, ``quiz.grading``
                          instructor's parent process; ``slot``:      (``--quiz``), ``vqa.course``, ``vqa.files``,
                          each slot process (a judge for many         ``vqa.archive``, ``distributed``
                          submissions); ``cluster_worker``: a Dask    (``--cluster`` only); no torch
                          worker (its plugin drives slots)
``grader/reports/``       the judge or the batch parent: writers,     ``grader.judge.results``/``messages``,
                          feedback pages, class report, similarity    ``grader.batch.records``, jinja2, rich; no torch
``grader/bundles/``       the instructor's ``grader bundle``          jinja2, ``grader.worker.limits``,
                                                                      ``grader.options``; no torch
``grader/notebook/``      the judge or the batch parent (a            nbformat, ``grader.judge.results``/
                          notebook's ``%%writefile`` cells to         ``messages``, ``vqa.course``/``writefile``;
                          modules, results told in cells and lines);  ``inline``: jinja2, rich, the service's
                          ``inline``: the learner's kernel, check()   client (the grader in its own processes);
                                                                      no torch
``grader/service/``       ``server``: the warm grading service, a     ``server``: the judge, ``grader.cli``; the
                          judge process per kernel or terminal;       others: the standard library, ``grader.
                          ``client``: the kernel and ``grade``;       worker.protocol``, the judge's fingerprint;
                          ``protocol``/``owner``: both sides          no torch (the service's zygote holds it)
========================  ==========================================  ===============================================

The judge never runs student code: checks compare plain data that probes produced inside a separate
worker process (README.md, "Layout", says how the rooms fit together). ``tests/test_house.py`` keeps this table
true: no import cycles, no
torch in the judge, no exercise list outside ``vqa/course.toml``. Every folder reads its texts through
``grader.judge.messages`` (hints.toml), which stands on ``catalog``, the project's one lookup of texts.
"""

from importlib import metadata

__version__ = metadata.version("mllm-vqa-lab")  # the one version, pyproject.toml's
