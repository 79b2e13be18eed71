"""Pairs of submissions whose own code is unusually alike, with the stub text as boilerplate.

Uses ``copydetect`` (winnowed k-gram fingerprints of the token stream, names normalised, so
renaming variables does not hide a copy).  The stub files in ``exercises/`` are boilerplate:
code every learner was given never counts as similar.  A pair's similarity is, over the four
files together, the share of one side's fingerprinted tokens also found in the other (the larger
of the two directions, so copying a part of someone's work shows too).

Similar is not proof: the exercises are short and tightly specified, so read the pair side by side.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

from vqa import course

FILES = tuple(course.FILES.values())
DEFAULT_THRESHOLD = 0.75
NOISE = 25  # k-gram length: matches shorter than this are ignored (copydetect's default)
GUARANTEE = 30  # matches at least this long are always found
MIN_TOKENS = 100  # a submission with less own code than this is not compared (nothing to copy)
MAX_FILE_BYTES = 256 * 1024


class SimilarityUnavailable(RuntimeError):
    """copydetect is not installed: similarity is skipped, with this message in the report."""


@dataclass
class FileMatch:
    """One file of a pair, both sides with the shared code marked (HTML-escaped, ``<mark>``)."""

    file: str
    similarity: float
    left_html: str
    right_html: str


@dataclass
class Pair:
    left: str
    right: str
    similarity: float  # 0..1
    left_share: float  # share of left's own code found in right
    right_share: float
    files: list[FileMatch] = field(default_factory=list)

    def to_dict(self, *, with_code: bool = False) -> dict:
        data = {"left": self.left, "right": self.right, "similarity": round(self.similarity, 4),
                "left_share": round(self.left_share, 4), "right_share": round(self.right_share, 4),
                "files": [{"file": f.file, "similarity": round(f.similarity, 4)} for f in self.files]}
        if with_code:
            for out, f in zip(data["files"], self.files):
                out.update(left_html=f.left_html, right_html=f.right_html)
        return data


def _read(path: Path) -> str | None:
    try:
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def find_similar(folders: dict[str, str | Path], boilerplate_dir: str | Path | None = None, *,
                 threshold: float = DEFAULT_THRESHOLD) -> list[Pair]:
    """Pairs of ``{student: folder}`` at or above ``threshold``, most similar first.

    ``boilerplate_dir`` (default: the packaged ``exercises/``) holds the stub files whose code is ignored.
    Raises :class:`SimilarityUnavailable` when copydetect is missing.
    """
    try:
        import io

        from copydetect import CodeFingerprint, compare_files
        from copydetect.utils import highlight_overlap
    except ImportError as exc:
        raise SimilarityUnavailable(f"similarity check skipped: copydetect is not installed ({exc}); "
                                    "pip install copydetect") from None
    if boilerplate_dir is None:
        boilerplate_dir = Path(__file__).resolve().parents[2] / "exercises"
    win = GUARANTEE - NOISE + 1
    boiler: dict[str, list[int]] = {}
    for name in FILES:
        text = _read(Path(boilerplate_dir) / name)
        boiler[name] = list(CodeFingerprint(name, NOISE, win, fp=io.StringIO(text)).hashes) if text else []

    prints: dict[str, dict] = {}
    for student, folder in sorted(folders.items()):
        files = {}
        for name in FILES:
            text = _read(Path(folder) / name)
            if text:
                files[name] = CodeFingerprint(name, NOISE, win, boilerplate=boiler[name], fp=io.StringIO(text),
                                              language="python")
        if sum(f.token_coverage for f in files.values()) >= MIN_TOKENS:
            prints[student] = files

    pairs: list[Pair] = []
    for a, b in itertools.combinations(sorted(prints), 2):
        fa, fb = prints[a], prints[b]
        cover_a = sum(f.token_coverage for f in fa.values())
        cover_b = sum(f.token_coverage for f in fb.values())
        shared_a = shared_b = 0.0
        matches = []
        for name in FILES:
            if name not in fa or name not in fb or not (fa[name].hashes & fb[name].hashes):
                continue
            _, (sim_a, sim_b), slices = compare_files(fa[name], fb[name])
            shared_a += float(sim_a) * fa[name].token_coverage
            shared_b += float(sim_b) * fb[name].token_coverage
            matches.append((name, float(max(sim_a, sim_b)), slices))
        share_a, share_b = float(shared_a / cover_a), float(shared_b / cover_b)
        similarity = max(share_a, share_b)
        if similarity < threshold:
            continue
        pair = Pair(a, b, similarity, share_a, share_b)
        for name, sim, (sa, sb) in sorted(matches, key=lambda m: -m[1]):
            left, _ = highlight_overlap(fa[name].raw_code, sa, "<mark>", "</mark>", escape_html=True)
            right, _ = highlight_overlap(fb[name].raw_code, sb, "<mark>", "</mark>", escape_html=True)
            pair.files.append(FileMatch(name, float(sim), left, right))
        pairs.append(pair)
    pairs.sort(key=lambda p: (-p.similarity, p.left, p.right))
    return pairs
