"""Hashed answer key and sealed feedback (okpy-style: nothing readable at a glance).

The right option of a question is stored only as ``sha256(salt:question_id:option_id)``.
Feedback, explanation and source would give the answer away, so they are stored as a
base64 blob XOR-ed with a SHA-256 keystream derived from the salt, the question id and
the *right* option id: the blob can only be opened once the answer is known, which the
program finds by hashing each option. This keeps the key out of sight; it is not
encryption against a determined learner (four options are four hashes to try).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any


def new_salt() -> str:
    """A fresh random salt (hex)."""
    return secrets.token_hex(16)


def answer_hash(salt: str, question_id: str, option_id: str) -> str:
    """Hex SHA-256 of ``salt:question_id:option_id``."""
    return hashlib.sha256(f"{salt}:{question_id}:{option_id}".encode()).hexdigest()


def _keystream(salt: str, question_id: str, answer: str, length: int) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < length:
        block = f"{salt}:{question_id}:{answer}:seal:{counter}".encode()
        out += hashlib.sha256(block).digest()
        counter += 1
    return bytes(out[:length])


def seal(data: Any, salt: str, question_id: str, answer: str) -> str:
    """Serialise ``data`` as JSON and hide it behind the answer (base64 text)."""
    raw = json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")
    stream = _keystream(salt, question_id, answer, len(raw))
    return base64.b64encode(bytes(a ^ b for a, b in zip(raw, stream))).decode("ascii")


def unseal(blob: str, salt: str, question_id: str, answer: str) -> Any:
    """Inverse of :func:`seal`; raises ``ValueError`` if the blob does not open."""
    try:
        raw = base64.b64decode("".join(blob.split()), validate=True)
    except (ValueError, TypeError) as exc:
        raise ValueError("sealed feedback is not valid base64") from exc
    stream = _keystream(salt, question_id, answer, len(raw))
    try:
        return json.loads(bytes(a ^ b for a, b in zip(raw, stream)).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError("sealed feedback does not open with this answer key") from exc
