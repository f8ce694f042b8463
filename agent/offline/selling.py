"""Selling: promotions, coupon codes, discount offers, recommendations and the wishlist.

- "Any discounts?" lists the store's promotions (``find_promotions``); a product already on
  the table narrows them to that product.
- A message with a code ("my code is WELCOME10") applies it; the engine never makes up a
  code, and the reply quotes what the store computed.
- "Could you do a better price on the Alp 2?" asks the store how far it may go for that
  product and offers that much (or what the shopper asked, when less); the store enforces
  the limit whatever the engine asks.
- "What goes with the Alp 2?" shows what was bought together, what goes with it and
  similar items.
- The wishlist: save, show (with its share link), remove, move to the cart.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from agent.offline.detect import detect_language
from agent.offline.found import SHOWN, named_in_results, records_in, referenced
from agent.offline.history import WISHLIST_TOOLS
from agent.offline.languages import LanguagePack
from agent.offline.plan import Context, Step
from agent.offline.refs import Record, pick_by_name, titled
from agent.offline.render import Writer, join
from agent.offline.slots import EMAIL
from agent.offline.text import fold
from agent.offline.understand import content_words

_CODE = re.compile(r"(?<![A-Za-z0-9_@.-])([A-Za-z0-9][A-Za-z0-9_-]{2,39})(?![A-Za-z0-9_@-])")
_ORDER_ID = re.compile(r"^[A-Z]{1,3}-?\d{3,}$")
_PERCENT = re.compile(r"(\d{1,3})(?:[.,]\d+)?\s*[%٪]|[%٪]\s*(\d{1,3})")


def _said(ctx: Context, phrase: str, text: str | None = None) -> bool:
    folded = fold(ctx.frame.text if text is None else text)
    return any(p.search(folded) for p in ctx.writer.pack.phrases.get(phrase, ()))


def coupon_code(ctx: Context) -> str:
    """The code the shopper gave: letters with digits, or a capitalised word ("WELCOME10",
    "welcome10", "SUMMER"), the first one after a code word ("code", "kodas", "كود", "优惠码")
    if any; never a SKU, an order id, an email or the code word itself."""
    return code_in(ctx.frame.text, ctx.writer.pack, set(ctx.conv.products()))


def code_in(message: str, pack: LanguagePack, skus: set[str]) -> str:
    """:func:`coupon_code` of ``message`` written in ``pack``'s language, ``skus`` being the
    product ids the conversation has shown ('' when there is none)."""
    text = EMAIL.sub(" ", message)
    known = {s.upper() for s in skus}
    cues = pack.phrases.get("code_word", ())
    folded = fold(text)
    cue_ends = [m.end() for p in cues for m in p.finditer(folded)]
    found: list[tuple[bool, str]] = []
    for match in _CODE.finditer(text):
        token = match.group(1)
        letters, digits = any(c.isalpha() for c in token), any(c.isdigit() for c in token)
        if not letters or token.upper() in known or _ORDER_ID.match(token.upper()):
            continue
        if any(p.fullmatch(fold(token)) for p in cues) or not (
            digits or (token.isupper() and len(token) >= 4)
        ):
            continue
        found.append((any(match.start() >= end for end in cue_ends), token))
    after_cue = [token for cued, token in found if cued]
    return (after_cue or [token for _, token in found] or [""])[0]


def _percent(ctx: Context) -> int | None:
    return percent_in(ctx.frame.text, ctx.writer.pack)


def percent_in(text: str, pack: LanguagePack) -> int | None:
    """A percentage the shopper asked for ("10%", "%10", "10 percent")."""
    folded = fold(text)
    for pattern in pack.phrases.get("percent", ()):
        match = pattern.search(folded)
        if match and match.groups():
            return int(next(g for g in match.groups() if g))
    match = _PERCENT.search(folded)
    return int(next(g for g in match.groups() if g)) if match else None


def _product(ctx: Context, search: bool = True) -> Record | Step | None:
    """The product the shopper means: already shown, or found by a search (when ``search``)."""
    searched = [e for e in ctx.ran("search_products") if not e.arguments.get("in_stock_only")]
    if searched:
        results = records_in(searched[-1].result)
        named = titled(ctx.frame.text, results) or named_in_results(ctx, results)
        if named is not None:
            return named
        if results:
            return Step.say(join(ctx.writer.t("which_of"), [ctx.writer.product_line(r) for r in results]))
        return Step.say(ctx.writer.t("found_nothing"))
    refs = referenced(ctx) if ctx.slots.refers or content_words(ctx.slots.query) or search else []
    if refs:
        return refs[0]
    if search and ctx.slots.codes:
        return {"sku": ctx.slots.codes[0]}
    if search and content_words(ctx.slots.query):
        return Step.call("search_products", query=ctx.slots.query, limit=SHOWN)
    return None


def _title(ctx: Context, sku: str) -> str:
    return str(ctx.conv.products().get(sku, {}).get("title", sku))


def _money(w: Writer, result: dict[str, Any], key: str) -> str:
    return w.money(result.get(key), result.get("currency"))


# -- promotions and coupons ------------------------------------------------------------------
def _promotion_line(w: Writer, promo: dict[str, Any], currency: Any) -> str:
    label = str(promo.get("label") or "")
    if label and detect_language(label, w.lang) == w.lang:
        line = label
    else:
        if promo.get("kind") == "percent":
            discount = w.t("promo_percent", value=promo.get("value"))
        else:
            discount = w.t("promo_fixed", amount=w.money(promo.get("value"), currency))
        names = [str(p.get("title")) for p in promo.get("products") or [] if isinstance(p, dict)]
        names += [str(c) for c in promo.get("categories") or []]
        targets = w.t("promo_targets", targets=", ".join(names)) if names else ""
        line = w.t("promo_line", discount=discount, targets=targets)
    if promo.get("min_spend"):
        line += " " + w.t("promo_min", amount=w.money(promo.get("min_spend"), currency))
    if promo.get("code"):
        line += " " + w.t("promo_code", code=promo.get("code"))
    return "- " + line


def promotions(ctx: Context) -> Step:
    w = ctx.writer
    found = ctx.ran("find_promotions")
    if not found:
        if coupon_code(ctx) and not ctx.ran("apply_coupon"):
            return coupon(ctx)
        target = _product(ctx, search=False)
        sku = target.get("sku") if isinstance(target, dict) else None
        return Step.call("find_promotions", sku=sku)
    event = found[-1]
    if event.error or event.result is None:
        return Step.say(w.t("error", error=event.error))
    return Step.say(promotions_text(w, event.result))


def promotions_text(w: Writer, result: dict[str, Any]) -> str:
    """find_promotions' result, as said to the shopper."""
    listed = [p for p in result.get("promotions") or [] if isinstance(p, dict)]
    product = result.get("product") if isinstance(result.get("product"), dict) else None
    if not listed:
        key = "promotions_none_product" if product else "promotions_none"
        return w.t(key, title=(product or {}).get("title", ""))
    head = w.t("promotions_product", title=product.get("title", "")) if product else w.t("promotions_header")
    lines = [_promotion_line(w, p, result.get("currency")) for p in listed]
    saving = result.get("cart_discount_now")
    tail = w.t("promotions_cart", amount=_money(w, result, "cart_discount_now")) if _positive(saving) else ""
    return join(head, lines, tail)


def _positive(value: Any) -> bool:
    try:
        return Decimal(str(value)) > 0
    except (InvalidOperation, ValueError):
        return False


def coupon(ctx: Context) -> Step:
    w = ctx.writer
    applied = ctx.ran("apply_coupon")
    if not applied:
        code = coupon_code(ctx)
        if code:
            return Step.call("apply_coupon", code=code)
        if "?" in ctx.frame.text or "？" in ctx.frame.text or "؟" in ctx.frame.text:
            return promotions(ctx)  # "do you have any coupon codes?"
        return Step.say(w.t("coupon_ask"))
    event = applied[-1]
    code = str(event.arguments.get("code", "")).upper()
    if event.error or event.result is None:
        return Step.say(coupon_refused(w, code, event.error or ""))
    return Step.say(coupon_text(w, code, event.result))


def coupon_refused(w: Writer, code: str, error: str) -> str:
    """Why apply_coupon refused ``code``, as said to the shopper."""
    return w.t("coupon_used" if "already used" in error else "coupon_invalid", code=code)


def coupon_text(w: Writer, code: str, result: dict[str, Any]) -> str:
    """apply_coupon's result, as said to the shopper: the promotion and what it saves now."""
    described = result.get("applied")
    promo: dict[str, Any] = described if isinstance(described, dict) else {}
    line = _promotion_line(w, {**promo, "code": None}, result.get("currency")).removeprefix("- ")
    head = w.t("coupon_applied", code=code, promotion=line)
    return join(head, coupon_saving(w, result) or w.t("coupon_later"))


def coupon_saving(w: Writer, result: dict[str, Any]) -> str:
    """What an applied coupon takes off the cart now ('' when nothing yet)."""
    if not _positive(result.get("cart_discount_now")):
        return ""
    return w.t("coupon_saving", amount=_money(w, result, "cart_discount_now"))


# -- offers ----------------------------------------------------------------------------------
def offer(ctx: Context) -> Step:
    w = ctx.writer
    made = ctx.ran("make_offer")
    looked = ctx.ran("find_promotions")
    if made and made[-1].ok:
        return _offer_made(ctx, made[-1])
    target: Record | Step | None
    if made:
        target = {"sku": made[-1].arguments.get("sku", "")}
    else:
        target = _product(ctx)
    if isinstance(target, Step):
        return target
    if not target:
        return Step.say(w.t("which_product"))
    sku = str(target["sku"])
    asked = _percent(ctx)
    reason = ctx.frame.text[:200]
    if asked and not made:
        return Step.call("make_offer", sku=sku, percent=asked, reason=reason)
    if not looked:
        return Step.call("find_promotions", sku=sku)
    result = looked[-1].result or {}
    limit = _whole(result.get("may_offer_up_to_percent"))
    tried = {int(e.arguments.get("percent", 0)) for e in made}
    if limit > 0 and limit not in tried:
        return Step.call("make_offer", sku=sku, percent=limit, reason=reason)
    title = str((result.get("product") or {}).get("title") or _title(ctx, sku))
    return Step.say(w.t("offer_none", title=title))


def _whole(value: Any) -> int:
    try:
        return int(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return 0


def _offer_made(ctx: Context, event: Any) -> Step:
    return Step.say(offer_text(ctx.writer, event.result or {}, _percent(ctx)))


def offer_text(w: Writer, result: dict[str, Any], asked: int | None) -> str:
    """make_offer's result, as said to the shopper (``asked``: the percent they asked for)."""
    details = result.get("offer") or {}
    values = {
        "percent": details.get("percent", ""),
        "title": details.get("title", ""),
        "price": _money(w, result, "price_with_offer"),
        "old": _money(w, result, "price"),
    }
    key = "offer_lower" if asked and asked > _whole(details.get("percent")) else "offer_made"
    return join(w.t(key, asked=asked, **values), w.t("offer_next"))


# -- recommendations ---------------------------------------------------------------------------
def recommend(ctx: Context) -> Step:
    w = ctx.writer
    done = ctx.ran("recommend")
    if not done:
        target = _product(ctx)
        if isinstance(target, Step):
            return target
        if target:
            return Step.call("recommend", sku=target["sku"])
        if (ctx.conv.cart() or {}).get("lines"):
            return Step.call("recommend")
        return Step.say(w.t("which_product"))
    event = done[-1]
    if event.error or event.result is None:
        return Step.say(
            w.t("which_product")
            if "nothing to recommend" in (event.error or "")
            else w.t("error", error=event.error)
        )
    return Step.say(recommend_text(w, event.result))


def recommend_text(w: Writer, result: dict[str, Any]) -> str:
    """recommend's result, as said to the shopper."""
    sections = []
    for key in ("bought_together", "goes_with", "similar"):
        records = records_in(result, key)
        if records:
            sections.append(
                [w.t(f"recommend_{key}")] + [w.product_line(r, with_stock=False) for r in records]
            )
    if not sections:
        return w.t("recommend_none")
    head = w.t("recommend_for", title=(result.get("for") or {}).get("title", ""))
    return join(head, *sections, w.t("pick_prompt"))


# -- wishlist --------------------------------------------------------------------------------
def _wishlist_action(ctx: Context) -> str:
    for action in ("remove", "move", "view"):
        if _said(ctx, f"wishlist_{action}"):
            return action
    target = _product(ctx, search=False)
    return "save" if target or content_words(ctx.slots.query) else "view"


def _on_wishlist(ctx: Context) -> list[Record]:
    for event in reversed(ctx.conv.events()):
        if event.ok and event.name in WISHLIST_TOOLS:
            return records_in(event.result, "wishlist")
    return []


def wishlist(ctx: Context) -> Step:
    w = ctx.writer
    done = [e for e in ctx.step if e.name in WISHLIST_TOOLS]
    if done and (done[-1].name != "view_wishlist" or len(done) > 1):
        return _wishlist_reply(ctx, done[-1])  # a change was made (or the list was read twice)
    action = _wishlist_action(ctx)
    if action == "view":
        return _wishlist_reply(ctx, done[-1]) if done else Step.call("view_wishlist")
    if action == "save":
        target = _product(ctx)
        if isinstance(target, Step):
            return target
        if not target:
            return Step.say(w.t("which_product"))
        return Step.call("save_to_wishlist", sku=target["sku"])
    items = _on_wishlist(ctx)
    if not items and not done:
        return Step.call("view_wishlist")  # see what is on it before removing or moving
    if not items:
        return Step.say(w.t("wishlist_empty"))
    named = (
        pick_by_name(ctx.slots.query, items, ctx.slots.colors, ctx.similar)
        if ctx.slots.query.strip()
        else None
    )
    chosen = named or (items[0] if len(items) == 1 else None)
    if chosen is None:
        return Step.say(join(w.t("which_of"), [w.product_line(r) for r in items]))
    tool = "remove_from_wishlist" if action == "remove" else "move_wishlist_to_cart"
    return Step.call(tool, sku=chosen["sku"])


def _wishlist_reply(ctx: Context, event: Any) -> Step:
    w = ctx.writer
    if event.error or event.result is None:
        return Step.say(w.t("error", error=event.error))
    sku = str(event.arguments.get("sku", ""))
    return Step.say(wishlist_text(w, event.name, event.result, _title(ctx, sku), sku))


def wishlist_text(w: Writer, tool: str, result: dict[str, Any], title: str, sku: str = "") -> str:
    """A wishlist tool's result, as said to the shopper: what changed (``title`` when the
    product is no longer listed), then the list or the cart."""
    items = records_in(result, "wishlist")
    title = next((str(r.get("title")) for r in items if sku and r.get("sku") == sku), title)
    head = {
        "save_to_wishlist": w.t("wishlist_saved", title=title),
        "remove_from_wishlist": w.t("wishlist_removed", title=title),
        "move_wishlist_to_cart": w.t("wishlist_moved", title=title),
    }.get(tool, "")
    listing = (
        [w.t("wishlist_header")] + [w.product_line(r) for r in items] if items else [w.t("wishlist_empty")]
    )
    cart = result.get("cart") if tool == "move_wishlist_to_cart" else None
    link = result.get("share_link")
    share = w.t("wishlist_share", link=link) if link and items else ""
    return join(head, w.cart_block(cart) if isinstance(cart, dict) else listing, share)
