"""Reports: what results become, in the judge (``writers``: terminal, JSON, Gradescope, JUnit) or in the
batch's parent process (``feedback`` pages per student, the ``class_report``: CSV, LMS files and
report.html, ``similarity`` between submissions), rendered with the jinja2 ``templates``. May import
``grader.judge.results`` and ``messages``, ``grader.batch.records``, ``vqa.course``, ``vqa.files``,
jinja2 and rich; no torch, never the worker."""
