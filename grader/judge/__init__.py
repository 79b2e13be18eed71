"""The judge: runs in the process that calls ``grade`` (or a batch slot), never runs student code and
never imports torch. It plans the probe calls (``plan``), runs them in lanes of worker children (``lanes``,
through ``grader.worker.handle``), keeps the reference's results (``reference``), runs the checks under
pytest (``session``), decides verdicts, root causes and the not-implemented summary (``grade``), and
renders messages and hints from ``hints.toml`` (``messages``) into one result model (``results``). It may
import ``grader.worker`` (torch-free), ``grader.checks``, ``vqa.course`` and ``vqa.files``, pytest and
the standard library; importing any module here must leave ``torch`` out of ``sys.modules``."""
