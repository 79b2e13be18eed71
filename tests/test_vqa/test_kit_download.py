"""vqa.download: the lab's data zip, fetched and unpacked safely as the data folder."""

import zipfile

import pytest

from vqa import data
from vqa.download import fetch_data


def test_fetch_data_unpacks_the_labs_zip_from_its_subfolder(tmp_path):
    source = data.generate_dataset(tmp_path / "made", n_train=4, n_test=2, seed=1)
    archive = tmp_path / "IconDomainVQAData.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in source.rglob("*"):
            handle.write(path, "IconDomainVQAData/" + str(path.relative_to(source)))
    folder = fetch_data(tmp_path / "work" / "IconDomainVQAData", archive.as_uri())
    assert len(data.read_records(folder)) == 4 and len(data.read_test_items(folder)) == 2
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["IconDomainVQAData"]


def test_fetch_data_refuses_paths_outside_its_folder(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("../outside.txt", "x")
    with pytest.raises(data.DataError, match="outside"):
        fetch_data(tmp_path / "work" / "d", archive.as_uri())
    assert not (tmp_path / "work" / "outside.txt").exists()
