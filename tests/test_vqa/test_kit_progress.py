"""Progress bars only where a person watches: a terminal or a notebook, never a pipe or a file."""

import io
import sys

from vqa import progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_terminal_is_watched_a_pipe_is_not(monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert progress.watched()
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not progress.watched()


def test_tqdm_disable_wins_over_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stderr", Terminal())
    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert not progress.watched()


def test_an_unwatched_bar_writes_nothing(monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    assert list(progress.bar(range(50), desc="answering")) == list(range(50))
    assert log.getvalue() == ""


def test_a_watched_bar_draws(monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    list(progress.bar(range(5), desc="answering", file=screen))
    assert "answering" in screen.getvalue()


def test_unwatched_runs_silence_every_later_tqdm(monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    progress.quiet_unwatched_bars()
    import os

    assert os.environ["TQDM_DISABLE"] == "1"
