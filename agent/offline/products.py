"""Explaining and comparing products. A sold-out product comes with in-stock alternatives."""

from __future__ import annotations

from typing import Any

from agent.offline.detect import detect_language
from agent.offline.found import SHOWN, found_per_part, named_in_results, records_in, referenced, split_items
from agent.offline.plan import Context, Step
from agent.offline.refs import Record
from agent.offline.render import join
from agent.offline.safety import safe_sentences
from agent.offline.understand import content_words

DESCRIPTION_SENTENCES = 2


def details(ctx: Context) -> Step:
    w = ctx.writer
    got = ctx.ran("get_product")
    if not got:
        searched = ctx.ran("search_products")
        if searched:
            results = records_in(searched[-1].result)
            named = named_in_results(ctx, results)
            if named is not None:
                return Step.call("get_product", sku=named["sku"])
            if results:
                return Step.say(join(w.t("which_of"), [w.product_line(r) for r in results]))
            return Step.say(w.t("found_nothing"))
        refs = referenced(ctx)
        if refs:
            return Step.call("get_product", sku=refs[0]["sku"])
        if ctx.slots.codes:
            return Step.call("get_product", sku=ctx.slots.codes[0])  # a SKU not shown yet
        if content_words(ctx.slots.query):
            return Step.call("search_products", query=ctx.slots.query, limit=SHOWN)
        return Step.say(w.t("which_product"))
    event = got[-1]
    if event.error or event.result is None:
        return Step.say(w.t("error", error=event.error))
    product = event.result
    variants = records_in(product, "variants")
    sold_out = product.get("in_stock") is False
    in_stock_variants = [v for v in variants if v.get("in_stock") is not False]
    alternatives: list[Record] = []
    if sold_out and not in_stock_variants:
        looked = [e for e in ctx.ran("search_products") if e.arguments.get("in_stock_only")]
        if not looked and ctx.can("search_products"):
            return Step.call(
                "search_products", query=str(product.get("title", "")), in_stock_only=True, limit=3
            )
        if looked:
            alternatives = [r for r in records_in(looked[-1].result) if r.get("sku") != product.get("sku")]
    return Step.say(details_text(ctx, product, variants, alternatives))


def details_text(ctx: Context, product: Record, variants: list[Record], alternatives: list[Record]) -> str:
    w = ctx.writer
    head = w.t(
        "details_title",
        title=product.get("title", ""),
        sku=product.get("sku", ""),
        price=w.money(product.get("price"), product.get("currency")),
        stock=w.stock(product),
    )
    text = str(product.get("description") or "")
    # The catalog's own words are quoted only in the shopper's language: a reply switching
    # language halfway reads as broken, and the attributes below carry the facts anyway.
    same_language = detect_language(text[:300], w.lang) == w.lang
    sayable = safe_sentences(text, price=str(product.get("price") or "")) if same_language else []
    description = " ".join(sayable[:DESCRIPTION_SENTENCES])
    attrs = w.attributes(product.get("attributes"))
    variant_lines = [w.t("details_variants")] + [w.product_line(v) for v in variants] if variants else []
    tail = ""
    alt_lines: list[str] = []
    if product.get("in_stock") is False and alternatives:
        alt_lines = [w.t("sold_out_alternatives")] + [w.product_line(r) for r in alternatives]
    elif product.get("in_stock") is not False:
        tail = w.t("details_more")
    return join(head, description, attrs, variant_lines, alt_lines, tail)


# -- compare -----------------------------------------------------------------------------
def compare(ctx: Context) -> Step:
    w = ctx.writer
    events = ctx.ran("compare_products") + ctx.ran("get_product")
    if not events:
        refs = referenced(ctx, many=True)
        parts = split_items(ctx)
        if len(refs) < 2 and parts:
            found = found_per_part(ctx, parts)
            if found is None:
                return Step(calls=[("search_products", {"query": p, "limit": 3}) for p in parts])
            refs = [r for r in found if r is not None]
        if len(refs) < 2:
            listing = ctx.conv.listing()
            refs = (refs + [r for r in listing if r not in refs])[:3] if len(listing) >= 2 else refs
        if len(refs) < 2:
            return Step.say(w.t("which_product"))
        skus = [r["sku"] for r in refs[:3]]
        if ctx.can("compare_products"):
            return Step.call("compare_products", skus=skus)
        return Step(calls=[("get_product", {"sku": sku}) for sku in skus])
    failed = next((e for e in events if e.error), None)
    if failed is not None:
        return Step.say(w.t("error", error=failed.error))
    if events[0].name == "compare_products":
        return Step.say(comparison_text(ctx, events[0].result or {}))
    return Step.say(join(w.t("compare_title"), *[details_text(ctx, e.result or {}, [], []) for e in events]))


def comparison_text(ctx: Context, table: dict[str, Any]) -> str:
    w = ctx.writer
    products = records_in(table, "products")
    lines = [w.t("compare_title"), " | ".join(str(p.get("title", "")) for p in products)]
    for row in table.get("rows") or []:
        if not isinstance(row, dict):
            continue
        name = str(row.get("attribute", ""))
        values = []
        for value in row.get("values") or []:
            if isinstance(value, bool):
                values.append(w.t("yes_value") if value else w.t("no_value"))
            elif name == "price" and isinstance(value, str) and " " in value:
                amount, _, currency = value.partition(" ")
                values.append(w.money(amount, currency))
            else:
                values.append(str(value) or "-")
        label = {"price": w.t("compare_price"), "in_stock": w.t("compare_stock")}.get(
            name, w.attribute_name(name)
        )
        lines.append(f"- {label}: " + " | ".join(values))
    return join(lines, w.t("pick_prompt"))


# -- cart ----------------------------------------------------------------------------------
