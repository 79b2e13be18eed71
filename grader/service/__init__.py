"""The warm grading service: the grader that ``check()`` in a kernel and ``grade`` in a shell keep between
checks, so that a repeated check pays for the learner's code only, not for starting the grader again.

==============  ==============================================  ==============================================
module          process it runs in                              may import
==============  ==============================================  ==============================================
``protocol``    both sides: the typed request and reply (JSON)  the standard library, the worker's framing
``owner``       both sides: whose service, the private folder   the standard library
``client``      the learner's kernel (``check()``) and          ``protocol``, ``owner``, the judge's
                ``grade``: find or start the service, ask it    fingerprint (``grader.judge.reference``);
                                                                no torch, never the judge's grading
``server``      the service (``python -m grader.service         the judge (``grader.judge.grade``, ``grader.cli``
                .server``), a judge process per owner           for ``grade PATH``'s checks); no torch: its
                                                                worker zygote holds torch
==============  ==============================================  ==============================================

Each check still runs the learner's code in a fresh sandboxed child of the zygote, with the time and memory
limits, exactly as a cold ``grade`` does; a crash, a hang or ``os._exit`` there costs that check only. The
service ends with its owner (a kernel's process; a terminal session's leader), after an idle time, or when a
client finds it stale (another grader, other settings); a client that finds no service answering grades
without one.
"""
