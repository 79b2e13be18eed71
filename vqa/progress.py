"""Progress bars only where a person watches them: a terminal or a notebook, never a pipe or a log file.

tqdm redraws a bar with carriage returns; written to a file or a pipe, every redraw becomes a line of log.
``bar`` is the one way the kit shows a bar. ``quiet_unwatched_bars`` also reaches the bars of code the kit
runs but does not own (a learner's ``tqdm(loader)``): tqdm reads ``TQDM_DISABLE`` when it is first imported,
so it must run before that, as the ``vqa`` command does at start-up.
"""

from __future__ import annotations

import os
import sys


def in_notebook() -> bool:
    """Whether this runs in a Jupyter/Colab kernel (where tqdm.auto draws a widget, not text)."""
    ipython = sys.modules.get("IPython")
    shell = (
        ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    )
    return shell is not None and hasattr(shell, "kernel")


def watched() -> bool:
    """Whether a person sees the bars: stderr is a terminal, or a notebook; and TQDM_DISABLE is not set."""
    if os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false"):
        return False
    if in_notebook():
        return True
    stream = sys.stderr
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False


def bar(iterable=None, **kwargs):
    """``tqdm.auto.tqdm(iterable, **kwargs)``, disabled when nobody watches (or when ``disable=True``)."""
    from tqdm.auto import tqdm

    kwargs["disable"] = bool(kwargs.get("disable")) or not watched()
    return tqdm(iterable, **kwargs)


def quiet_unwatched_bars() -> None:
    """When nobody watches, set TQDM_DISABLE=1 so that every tqdm bar in this process (and its children)
    stays silent. Effective only before tqdm is first imported."""
    if not watched():
        os.environ["TQDM_DISABLE"] = "1"
