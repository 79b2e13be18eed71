"""Silencing library chatter that says nothing to a learner (progress bars of tiny loads, optional kernels)."""

from __future__ import annotations

import logging
import os
import warnings


def quiet_libraries() -> None:
    """Hide transformers' info logs and load bars, bitsandbytes' optional-kernel notes, known deprecations."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*torchvision.*")
    warnings.filterwarnings("ignore", message=".*fast processor.*")
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # transformers not installed: nothing to quiet
        return
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
