"""The limits a submission runs under, in one place; every command's defaults come from here."""

CALL_TIMEOUT = 60.0  # seconds per probe call; the tiny fixtures need about one
MIN_CALL_TIMEOUT = 0.1  # the least --timeout any command accepts
MEMORY_MB = 2048  # address space a worker child may add on top of the imported libraries
MIN_MEMORY_MB = 64
SUBMISSION_TIMEOUT = 900.0  # a whole submission in a batch
START_TIMEOUT = 900.0  # a batch slot's start-up (the first one may compute the reference)
