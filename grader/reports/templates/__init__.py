"""Jinja2 templates of the class report and the feedback pages (package data)."""
