"""Submissions whose own code is unusually alike, found the way MOSS finds them.

1. **Fingerprints.** Each file is cut into Python tokens with identifiers, strings and comments
   normalised away (renaming variables hides nothing), hashed as k-grams of :data:`NOISE` tokens and
   winnowed (the smallest hash of every window of :data:`WINDOW` k-grams; Schleimer, Wilkerson and
   Aiken, 2003): any match of :data:`GUARANTEE` tokens or more is found.
2. **What is not evidence.** Fingerprints of the stub files are boilerplate. Fingerprints found in more
   than ``common_share`` of the class (and more than :data:`COMMON_MIN` submissions) are common
   knowledge: the exercises are tightly specified, so correct code looks alike. What is left of a
   submission is its *distinctive* code.
3. **An index, not every pair.** An inverted index (fingerprint → submissions) gives the candidate
   pairs: only submissions that share a distinctive fingerprint are compared, so the cost follows the
   shared passages, not the square of the class.
4. **Similarity** of a pair: the share of one side's distinctive fingerprints found in the other, the
   larger of the two directions (copying a part of someone's work shows too), when they share at least
   :data:`MIN_SHARED` of them. Pairs at or above the threshold are grouped into clusters (who shares
   with whom); the ``top`` most similar pairs get their code side by side with the shared passages marked.

Similar is not proof: read the pair side by side.
"""

from __future__ import annotations

import html
import keyword
import re
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from vqa import course

if (
    TYPE_CHECKING
):  # numpy is imported where it is used: the grade command imports this module's defaults
    import numpy as np

FILES = tuple(course.FILES.values())
DEFAULT_THRESHOLD = 0.75
DEFAULT_COMMON_SHARE = 0.05  # a passage in more than 5% of the class is common knowledge ...
# ... and so is one in more than 10 submissions only when the class is large (MOSS's -m 10)
COMMON_MIN = 10
DEFAULT_TOP = 25  # pairs shown side by side in the report
NOISE = 25  # k-gram length in tokens: matches shorter than this are ignored
GUARANTEE = 30  # matches at least this long are always found
WINDOW = GUARANTEE - NOISE + 1
MIN_SHARED = 20  # distinctive fingerprints a pair must share (about 70 tokens, a few lines of code)
MAX_FILE_BYTES = 256 * 1024

_TOKEN = re.compile(
    r'''
    \#[^\n]*                                                   # comment
  | [rRbBuUfF]{0,2}(?:"""(?:\\.|[^\\])*?"""|\'\'\'(?:\\.|[^\\])*?\'\'\'
                     |"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')   # string
  | [^\W\d]\w*                                                 # name
  | \d[\w.]*|\.\d\w*                                           # number
  | \*\*=?|//=?|>>=?|<<=?|->|:=|[-+*/%&|^@=<>!]=|[^\s\w]        # operator
''',
    re.VERBOSE,
)
_KEYWORDS = frozenset(keyword.kwlist)
_MASK = (1 << 64) - 1
_BASE = 1_000_003
_SALT = {name: (zlib.crc32(name.encode()) * 0x9E3779B97F4A7C15) & _MASK for name in FILES}


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
    left_share: float  # share of left's distinctive code found in right
    right_share: float
    shared: int = 0  # distinctive fingerprints in common
    cluster: int = 0  # the cluster's number (1 = the largest)
    file_shares: dict[str, float] = field(default_factory=dict)  # per file, the larger direction
    files: list[FileMatch] = field(default_factory=list)  # side by side: only for the top pairs

    def to_dict(self, *, with_code: bool = False) -> dict:
        data = {
            "left": self.left,
            "right": self.right,
            "similarity": round(self.similarity, 4),
            "left_share": round(self.left_share, 4),
            "right_share": round(self.right_share, 4),
            "shared": self.shared,
            "cluster": self.cluster,
            "files": [
                {"file": name, "similarity": round(share, 4)}
                for name, share in self.file_shares.items()
            ],
        }
        if with_code and self.files:
            data["code"] = [
                {
                    "file": f.file,
                    "similarity": round(f.similarity, 4),
                    "left_html": f.left_html,
                    "right_html": f.right_html,
                }
                for f in self.files
            ]
        return data


@dataclass
class Cluster:
    """Submissions linked by similar pairs (directly or through each other)."""

    number: int
    members: list[str]
    pairs: int
    max_similarity: float
    mean_similarity: float

    def to_dict(self) -> dict:
        return {
            "number": self.number,
            "members": self.members,
            "pairs": self.pairs,
            "max_similarity": round(self.max_similarity, 4),
            "mean_similarity": round(self.mean_similarity, 4),
        }


@dataclass
class SimilarityResult:
    pairs: list[Pair]  # every pair at or above the threshold, most similar first
    clusters: list[Cluster]  # largest first
    settings: dict
    submissions: int = 0  # submissions read
    compared: int = 0  # with distinctive code to compare
    candidates: int = 0  # pairs that shared a distinctive fingerprint
    common: int = 0  # fingerprints left out as common knowledge
    seconds: float = 0.0

    def shown(self) -> list[Pair]:
        """The pairs with their code side by side (the ``top`` most similar)."""
        return [p for p in self.pairs if p.files]

    def run(self) -> dict:
        """The settings and counts of this run (what the report says about how pairs were found)."""
        return {
            "settings": self.settings,
            "submissions": self.submissions,
            "compared": self.compared,
            "candidates": self.candidates,
            "common": self.common,
            "seconds": round(self.seconds, 3),
        }


# --------------------------------------------------------------------------- fingerprints


def tokens(text: str) -> list[tuple[int, int, str]]:
    """(start, end, normalised token) for the code in ``text``: names ``N``, strings ``S``, no comments."""
    out = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        first = token[0]
        if first == "#":
            continue
        if first.isalpha() or first == "_":
            if token[-1] in "'\"":
                token = "S"
            elif token not in _KEYWORDS:
                token = "N"
        elif first in "'\"":
            token = "S"
        out.append((match.start(), match.end(), token))
    return out


_TOKEN_IDS: dict[str, int] = {}


def _token_id(token: str) -> int:
    value = _TOKEN_IDS.get(token)
    if value is None:
        value = _TOKEN_IDS[token] = zlib.crc32(token.encode()) + 1
    return value


def kgram_hashes(toks: list[tuple[int, int, str]], salt: int = 0) -> np.ndarray:
    """The hash of every k-gram (``NOISE`` tokens) of ``toks``, salted by file so files match only their own kind."""
    import numpy as np

    n = len(toks) - NOISE + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    ids = np.fromiter((_token_id(t[2]) for t in toks), dtype=np.uint64, count=len(toks))
    hashes = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(NOISE):
            hashes = hashes * np.uint64(_BASE) + ids[j : j + n]
        return hashes ^ np.uint64(salt)


def winnow(hashes: np.ndarray) -> np.ndarray:
    """The fingerprints: the distinct minima of every window of ``WINDOW`` consecutive k-gram hashes."""
    import numpy as np

    if len(hashes) <= WINDOW:
        return hashes.min(keepdims=True) if len(hashes) else hashes
    return np.unique(np.lib.stride_tricks.sliding_window_view(hashes, WINDOW).min(axis=1))


def _read(path: Path) -> str | None:
    try:
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def file_fingerprints(text: str, name: str) -> np.ndarray:
    return winnow(kgram_hashes(tokens(text), _SALT[name]))


# --------------------------------------------------------------------------- the index


def _boilerplate(boilerplate_dir: Path) -> np.ndarray:
    import numpy as np

    prints = [
        file_fingerprints(text, name) for name in FILES if (text := _read(boilerplate_dir / name))
    ]
    return np.unique(np.concatenate(prints)) if prints else np.zeros(0, dtype=np.uint64)


def _clusters(pairs: list[Pair]) -> list[Cluster]:
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in pairs:
        a, b = root(p.left), root(p.right)
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[str, list[Pair]] = {}
    for p in pairs:
        groups.setdefault(root(p.left), []).append(p)
    clusters = []
    for members_pairs in groups.values():
        members = sorted({n for p in members_pairs for n in (p.left, p.right)})
        sims = [p.similarity for p in members_pairs]
        clusters.append(Cluster(0, members, len(members_pairs), max(sims), sum(sims) / len(sims)))
    clusters.sort(key=lambda c: (-len(c.members), -c.max_similarity, c.members[0]))
    number = {}
    for i, cluster in enumerate(clusters, start=1):
        cluster.number = i
        for name in cluster.members:
            number[name] = i
    for p in pairs:
        p.cluster = number[p.left]
    return clusters


def find_similar(
    folders: dict[str, str | Path],
    boilerplate_dir: str | Path | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    common_share: float = DEFAULT_COMMON_SHARE,
    top: int = DEFAULT_TOP,
    min_shared: int = MIN_SHARED,
) -> SimilarityResult:
    """Pairs of ``{student: folder}`` at or above ``threshold``, most similar first, and their clusters.

    ``boilerplate_dir`` (default: the packaged ``exercises/``) holds the stub files whose code is ignored;
    ``common_share``: passages in more than this share of the class are common knowledge (1 turns it off);
    ``top``: how many of the most similar pairs get their code side by side.
    """
    import numpy as np

    start = time.perf_counter()
    if boilerplate_dir is None:
        boilerplate_dir = course.ROOT / "exercises"
    boiler = _boilerplate(Path(boilerplate_dir))
    students = sorted(folders)
    settings = {
        "threshold": threshold,
        "common_share": common_share,
        "common_min": COMMON_MIN,
        "top": top,
        "noise": NOISE,
        "guarantee": GUARANTEE,
        "min_shared": min_shared,
    }

    # every student's fingerprints, by file, without the stub's
    per_file: list[dict[str, np.ndarray]] = []
    for student in students:
        prints = {}
        for name in FILES:
            text = _read(Path(folders[student]) / name)
            if text:
                fp = file_fingerprints(text, name)
                prints[name] = fp[~np.isin(fp, boiler, assume_unique=True)] if len(boiler) else fp
        per_file.append(prints)
    own = [
        np.unique(np.concatenate(list(p.values()))) if p else np.zeros(0, dtype=np.uint64)
        for p in per_file
    ]
    owner = np.repeat(np.arange(len(students), dtype=np.int64), [len(o) for o in own])
    allprints = np.concatenate(own) if own else np.zeros(0, dtype=np.uint64)
    result = SimilarityResult([], [], settings, submissions=len(students))
    if not len(allprints):
        result.seconds = time.perf_counter() - start
        return result

    # the inverted index: how many submissions hold each fingerprint
    uniq, inverse, counts = np.unique(allprints, return_inverse=True, return_counts=True)
    limit = max(COMMON_MIN, int(common_share * len(students)))
    common = counts > limit
    result.common = int(common.sum())
    distinctive = ~common[inverse]
    size = np.bincount(
        owner[distinctive], minlength=len(students)
    )  # each student's distinctive fingerprints
    result.compared = int((size >= min_shared).sum())

    # candidate pairs: submissions that share a distinctive fingerprint, with how many they share
    shared_idx = np.flatnonzero((counts >= 2) & ~common)
    keep = np.isin(inverse, shared_idx)
    order = np.argsort(inverse[keep], kind="stable")
    groups, owners = inverse[keep][order], owner[keep][order]
    bounds = np.flatnonzero(np.diff(groups)) + 1
    n = len(students)
    codes = []
    for members in np.split(owners, bounds):
        if len(members) >= 2:
            i, j = np.triu_indices(len(members), 1)
            codes.append(members[i] * n + members[j])
    if not codes:
        result.seconds = time.perf_counter() - start
        return result
    pair_codes, shared = np.unique(np.concatenate(codes), return_counts=True)
    result.candidates = len(pair_codes)
    sel = shared >= min_shared
    pair_codes, shared = pair_codes[sel], shared[sel]
    left, right = pair_codes // n, pair_codes % n
    share_l, share_r = shared / np.maximum(size[left], 1), shared / np.maximum(size[right], 1)
    sim = np.maximum(share_l, share_r)
    sel = sim >= threshold
    common_set = uniq[common]
    pairs = []
    for a, b, s, sl, sr, k in zip(
        left[sel], right[sel], sim[sel], share_l[sel], share_r[sel], shared[sel]
    ):
        pairs.append(
            Pair(
                students[a],
                students[b],
                float(s),
                float(sl),
                float(sr),
                int(k),
                file_shares=_file_shares(per_file[a], per_file[b], common_set),
            )
        )
    pairs.sort(key=lambda p: (-p.similarity, -p.shared, p.left, p.right))
    result.pairs = pairs
    result.clusters = _clusters(pairs)
    index = {s: i for i, s in enumerate(students)}
    for pair in pairs[: max(0, top)]:
        pair.files = _side_by_side(
            Path(folders[pair.left]),
            Path(folders[pair.right]),
            per_file[index[pair.left]],
            per_file[index[pair.right]],
            common_set,
            pair.file_shares,
        )
    result.seconds = time.perf_counter() - start
    return result


def _distinctive(prints: np.ndarray, common_set: np.ndarray) -> np.ndarray:
    import numpy as np

    return prints[~np.isin(prints, common_set, assume_unique=True)] if len(common_set) else prints


def _file_shares(
    a: dict[str, np.ndarray], b: dict[str, np.ndarray], common_set: np.ndarray
) -> dict[str, float]:
    import numpy as np

    shares = {}
    for name in FILES:
        if name not in a or name not in b:
            continue
        da, db = _distinctive(a[name], common_set), _distinctive(b[name], common_set)
        both = len(np.intersect1d(da, db, assume_unique=True))
        if both:
            shares[name] = max(both / max(len(da), 1), both / max(len(db), 1))
    return dict(sorted(shares.items(), key=lambda kv: -kv[1]))


# --------------------------------------------------------------------------- side by side


def _marked_html(text: str, name: str, shared: np.ndarray) -> str:
    """``text`` HTML-escaped, with every k-gram whose fingerprint is in ``shared`` inside ``<mark>``."""
    import numpy as np

    toks = tokens(text)
    hashes = kgram_hashes(toks, _SALT[name])
    spans: list[list[int]] = []
    for i in np.flatnonzero(np.isin(hashes, shared)):
        lo, hi = toks[i][0], toks[i + NOISE - 1][1]
        if spans and lo <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], hi)
        else:
            spans.append([lo, hi])
    out, pos = [], 0
    for lo, hi in spans:
        out += [html.escape(text[pos:lo]), "<mark>", html.escape(text[lo:hi]), "</mark>"]
        pos = hi
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _side_by_side(
    left: Path,
    right: Path,
    a: dict[str, np.ndarray],
    b: dict[str, np.ndarray],
    common_set: np.ndarray,
    shares: dict[str, float],
) -> list[FileMatch]:
    import numpy as np

    files = []
    for name, share in shares.items():
        both = np.intersect1d(_distinctive(a[name], common_set), _distinctive(b[name], common_set))
        ltext, rtext = _read(left / name) or "", _read(right / name) or ""
        files.append(
            FileMatch(name, share, _marked_html(ltext, name, both), _marked_html(rtext, name, both))
        )
    return files
