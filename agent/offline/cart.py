"""Adding to, changing and showing the cart.

An add names a product already shown ("the second one"), or one to look up first ("the
Alp 2 tent"), or several at once ("the spork and the pot"). An add that fails for stock
searches for in-stock alternatives before answering; a successful one mentions the
store's suggested extras once. Changing or removing a line needs it clearly named: the
engine never removes something the shopper did not point at.
"""

from __future__ import annotations

from typing import Any

from agent.offline.found import SHOWN, found_per_part, named_in_results, records_in, referenced, split_items
from agent.offline.history import Event
from agent.offline.plan import Context, Step
from agent.offline.refs import Record, by_position, pick_by_name
from agent.offline.render import join
from agent.offline.slots import extract
from agent.offline.understand import content_words


def _quantity(ctx: Context, text: str | None = None) -> int:
    slots = ctx.slots if text is None else extract(text, ctx.writer.pack)
    return slots.quantity or slots.spelled or 1


def _variant(ctx: Context, record: Record) -> Record:
    """The variant of ``record`` the shopper named by colour or size, if any."""
    s = ctx.slots
    variants = records_in(record, "variants")
    if not variants or not (s.colors or s.size):
        return record
    wanted = " ".join(s.colors + ([s.size] if s.size else []))
    named = pick_by_name(wanted, [record] + variants, s.colors)
    return named or record


def add_many(ctx: Context, parts: list[str]) -> Step:
    w = ctx.writer
    added = ctx.ran("add_to_cart")
    found = found_per_part(ctx, parts)
    if found is None:
        return Step(calls=[("search_products", {"query": p, "limit": 3}) for p in parts])
    if not added:
        calls = [
            ("add_to_cart", {"sku": record["sku"], "quantity": _quantity(ctx, part)})
            for part, record in zip(parts, found, strict=True)
            if record is not None
        ]
        if not calls:
            return Step.say(w.t("found_nothing"))
        return Step(calls=calls)
    lines: list[str] = []
    cart: dict[str, Any] = {}
    for event in added:
        lines.append(_add_line(ctx, event))
        if event.ok:
            cart = (event.result or {}).get("cart") or cart
    missing = [part for part, record in zip(parts, found, strict=True) if record is None]
    if missing:
        lines.append(w.t("not_found_items", items=", ".join(missing)))
    return Step.say(join(lines, w.cart_block(cart) if cart else [], w.t("cart_next")))


def _add_line(ctx: Context, event: Event) -> str:
    w = ctx.writer
    sku = str(event.arguments.get("sku", ""))
    title = str(ctx.conv.products().get(sku, {}).get("title", sku))
    if event.ok:
        quantity = (event.result or {}).get("added", {}).get("quantity", event.arguments.get("quantity", 1))
        return w.t("added", quantity=quantity, title=title)
    if event.error and "stock" in event.error.lower():
        return w.t("not_enough_stock" if "only" in event.error.lower() else "not_added_stock", title=title)
    return w.t("error", error=event.error)


def add(ctx: Context) -> Step:
    w = ctx.writer
    quantity = _quantity(ctx)
    added = ctx.ran("add_to_cart")
    parts = split_items(ctx)
    if parts and not (ctx.slots.ordinals or ctx.slots.codes or ctx.slots.superlative):
        return add_many(ctx, parts)
    if not added:
        searched = [e for e in ctx.ran("search_products") if not e.arguments.get("in_stock_only")]
        if searched:
            results = records_in(searched[-1].result)
            named = named_in_results(ctx, results)
            if named is not None:
                return Step.call("add_to_cart", sku=named["sku"], quantity=quantity)
            if results:
                return Step.say(join(w.t("which_of"), [w.product_line(r) for r in results]))
            return Step.say(w.t("found_nothing"))
        refs = referenced(ctx)
        if refs:
            return Step.call("add_to_cart", sku=_variant(ctx, refs[0])["sku"], quantity=quantity)
        if content_words(ctx.slots.query):
            return Step.call("search_products", query=ctx.slots.query, limit=SHOWN)
        return Step.say(w.t("which_product"))
    event = added[-1]
    sku = str(event.arguments.get("sku", ""))
    title = str(ctx.conv.products().get(sku, {}).get("title", sku))
    if event.error:
        if "stock" in event.error.lower():
            looked = [e for e in ctx.ran("search_products") if e.arguments.get("in_stock_only")]
            if not looked and ctx.can("search_products"):
                return Step.call("search_products", query=title, in_stock_only=True, limit=3)
            alternatives = [r for r in records_in(looked[-1].result) if r.get("sku") != sku] if looked else []
            alt = [w.t("alternatives")] + [w.product_line(r) for r in alternatives] if alternatives else []
            key = "not_enough_stock" if "only" in event.error.lower() else "not_added_stock"
            return Step.say(join(w.t(key, title=title), alt))
        return Step.say(w.t("error", error=event.error))
    result = event.result or {}
    cart = result.get("cart") if isinstance(result.get("cart"), dict) else {}
    line = next(
        (x for x in (cart or {}).get("lines") or [] if isinstance(x, dict) and x.get("sku") == sku), None
    )
    title = str(line.get("title")) if line else title
    quantity = int((result.get("added") or {}).get("quantity", quantity))
    suggestions = records_in(result, "suggestions")[:2]
    extra = (
        [w.t("suggestions")] + [w.product_line(r, with_stock=False) for r in suggestions]
        if suggestions
        else []
    )
    return Step.say(
        join(w.t("added", quantity=quantity, title=title), w.cart_block(cart or {}), extra, w.t("cart_next"))
    )


def _cart_lines(ctx: Context) -> list[Record]:
    cart = ctx.conv.cart() or {}
    return [x for x in cart.get("lines") or [] if isinstance(x, dict) and "sku" in x]


def _cart_target(ctx: Context, lines: list[Record], remove: bool) -> Record | None:
    s = ctx.slots
    by_sku = {x["sku"]: x for x in lines}
    for code in s.codes:
        if code in by_sku:
            return by_sku[code]
    listing = ctx.conv.listing()
    for record in by_position(s, listing):
        if record.get("sku") in by_sku:
            return by_sku[record["sku"]]
    named = pick_by_name(s.query or ctx.frame.text, lines, s.colors, ctx.similar if s.query.strip() else None)
    if named is not None:
        return named
    if not s.pronoun and _names_other_product(ctx, lines):
        return None  # the shopper named something that is not in the cart
    if remove and not s.pronoun and content_words(s.query):
        return None  # never remove a line the shopper did not clearly name
    focus = ctx.conv.focus()
    if focus is not None and focus.get("sku") in by_sku:
        return by_sku[focus["sku"]]
    return lines[0] if len(lines) == 1 else None


def _names_other_product(ctx: Context, lines: list[Record]) -> bool:
    in_cart = {x.get("sku") for x in lines}
    others = [r for s, r in ctx.conv.products().items() if s not in in_cart]
    return bool(others) and pick_by_name(ctx.slots.query, others, ctx.slots.colors) is not None


def change_cart(ctx: Context, remove: bool) -> Step:
    w = ctx.writer
    updates = ctx.ran("update_cart")
    if updates:
        failed = next((e for e in updates if e.error), None)
        if failed is not None:
            return Step.say(w.t("error", error=failed.error))
        cart = (updates[-1].result or {}).get("cart") or {}
        if remove and len(updates) > 1:
            return Step.say(join(w.t("cleared"), w.cart_block(cart)))
        if remove:
            sku = str(updates[-1].arguments.get("sku", ""))
            title = ctx.conv.products().get(sku, {}).get("title", sku)
            return Step.say(join(w.t("removed", title=title), w.cart_block(cart)))
        return Step.say(join(w.t("updated"), w.cart_block(cart)))
    if ctx.conv.cart() is None and not ctx.ran("view_cart"):
        return Step.call("view_cart")
    lines = _cart_lines(ctx)
    if not lines:
        return Step.say(w.t("cart_empty"))
    target = _cart_target(ctx, lines, remove)
    if remove and (ctx.slots.clear or ctx.slots.all_items and not ctx.slots.refers):
        return Step(calls=[("update_cart", {"sku": x["sku"], "quantity": 0}) for x in lines])
    if target is None:
        named = _names_other_product(ctx, lines) or (remove and content_words(ctx.slots.query))
        key = "not_in_cart" if named else "which_of"
        return Step.say(join(w.t(key), w.cart_block(ctx.conv.cart() or {})))
    if remove:
        return Step.call("update_cart", sku=target["sku"], quantity=0)
    quantity = ctx.slots.quantity or ctx.slots.spelled or ctx.slots.loose
    if quantity is None:
        return Step.say(w.t("how_many"))
    return Step.call("update_cart", sku=target["sku"], quantity=quantity)


def update(ctx: Context) -> Step:
    return change_cart(ctx, remove=False)


def remove(ctx: Context) -> Step:
    return change_cart(ctx, remove=True)


def view_cart(ctx: Context) -> Step:
    w = ctx.writer
    viewed = ctx.ran("view_cart")
    if not viewed:
        return Step.call("view_cart")
    if viewed[-1].error:
        return Step.say(w.t("error", error=viewed[-1].error))
    cart = (viewed[-1].result or {}).get("cart") or {}
    follow = w.t("cart_next") if cart.get("lines") else ""
    return Step.say(join(w.cart_block(cart), follow))
