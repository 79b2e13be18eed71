"""Batch grading, ``grader batch DIR``. ``scheduler`` and ``cli`` run in the instructor's parent process:
they find the submissions (``discovery``, ``archive`` for zips), keep one record per student on disk
(``records``, keyed by the ``fingerprint`` of the code that grades), start slots and hand out work.
``slot`` runs in each slot process: one judge (``grader.judge.grade.Grader``) for many submissions. With
``--cluster``, ``cluster`` sends the grading to a Dask cluster instead of this machine's slots, and
``cluster_worker`` runs in each Dask worker (a plugin keeping warm slots there). May import the judge,
``grader.reports``, ``quiz.grading`` (for ``--quiz``), ``vqa.course``, ``vqa.files`` and ``distributed`` (the
``cluster`` extra, only on the cluster path); no torch.

The names most callers need are here: ``run_batch``, ``BatchOptions``, ``discover``, ``load_record``, …
"""

from grader.batch.discovery import Entry, content_hash, discover
from grader.batch.fingerprint import grader_fingerprint
from grader.batch.records import (
    FAILED,
    GRADED,
    BatchOptions,
    BatchSummary,
    Record,
    load_record,
    load_records,
    record_path,
)
from grader.batch.scheduler import GradingStopped, SlotStartError, run_batch

__all__ = [
    "Entry",
    "content_hash",
    "discover",
    "grader_fingerprint",
    "FAILED",
    "GRADED",
    "BatchOptions",
    "BatchSummary",
    "Record",
    "load_record",
    "load_records",
    "record_path",
    "GradingStopped",
    "SlotStartError",
    "run_batch",
]
