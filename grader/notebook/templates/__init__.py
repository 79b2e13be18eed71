"""Jinja2 templates of check()'s inline result (package data)."""
