"""The flags a grading can raise, in one table: what each means and whether it needs an instructor's look.

A flag is written ``name`` or ``name:exercise`` (``timeout:lora``). The judge raises the worker's
flags, the batch raises ``not_graded`` and the class report ``similar``; the results, the batch
summary, the feedback pages and the class report all read this table, so a flag cannot be raised
without a meaning, and "needs a look" is decided in one place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Flag:
    name: str
    label: str  # the class report's heading for it
    text: dict[str, str]  # what it means, for the learner's feedback ("en", "vi")
    needs_look: bool  # listed at the end of a batch and marked red in the report
    misbehaved: bool  # the code misbehaved (hung, crashed, cheated): its failed checks are not something to re-teach
    raised_by: str  # judge | batch | report


FLAGS: dict[str, Flag] = {flag.name: flag for flag in (
    Flag("grader_error", "Grader errors", {
        "en": "the grader itself failed on some checks (not your code): those were not scored",
        "vi": "chính trình chấm bị lỗi ở một số bài kiểm tra (không phải do mã của bạn): các bài đó không được tính điểm"},
        needs_look=True, misbehaved=True, raised_by="judge"),
    Flag("not_graded", "Not graded", {
        "en": "not graded", "vi": "chưa chấm"}, needs_look=True, misbehaved=False, raised_by="batch"),
    Flag("timeout", "Timeouts", {
        "en": "some code ran past the time limit (an endless loop?)",
        "vi": "mã chạy quá giới hạn thời gian (vòng lặp vô hạn?)"}, needs_look=True, misbehaved=True,
        raised_by="judge"),
    Flag("crash", "Crashes", {
        "en": "the worker running your code crashed",
        "vi": "tiến trình chạy mã của bạn bị lỗi và dừng"}, needs_look=True, misbehaved=True, raised_by="judge"),
    Flag("memory", "Out of memory", {
        "en": "your code ran out of memory",
        "vi": "mã của bạn dùng hết bộ nhớ"}, needs_look=True, misbehaved=True, raised_by="judge"),
    Flag("exit", "Exits (sys.exit)", {
        "en": "your code called sys.exit (or raised SystemExit)",
        "vi": "mã của bạn gọi sys.exit (hoặc raise SystemExit)"}, needs_look=True, misbehaved=True,
        raised_by="judge"),
    Flag("imports_reference", "Imports of the reference or grader", {
        "en": "your code tried to import the reference solution or the grader",
        "vi": "mã của bạn cố import lời giải mẫu hoặc trình chấm"}, needs_look=True, misbehaved=True,
        raised_by="judge"),
    Flag("output_truncated", "Output cut (printed a lot)", {
        "en": "your code printed a lot; the output was cut",
        "vi": "mã của bạn in ra quá nhiều; phần in ra đã bị cắt"}, needs_look=False, misbehaved=False,
        raised_by="judge"),
    Flag("load_error", "Modules that failed to load", {
        "en": "a module could not be loaded",
        "vi": "không nạp được một module"}, needs_look=False, misbehaved=False, raised_by="judge"),
    Flag("not_implemented", "Not implemented", {
        "en": "not implemented yet",
        "vi": "chưa cài đặt"}, needs_look=False, misbehaved=False, raised_by="judge"),
    Flag("similar", "Similar submissions", {
        "en": "code unusually alike another submission's",
        "vi": "mã giống bất thường với một bài nộp khác"}, needs_look=True, misbehaved=False, raised_by="report"),
)}

# the worker's call outcomes that raise a flag of the same name on the exercise
WORKER_KINDS = ("timeout", "crash", "memory", "exit")


class UnknownFlag(ValueError):
    """A flag that is not in :data:`FLAGS`."""


def make(name: str, exercise: str | None = None) -> str:
    """The flag string ``name`` or ``name:exercise``; raises :class:`UnknownFlag` for a name not in the table."""
    if name not in FLAGS:
        raise UnknownFlag(f"unknown flag {name!r}; add it to grader.judge.flags.FLAGS")
    return f"{name}:{exercise}" if exercise else name


def parse(flag: str) -> tuple[Flag | None, str]:
    """``timeout:lora`` -> (the timeout Flag, "lora"); an unknown name gives None."""
    name, _, arg = flag.partition(":")
    return FLAGS.get(name), arg


def needs_look(flag: str) -> bool:
    """Whether an instructor should look at a submission with ``flag`` (unknown flags: yes)."""
    known, _ = parse(flag)
    return known.needs_look if known else True


def misbehaved(flag: str) -> bool:
    known, _ = parse(flag)
    return bool(known and known.misbehaved)


def describe(flag: str, lang: str = "en") -> str:
    """``not_implemented:dataset`` -> ``dataset: not implemented yet``; unknown flags as they are."""
    known, arg = parse(flag)
    if known is None:
        return flag
    text = known.text.get(lang) or known.text["en"]
    return f"{arg}: {text}" if arg else text


def label(name: str) -> str:
    """The report's heading for the flag ``name`` (the name itself when unknown)."""
    known = FLAGS.get(name)
    return known.label if known else name
