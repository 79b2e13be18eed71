"""Part 4 quiz of the MLLM lab: question bank, terminal quiz, grading and export."""

from importlib import metadata

__all__ = ["__version__"]

__version__ = metadata.version("mllm-vqa-lab")  # the one version, pyproject.toml's
