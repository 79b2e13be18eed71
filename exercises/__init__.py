"""The exercises: the reference with every solution region replaced by a stub."""
