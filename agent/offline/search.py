"""Finding products: searches from needs and constraints, and lists of what was found.

Behaviour worth knowing:

- A vague need ("I need shoes": no budget, size or colour, one or two words) still gets
  results, followed by one clarifying question: about size when the results come in
  sizes, otherwise about budget. Showing something at once and asking once is what a
  good salesperson does; asking before showing anything stalls the conversation.
- A short follow-up ("cheaper?", "in green?", "under 100?") refines the last search.
- When nothing fits every constraint, the search is repeated without price and brand
  filters and the closest items are shown, labelled as such.
- A requested size is checked against the product's variants: sold out, available, or
  not made in that size.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from agent.offline.found import SHOWN, records_in
from agent.offline.plan import Context, Step
from agent.offline.refs import Record, price
from agent.offline.render import join
from agent.offline.text import fold
from agent.offline.understand import content_words


def _brand(ctx: Context) -> str | None:
    folded = f" {fold(ctx.frame.text)} "
    for record in ctx.conv.products().values():
        brand = str(record.get("brand") or "")
        if brand and f" {fold(brand)} " in folded:
            return brand
    return None


# -- search ------------------------------------------------------------------------------
def search_arguments(ctx: Context) -> tuple[dict[str, Any], bool]:
    """Arguments for search_products and whether they refine the previous search."""
    s = ctx.slots
    query = s.query.strip()
    previous = ctx.conv.last_event("search_products", include_current=False)
    refine = previous is not None and (
        content_words(query) - len(s.colors) <= 0 or (s.cheaper and content_words(query) <= 2)
    )
    args: dict[str, Any] = dict(previous.arguments) if refine and previous else {}
    if refine:
        base = str(args.get("query", ""))
        query = f"{base} {query}".strip() if query and fold(query) not in fold(base) else base
    query = query or ctx.frame.text.strip()
    if s.size and s.size.lower() not in {t.lower() for t in query.split()}:
        query = f"{query} {s.size}"
    args["query"] = query
    args["limit"] = SHOWN
    if s.max_price is not None:
        args["max_price"] = str(s.max_price)
    if s.min_price is not None:
        args["min_price"] = str(s.min_price)
    if s.cheaper and s.max_price is None:
        shown = ctx.conv.listing()
        if shown:
            args["max_price"] = str(min(price(r) for r in shown) - Decimal("0.01"))
    brand = _brand(ctx)
    if brand:
        args["brand"] = brand
    if s.in_stock:
        args["in_stock_only"] = True
    return args, refine


def _vague(ctx: Context, refine: bool) -> bool:
    s = ctx.slots
    constrained = s.has_price or s.size or s.colors or s.in_stock or s.cheaper or _brand(ctx)
    return not refine and not constrained and content_words(s.query) <= 2


def _clarify(ctx: Context, results: list[Record]) -> str:
    sized = any(isinstance(r.get("attributes"), dict) and "size" in r["attributes"] for r in results)
    return ctx.writer.t("clarify_size" if sized else "clarify_budget")


def search(ctx: Context) -> Step:
    w = ctx.writer
    runs = ctx.ran("search_products")
    if not runs:
        args, _ = search_arguments(ctx)
        return Step.call("search_products", **args)
    first, last = runs[0], runs[-1]
    if last.error:
        return Step.say(w.t("error", error=last.error))
    results = records_in(last.result)
    filtered = any(k in first.arguments for k in ("max_price", "min_price", "brand", "in_stock_only"))
    if not results and filtered and len(runs) == 1:
        return Step.call("search_products", query=first.arguments.get("query", ""), limit=SHOWN)
    if not results:
        return Step.say(w.t("found_nothing_budget" if filtered else "found_nothing"))
    size = ctx.slots.size
    if size and len(runs) == 1:
        sized = _size_step(ctx, results, size)
        if sized is not None:
            return sized
    header = w.t("found_relaxed") if len(runs) > 1 else w.t("found")
    _, refine = search_arguments(ctx)
    follow = _clarify(ctx, results) if _vague(ctx, refine) and len(runs) == 1 else w.t("pick_prompt")
    return Step.say(join(header, listing_block(ctx, last.result), follow))


def _size_of(record: Record) -> str:
    attrs = record.get("attributes")
    value = attrs.get("size", "") if isinstance(attrs, dict) else ""
    if not value:
        match = re.search(r"\(([^()]*)\)\s*$", str(record.get("title", "")))
        value = match.group(1) if match else ""
    return str(value)


def _fits(record: Record, size: str) -> bool:
    return bool(re.search(rf"(?<![\w.]){re.escape(size)}(?![\w.])", _size_of(record), re.IGNORECASE))


def _size_step(ctx: Context, results: list[Record], size: str) -> Step | None:
    """A size was asked for: say whether the product comes in it, looking at its variants."""
    w = ctx.writer
    details = ctx.ran("get_product")
    if not details:
        if any(_fits(r, size) for r in results) or not any(_size_of(r) for r in results[:1]):
            return None
        return Step.call("get_product", sku=results[0]["sku"])
    product = details[-1].result or {}
    family = [product] + records_in(product, "variants")
    match = next((r for r in family if _fits(r, size)), None)
    stem = str(product.get("title", "")).split("(")[0].strip()
    in_stock = [r for r in family if r.get("in_stock") is not False]
    others = [w.t("sizes_in_stock")] + [w.product_line(r) for r in in_stock] if in_stock else []
    if match is None:
        return Step.say(join(w.t("size_missing", title=stem, size=size), others))
    if match.get("in_stock") is False:
        rest = [r for r in in_stock if r.get("sku") != match.get("sku")]
        lines = [w.t("sizes_in_stock")] + [w.product_line(r) for r in rest] if rest else []
        return Step.say(join(w.t("size_sold_out", title=stem, size=size), lines))
    price = w.money(match.get("price"), match.get("currency"))
    return Step.say(join(w.t("size_available", title=stem, size=size, price=price), w.t("details_more")))


def listing_block(ctx: Context, result: dict[str, Any] | None) -> list[str]:
    """Search results as lines; a sold-out best match is followed by its alternatives."""
    w = ctx.writer
    results = records_in(result)[:SHOWN]
    lines = [w.product_line(r) for r in results]
    alternatives = records_in(result, "alternatives")
    if results and alternatives and results[0].get("in_stock") is False:
        lines += ["", w.t("best_sold_out", title=results[0].get("title", "")), w.t("alternatives")]
        lines += [w.product_line(r) for r in alternatives]
    return lines


# -- details -----------------------------------------------------------------------------
