"""Probes: run in the worker's children (imported once by the zygote's preload, and used alike to build
the reference): code that runs an implementation on a fixture and returns plain data. ``registry`` holds
the probes (and imports none of them), ``context`` what a probe sees, ``errors`` and ``plain`` the data
sent back, ``serve`` the request loop and the preload that imports every probe module. May import torch,
transformers, peft, ``vqa`` and ``grader.worker`` (protocol, guard); never the judge."""
