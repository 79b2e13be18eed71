"""The reference implementation of the lab: the single source of truth for exercises/ and the grader."""
