"""Learner-facing text in Vietnamese and English, and the default language."""

from __future__ import annotations

import os
from typing import Mapping

MESSAGES: dict[str, dict[str, str]] = {
    "vi": {
        "question": "Câu hỏi {n}/{total} · {topic}",
        "note": "Ghi chú: {text}",
        "prompt": "Câu trả lời của bạn ({letters})",
        "invalid": "Vui lòng nhập một chữ cái từ {first} đến {last}.",
        "given": "Câu trả lời: {letter}) {text}",
        "no_answer": "Không có câu trả lời cho câu này.",
        "correct": "Chính xác!",
        "wrong": "Chưa đúng. Đáp án đúng là {letter}) {text}.",
        "explanation": "Giải thích: {text}",
        "source": "Nguồn: {text}",
        "score": "Điểm: {score}/{total}",
        "review": "Xem lại các câu chưa đúng:",
        "review_item": "{label} {stem}",
        "your_answer": "Bạn chọn: {answer}",
        "right_answer": "Đáp án đúng: {letter}) {text}",
        "all_right": "Bạn đã trả lời đúng tất cả các câu. Chúc mừng!",
        "stopped": "Đã dừng bài trắc nghiệm. Không có gì được lưu.",
        "saved": "Đã lưu bài làm vào {path}.",
        "none": "(không trả lời)",
        "exam_start": "Chế độ kiểm tra: phản hồi sẽ hiện khi bạn làm xong tất cả các câu.",
    },
    "en": {
        "question": "Question {n}/{total} · {topic}",
        "note": "Note: {text}",
        "prompt": "Your answer ({letters})",
        "invalid": "Please type one letter from {first} to {last}.",
        "given": "Answer: {letter}) {text}",
        "no_answer": "No answer was given for this question.",
        "correct": "Correct!",
        "wrong": "Not quite. The right answer is {letter}) {text}.",
        "explanation": "Explanation: {text}",
        "source": "Source: {text}",
        "score": "Score: {score}/{total}",
        "review": "Review of the questions you missed:",
        "review_item": "{label} {stem}",
        "your_answer": "You chose: {answer}",
        "right_answer": "Right answer: {letter}) {text}",
        "all_right": "All your answers are right. Well done!",
        "stopped": "Quiz stopped. Nothing was saved.",
        "saved": "Attempt saved to {path}.",
        "none": "(no answer)",
        "exam_start": "Exam mode: feedback is shown once you have answered every question.",
    },
}


def t(lang: str, key: str, **values: object) -> str:
    """The message ``key`` in ``lang``, formatted with ``values``."""
    return MESSAGES[lang][key].format(**values)


def default_lang(environ: Mapping[str, str] | None = None) -> str:
    """``en`` when the locale (LC_ALL, then LC_MESSAGES, then LANG) starts with "en", else ``vi``."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value:
            return "en" if value.lower().startswith("en") else "vi"
    return "vi"
