"""The lab's data from the web: a zip downloaded from a URL or Google Drive and unpacked safely as a folder."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from vqa import data as kit_data
from vqa.archive import ArchiveError, Limits, unpack_zip

# IconDomainVQAData: some 18,000 small PNGs and three JSONL files; the bounds leave room for a larger release
DATA_LIMITS = Limits(max_files=200_000, max_total_bytes=8 << 30, max_file_bytes=1 << 30)


def download(source: str, archive: Path) -> None:
    """Save ``source`` (a URL, or ``gdrive:<file id>``) as the file ``archive``; gdown only for Google Drive."""
    if source.startswith("gdrive:"):
        import gdown

        gdown.download(id=source.split(":", 1)[1], output=str(archive), quiet=False)
    else:
        import urllib.request

        urllib.request.urlretrieve(source, archive)


def fetch_data(folder: str | Path, source: str) -> Path:
    """Download the lab's data zip from ``source`` (a URL, or ``gdrive:<file id>``) and unpack it as ``folder``.

    The zip may hold the data at its top or in one sub-folder; either way ``folder/train.jsonl`` results.
    Raises :class:`~vqa.data.DataError` for an archive that is unsafe or holds no data; ImportError when a
    Google Drive source needs gdown and it is not installed.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".download-") as tmp:
        archive = Path(tmp) / "data.zip"
        download(source, archive)
        try:
            unpacked = unpack_zip(archive, Path(tmp) / "unpacked", DATA_LIMITS)
        except ArchiveError as err:
            raise kit_data.DataError(f"{source}: {err}") from None
        found = [p.parent for p in unpacked.rglob(kit_data.TRAIN_FILE)]
        if not found:
            raise kit_data.DataError(f"{source}: the archive holds no {kit_data.TRAIN_FILE}")
        shutil.move(str(min(found, key=lambda p: len(p.parts))), str(folder))
    return folder
