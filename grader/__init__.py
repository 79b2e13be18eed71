"""Autograder for the VQA lab: one folder per process.

========================  ==========================================  ===============================================
folder                    process it runs in                          may import
========================  ==========================================  ===============================================
``grader/cli.py``         the judge (``grade``)                       judge, worker handle, reports, batch.cli,
                                                                      bundles.cli, ``vqa.course``; no torch
``grader/judge/``         the judge: verdicts, checks run under       ``grader.worker`` (handle, lanes, protocol,
                          pytest, results, reference store, messages  sandbox, guard, limits), ``grader.checks``,
                                                                      ``vqa.course``, ``vqa.files``; no torch
``grader/checks/``        the judge (pytest files, found by path)     ``grader.judge.messages``, ``vqa.course``,
                                                                      numpy, pytest; no torch
``grader/worker/``        the boundary: ``handle``/``lanes`` in the   protocol, sandbox, limits; ``zygote`` imports
                          judge, ``zygote`` in the zygote and its     ``grader.probes`` (inside functions); no torch
                          forked children; ``protocol`` on both sides at module level
``grader/probes/``        the worker children (and the zygote's       torch, transformers, peft, ``vqa``,
                          preload; the reference builder uses the     ``grader.worker.protocol``/``guard``; never
                          same children)                              the judge
``grader/batch/``         ``scheduler``/``cli``/``cluster``: the      the judge, ``grader.reports``, ``quiz.grading``
                          instructor's parent process; ``slot``:      (``--quiz``), ``vqa.course``, ``vqa.files``,
                          each slot process (a judge for many         ``distributed`` (``--cluster`` only); no torch
                          submissions); ``cluster_worker``: a Dask
                          worker (its plugin drives slots)
``grader/reports/``       the judge or the batch parent: writers,     ``grader.judge.results``/``messages``,
                          feedback pages, class report, similarity    ``grader.batch.records``, jinja2, rich; no torch
``grader/bundles/``       the instructor's ``grade bundle``           jinja2, ``grader.worker.limits``; no torch
``grader/notebook/``      the judge or the batch parent (a            nbformat, ``grader.judge.results``/
                          notebook's ``%%writefile`` cells to         ``messages``, ``vqa.course``/``writefile``;
                          modules, results told in cells and lines);  ``inline``: jinja2, rich; the grader in a
                          ``inline``: the learner's kernel, check()   subprocess; no torch
========================  ==========================================  ===============================================

The judge never runs student code: checks compare plain data that probes produced inside a separate
worker process (see DESIGN.md). ``tests/test_house.py`` keeps this table true: no import cycles, no
torch in the judge, no exercise list outside ``vqa/course.toml``.
"""

__version__ = "0.1.0"
