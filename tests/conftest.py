"""Shared fixtures: the shipped tiny models, a test-wide cache (demo data), tiny data sets, the reference."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# The demo data are generated once and reused across runs; never touch the user's own cache from tests.
os.environ.setdefault("VQA_CACHE", str(Path(tempfile.gettempdir()) / "mllm-vqa-lab-test-cache"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_random_dir():
    from vqa.tiny import tiny_model_dir

    return tiny_model_dir("tiny-random")


@pytest.fixture(scope="session")
def tiny_pretrained_dir():
    """The demo's base, shipped with the package."""
    from vqa.tiny import tiny_model_dir

    return tiny_model_dir("tiny-pretrained")


@pytest.fixture(scope="session")
def small_data(tmp_path_factory):
    """40 training and 8 test samples in the IconDomainVQAData layout."""
    from vqa.data import generate_dataset

    return generate_dataset(
        tmp_path_factory.mktemp("data"), n_train=40, n_test=8, seed=5, style="source"
    )


@pytest.fixture(scope="session")
def reference():
    from vqa.impl import load_implementation

    return load_implementation("solutions")


@pytest.fixture()
def tiny_model(tiny_random_dir):
    from transformers import BlipForQuestionAnswering

    return BlipForQuestionAnswering.from_pretrained(tiny_random_dir)


@pytest.fixture(scope="session")
def processor(tiny_random_dir):
    from transformers import BlipProcessor

    return BlipProcessor.from_pretrained(tiny_random_dir)
