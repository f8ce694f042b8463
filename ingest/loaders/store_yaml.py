"""``store.yaml``: the merchant's name, currency, languages, persona and handoff contact.

Known keys update the Merchant row; every other key is kept in ``Merchant.settings``
(shipping rates, quantity limits, ...). A bad value is reported at its line and skipped;
the other keys still apply.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import PurePath
from typing import Any

import yaml

from ingest.context import LoadContext
from ingest.loaders.orders import json_safe
from ingest.records import LoadResult, RowError, SourceFile, StoreConfig, UnreadableFile
from ingest.sanitize import clean_line, clean_text
from shop.errors import MoneyError
from shop.money import check_currency

NAMES = ("store.yaml", "store.yml")
_LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


def refuse_aliases(node: yaml.Node, name: str, seen: set[int] | None = None) -> None:
    """Aliases make YAML a graph; refusing shared nodes stops alias bombs before they expand."""
    seen = set() if seen is None else seen
    if id(node) in seen:
        raise UnreadableFile(f"{name} uses anchors/aliases (& and *): write the values out instead")
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            refuse_aliases(key, name, seen)
            refuse_aliases(value, name, seen)
    elif isinstance(node, yaml.SequenceNode):
        for child in node.value:
            refuse_aliases(child, name, seen)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return json_safe(value)


def compose(text: str, name: str) -> yaml.Node | None:
    """The YAML node tree (nothing constructed yet), or :class:`UnreadableFile` naming the line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise UnreadableFile(f"{name}:{line}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if root is not None:
        refuse_aliases(root, PurePath(name).name)
    return root


def load(text: str, source: SourceFile, ctx: LoadContext) -> LoadResult:
    root = compose(text, source.name)
    if root is None:
        raise UnreadableFile(f"{source.name} is empty: set at least name and currency")
    if not isinstance(root, yaml.MappingNode):
        raise UnreadableFile(f"{source.name}: expected keys such as 'name: My Shop' and 'currency: EUR'")
    loader = yaml.SafeLoader("")
    config = StoreConfig()
    result = LoadResult(loader="store")
    for key_node, value_node in root.value:
        line = key_node.start_mark.line + 1
        key = str(loader.construct_object(key_node, deep=True)).strip()
        value = loader.construct_object(value_node, deep=True)
        problem = _apply(config, key, value, ctx)
        if problem:
            result.errors.append(RowError(source.name, line, problem))
    result.store = config
    return result


def _apply(config: StoreConfig, key: str, value: Any, ctx: LoadContext) -> str | None:
    if key in ("name", "persona", "handoff_contact"):
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            return f"{key} must be text"
        text = clean_line(str(value)) if key == "name" else clean_text(str(value)).strip()
        limit = 200 if key == "name" else ctx.max_cell_chars
        if len(text) > limit:
            return f"{key} is {len(text):,} characters long; the limit is {limit:,}"
        setattr(config, key, text)
    elif key == "currency":
        try:
            config.currency = check_currency(str(value))
        except MoneyError:
            return f"currency {value!r} is not an ISO 4217 code: write it like EUR"
    elif key == "languages":
        items = [v.strip() for v in value.split(",")] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(
            isinstance(v, str) and _LANG.match(v.strip()) for v in items
        ):
            return "languages must be a list of language codes such as [en, lt]"
        config.languages = [v.strip() for v in items]
    else:
        config.settings[key] = _plain(value)
    return None
