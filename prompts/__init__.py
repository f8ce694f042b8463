"""Prompts as files; :func:`load` reads one by name."""

from importlib import resources


def load(name: str) -> str:
    """Text of ``prompts/NAME`` (e.g. ``load("system.md")``)."""
    return (resources.files(__name__) / name).read_text(encoding="utf-8")
