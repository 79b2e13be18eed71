"""Probes: run in the worker's children (imported once by the zygote's preload, and used alike to build
the reference): code that runs an implementation on a fixture and returns the result the contract
(``grader.worker.contract``) declares for it. ``registry`` holds the probes (and imports none of them),
``context`` what a probe sees, ``errors`` the learner's errors described, ``plain`` the learner's values as
JSON and tensors as safetensors, ``common`` the shared fixtures, ``spies`` what the learner's training does,
``devices`` CUDA and the weights a call changed, ``serve`` the request loop and the preload that imports every
probe module.
May import torch, transformers, peft, ``vqa`` and ``grader.worker`` (contract, protocol, guard, fixtures);
never the judge."""
