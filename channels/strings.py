"""Localized labels for buttons and notices (``strings.yaml``), English when a language is missing."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

DEFAULT = "en"


@lru_cache(maxsize=1)
def _table() -> dict[str, dict[str, str]]:
    raw: Any = yaml.safe_load((resources.files("channels") / "strings.yaml").read_text(encoding="utf-8"))
    return {str(lang): {str(k): str(v) for k, v in entries.items()} for lang, entries in raw.items()}


def languages() -> list[str]:
    return list(_table())


def label(lang: str, key: str, **values: object) -> str:
    table = _table()
    entries = table.get(lang.split("-")[0].lower(), table[DEFAULT])
    template = entries.get(key) or table[DEFAULT][key]
    return template.format(**values) if values else template
