"""Product records out of tool results, and which of them the shopper means."""

from __future__ import annotations

import re
from typing import Any

from agent.offline.plan import Context
from agent.offline.refs import Record, pick_by_name, resolve
from agent.offline.text import Folded
from agent.offline.understand import content_words

SHOWN = 5
"""Products listed per search."""


def records_in(result: dict[str, Any] | None, key: str = "results") -> list[Record]:
    value = (result or {}).get(key)
    return [r for r in value if isinstance(r, dict) and "sku" in r] if isinstance(value, list) else []


def referenced(ctx: Context, many: bool = False) -> list[Record]:
    conv = ctx.conv
    return resolve(
        ctx.frame.text,
        ctx.slots,
        conv.listing(),
        conv.products(),
        conv.focus(),
        many=many,
        similar=ctx.similar,
    )


def named_in_results(ctx: Context, results: list[Record]) -> Record | None:
    if len(results) == 1:
        return results[0]
    return pick_by_name(ctx.slots.query or ctx.frame.text, results, ctx.slots.colors, ctx.similar)


def split_items(ctx: Context) -> list[str]:
    """Several products named in one request ("the spork and the pot"), else an empty list."""
    return named_parts(ctx.slots.query, ctx.writer.pack.conjunctions)


def named_parts(text: str, conjunctions: re.Pattern[str]) -> list[str]:
    """``text`` cut at the language's conjunctions into the parts that hold content words,
    when there are two or more of them; else an empty list."""
    folded = Folded.of(text)
    parts: list[str] = []
    pos = 0
    for match in conjunctions.finditer(folded.text):
        start, end = folded.original_span(match.start(), match.end())
        parts.append(text[pos:start])
        pos = end
    parts.append(text[pos:])
    named = [p.strip(" ,.;:") for p in parts if content_words(p)]
    return named if len(named) >= 2 else []


def found_per_part(ctx: Context, parts: list[str]) -> list[Record | None] | None:
    """The product each part names, from this turn's searches (None before searching)."""
    searches = [e for e in ctx.ran("search_products") if not e.arguments.get("in_stock_only")]
    if len(searches) < len(parts):
        return None
    found: list[Record | None] = []
    for part, event in zip(parts, searches[-len(parts) :], strict=True):
        results = records_in(event.result)
        found.append(results[0] if len(results) == 1 else pick_by_name(part, results, None, ctx.similar))
    return found
