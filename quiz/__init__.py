"""Part 4 quiz of the MLLM lab: question bank, terminal quiz, grading and export."""

__all__ = ["__version__"]

__version__ = "0.1.0"
