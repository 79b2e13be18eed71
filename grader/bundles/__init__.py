"""Bundles: ``grader bundle ...`` in the instructor's process writes autograders for Gradescope and GitHub
Classroom (``build``, from the jinja2 ``templates``; ``cli`` for the commands). The platform later runs
``grade`` itself. May import jinja2, ``grader.worker.limits``, ``grader.judge.messages`` and (``cli``)
``grader.options``; no torch."""
