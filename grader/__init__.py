"""Autograder for the VQA lab.

The judge (this package, imported without torch) runs checks as pytest tests on
plain data that probes produced inside a separate worker process.
"""

__version__ = "0.1.0"
