"""Where the tests find the project, and the reference cache every grading test shares (the reference's results
are built once per grader fingerprint, whichever test asks first)."""

import tempfile
from pathlib import Path

from vqa.course import ROOT

CACHE = Path(tempfile.gettempdir()) / "grader-test-cache"

__all__ = ["CACHE", "ROOT"]
