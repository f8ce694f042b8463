"""Which product the shopper means: "the second one", "the cheapest", "the Alp 3", a SKU, "it".

Candidates are products the conversation has already shown. Names are matched by the
words a title shares with the message, each word weighted by how rare it is among the
candidates, so "the orange one" picks the one orange tent and "tent" alone picks nothing
when every candidate is a tent.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from agent.offline.slots import Slots
from agent.offline.text import fold
from shop.embedders import Embedder

_TOKEN = re.compile(r"[a-z0-9]+|[\u0600-\u06ff]+|[\u3400-\u9fff]")
MIN_NAME_SCORE = 1.0
MIN_SIMILARITY = 0.15
MIN_MARGIN = 0.1
"""A meaning match (another language: "الصفارة" for "Safety Whistle") must be this close and this clear."""

Record = dict[str, Any]


def tokens(text: str) -> set[str]:
    return {t for t in _TOKEN.findall(fold(text)) if len(t) > 1 or t.isdigit() or "\u3400" <= t <= "\u9fff"}


def price(record: Record) -> Decimal:
    try:
        return Decimal(str(record.get("price")))
    except (InvalidOperation, ValueError):
        return Decimal("Infinity")


def _name_text(record: Record) -> str:
    attrs = record.get("attributes")
    extra = " ".join(str(v) for v in attrs.values()) if isinstance(attrs, dict) else ""
    return f"{record.get('title', '')} {record.get('sku', '')} {extra}"


def by_name(
    text: str, candidates: list[Record], colors: list[str] | None = None
) -> list[tuple[float, Record]]:
    """Candidates scored by the rare title words they share with ``text`` (best first)."""
    if not candidates:
        return []
    wanted = tokens(text) | {c for c in colors or []}
    names = [tokens(_name_text(c)) for c in candidates]
    df: dict[str, int] = {}
    for name in names:
        for token in name:
            df[token] = df.get(token, 0) + 1
    total = len(candidates)
    scored = []
    for record, name in zip(candidates, names, strict=True):
        shared = wanted & name
        score = sum(math.log(1 + total / df[t]) + (0.5 if t.isdigit() else 0.0) for t in shared)
        scored.append((score, record))
    scored.sort(key=lambda pair: -pair[0])
    return scored


Similarity = Callable[[str, list[str]], list[float]]


def similarity(embedder: Embedder) -> Similarity:
    """Meaning similarity of a text to candidate texts by ``embedder`` (cosine of unit vectors)."""

    def similar(text: str, candidates: list[str]) -> list[float]:
        vectors = np.asarray(embedder.embed_documents([text, *candidates]), dtype=np.float32)
        return [float(v) for v in vectors[1:] @ vectors[0]]

    return similar


def titled(text: str, candidates: list[Record]) -> Record | None:
    """The candidate whose whole title ``text`` contains, the longest one ("the Mini Canister
    Stove" is that stove, not the "Mini Canister Stove Piezo")."""
    said = " ".join(fold(text).split())
    named = [r for r in candidates if " ".join(fold(str(r.get("title", ""))).split()) in said]
    return max(named, key=lambda r: len(str(r.get("title", "")))) if named else None


def pick_by_meaning(text: str, candidates: list[Record], similar: Similarity) -> Record | None:
    """The candidate whose title the message means, by embedding similarity; None unless clear."""
    if not text.strip() or not candidates:
        return None
    sims = similar(text, [str(c.get("title", "")) for c in candidates])
    ranked = sorted(zip(sims, range(len(candidates)), strict=True), reverse=True)
    best, index = ranked[0]
    runner = ranked[1][0] if len(ranked) > 1 else 0.0
    if best >= MIN_SIMILARITY and best - runner >= MIN_MARGIN:
        return candidates[index]
    return None


def pick_by_name(
    text: str, candidates: list[Record], colors: list[str] | None = None, similar: Similarity | None = None
) -> Record | None:
    """The one candidate the message names, or None when none or several fit equally.
    Words shared with titles decide; with ``similar``, meaning decides when no word is shared."""
    scored = by_name(text, candidates, colors)
    if not scored or scored[0][0] < MIN_NAME_SCORE:
        if similar is not None and (not scored or scored[0][0] == 0):
            return pick_by_meaning(text, candidates, similar)
        return None
    best, runner = scored[0][0], scored[1][0] if len(scored) > 1 else 0.0
    if best - runner < 1e-9:
        tied = [r for s, r in scored if abs(s - best) < 1e-9]
        in_stock = [r for r in tied if r.get("in_stock") is not False]
        return (in_stock or tied)[0] if _same_family(tied) else None
    return scored[0][1]


def _same_family(records: list[Record]) -> bool:
    """Variants of one product (same title before the bracketed colour or size)."""
    stems = {str(r.get("title", "")).split("(")[0].strip().lower() for r in records}
    return len(stems) == 1


def by_position(slots: Slots, listing: list[Record]) -> list[Record]:
    picked: list[Record] = []
    for ordinal in slots.ordinals:
        index = ordinal - 1 if ordinal > 0 else len(listing) + ordinal
        if 0 <= index < len(listing) and listing[index] not in picked:
            picked.append(listing[index])
    if slots.superlative and listing:
        chooser = min if slots.superlative == "cheapest" else max
        pick = chooser(listing, key=price)
        if pick not in picked:
            picked.append(pick)
    return picked


def resolve(
    text: str,
    slots: Slots,
    listing: list[Record],
    known: dict[str, Record],
    focus: Record | None,
    many: bool = False,
    similar: Similarity | None = None,
) -> list[Record]:
    """The products a message refers to, most explicit evidence first.

    SKUs, then positions in the last list, then names among everything shown, then "it"
    (the product in focus). ``many`` allows several (for a comparison).
    """
    found: list[Record] = []
    for code in slots.codes:
        record = known.get(code) or next((r for s, r in known.items() if s.upper() == code), None)
        if record is not None and record not in found:
            found.append(record)
    for record in by_position(slots, listing):
        if record not in found:
            found.append(record)
    if found and not many:
        return found[:1]
    if many and len(found) < 2:
        scored = [
            r
            for s, r in by_name(slots.query or text, list(known.values()), slots.colors)
            if s >= MIN_NAME_SCORE
        ]
        for record in scored:
            if record not in found:
                found.append(record)
        return found[:3]
    if not found:
        pool = listing + [r for s, r in known.items() if r not in listing]
        named = pick_by_name(
            slots.query or text, pool, slots.colors, similar if slots.query.strip() else None
        )
        if named is not None:
            return [named]
    if not found and focus is not None and (slots.pronoun or not slots.query.strip()):
        return [focus]
    return found
