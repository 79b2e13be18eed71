"""Jinja2 templates of the autograder bundles (package data)."""
