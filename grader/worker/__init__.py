"""The worker boundary: everything between the judge and the process that runs student code. ``handle``
(the judge's handle on the zygote and its children) runs in the judge; ``zygote`` is ``python -m
grader.worker.zygote``: it preloads torch and the probes once and forks one child per submission, each under
the ``limits`` (time, memory, files), the ``sandbox`` (bubblewrap when installed) and the import ``guard``;
``protocol`` (JSON headers plus safetensors blobs, never pickle) is spoken on both sides, and ``contract``
(what each probe returns, typed, and the one converter to and from its JSON) is imported by both. Nothing here
imports the judge, nor torch at module level: the zygote reaches torch only through ``grader.probes.serve``,
imported inside its functions."""
