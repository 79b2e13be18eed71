"""Probes: code that runs an implementation on a fixture inside the worker and returns plain data."""
