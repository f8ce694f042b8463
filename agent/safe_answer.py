"""A reply built only from this turn's tool results, for when the model's reply cannot be trusted.

The offline engine's templates write it in the shopper's language (English where there
is no template pack): a policy question gets the best sentences of the retrieved policy
quoted verbatim, a checkout its summary, a cart its lines and subtotal, an order its
status, a search its top products with store prices and stock, an applied coupon what it
saves, promotions, recommendations and the wishlist their lists. Nothing retrieved that
answers the turn means ``None``: the caller then says it does not know.
"""

from __future__ import annotations

import re
from typing import Any

from agent.events import ToolCallRecord
from agent.offline.history import WISHLIST_TOOLS
from agent.offline.languages import available_languages, get_pack
from agent.offline.policy import quote
from agent.offline.render import Writer, join
from agent.offline.selling import (
    coupon_refused,
    coupon_text,
    offer_text,
    promotions_text,
    recommend_text,
    wishlist_text,
)
from agent.offline.text import fold

SHOWN_PRODUCTS = 3


def asks_figure(question: str, lang: str) -> str:
    """ "duration" for a question asking how long, "amount" for how much, else ''."""
    pack = get_pack(lang if lang in available_languages() else "en")
    folded = fold(question)
    if pack.how_long.search(folded):
        return "duration"
    return "amount" if pack.how_much.search(folded) else ""


def base_title(title: str) -> str:
    """A title without its variant suffix: "Trail Tent (Green)" -> "Trail Tent"."""
    return re.sub(r"\s*\([^)]*\)\s*$", "", title).strip() or title


def writer_for(lang: str) -> Writer:
    """The template writer for ``lang``, English where there is no template pack."""
    return Writer(lang if lang in available_languages() else "en")


def _policy(question: str, lang: str, records: list[ToolCallRecord]) -> str | None:
    passages = [
        p
        for r in records
        if r.name == "search_policies" and isinstance(r.result, dict)
        for p in r.result.get("passages") or []
        if isinstance(p, dict)
    ]
    w = writer_for(lang)
    found = quote(question, w.lang, passages) if passages else None
    if found is None:
        return None
    key = "policy_lead" if found.lang == w.lang else "policy_lead_other_language"
    return join(w.t(key, section=found.section or "-"), found.text)


def _products(w: Writer, result: dict[str, Any]) -> str | None:
    records = [r for r in result.get("results") or [] if isinstance(r, dict)][:SHOWN_PRODUCTS]
    if not records:
        return w.t("found_nothing")
    lines = [w.product_line(r) for r in records]
    alternatives = [r for r in result.get("alternatives") or [] if isinstance(r, dict)]
    if alternatives and records[0].get("in_stock") is False:
        return join(w.t("best_sold_out", title=records[0].get("title", "")), w.t("alternatives"),
                    [w.product_line(a, with_stock=False) for a in alternatives])  # fmt: skip
    return join(w.t("found"), lines)


def _from_record(w: Writer, record: ToolCallRecord) -> str | None:
    result = record.result if isinstance(record.result, dict) else {}
    if record.name == "prepare_checkout":
        summary = result.get("checkout")
        return join(w.checkout_block(summary), w.t("checkout_confirm")) if isinstance(summary, dict) else None
    if record.name == "place_order" and result.get("order_id"):
        total = w.money(result.get("total"), result.get("currency"))
        return w.t("order_placed", order_id=result["order_id"], total=total)
    if result.get("status") == "needs_confirmation" and isinstance(result.get("change"), str):
        return str(result["change"])
    if record.name in ("add_to_cart", "update_cart", "view_cart") and isinstance(result.get("cart"), dict):
        return join(w.cart_block(result["cart"]))
    if record.name == "lookup_order" and isinstance(result.get("order"), dict):
        order = result["order"]
        return w.t(
            "order_status", order_id=order.get("order_id", ""), status=w.status(order.get("status", ""))
        )
    if record.name == "search_products":
        return _products(w, result)
    if record.name == "get_product" and result.get("sku"):
        return w.t("details_title", title=result.get("title", ""), sku=result["sku"],
                   price=w.money(result.get("price"), result.get("currency")), stock=w.stock(result))  # fmt: skip
    if record.name == "apply_coupon" and isinstance(result.get("applied"), dict):
        return coupon_text(w, str(record.arguments.get("code", "")).upper(), result)
    if record.name == "make_offer" and isinstance(result.get("offer"), dict):
        return offer_text(w, result, None)
    if record.name == "find_promotions":
        return promotions_text(w, result)
    if record.name == "recommend":
        return recommend_text(w, result)
    if record.name in WISHLIST_TOOLS and isinstance(result.get("wishlist"), list):
        sku = str(record.arguments.get("sku", ""))
        return wishlist_text(w, record.name, result, sku, sku)
    if record.name == "handoff_to_human":
        return w.t("handoff_done", contact=str(result.get("contact") or "-"))
    return None


def product_records(records: list[ToolCallRecord]) -> dict[str, dict[str, Any]]:
    """sku -> the latest product record (with a title) the records' results gave."""
    found: dict[str, dict[str, Any]] = {}
    for record in records:
        result = record.result if isinstance(record.result, dict) else {}
        for item in [result, *(result.get("results") or []), *(result.get("alternatives") or [])]:
            if isinstance(item, dict) and isinstance(item.get("sku"), str) and item.get("title"):
                found[item["sku"]] = item
    return found


def _titles(records: list[ToolCallRecord]) -> dict[str, str]:
    return {sku: str(item["title"]) for sku, item in product_records(records).items()}


def _refusal(w: Writer, record: ToolCallRecord, titles: dict[str, str]) -> str | None:
    """A sold-out add or a refused coupon, said in the shopper's language."""
    if record.name == "add_to_cart" and "stock" in (record.error or ""):
        sku = str(record.arguments.get("sku", ""))
        return w.t("not_added_stock", title=titles.get(sku, sku))
    if record.name == "apply_coupon":
        return coupon_refused(w, str(record.arguments.get("code", "")).strip().upper(), record.error or "")
    return None


def safe_answer(question: str, lang: str, records: list[ToolCallRecord], policy_first: bool) -> str | None:
    """The turn's answer from its records: the latest write or lookup wins (a refused add
    too), then a policy quote (first, when the question was a policy one), then the latest
    search."""
    w = writer_for(lang)
    ok = [r for r in records if r.error is None]
    if policy_first and (text := _policy(question, lang, ok)):
        return text
    for record in reversed(records):
        if record.name not in ("search_products", "get_product", "search_policies"):
            text = _from_record(w, record) if record.error is None else _refusal(w, record, _titles(records))
            if text is not None:
                return text
    if text := _policy(question, lang, ok):
        return text
    for record in reversed(ok):
        if (text := _from_record(w, record)) is not None:
            return text
    return None


def unknown(lang: str) -> str:
    """The honest answer when nothing retrieved answers the question."""
    return writer_for(lang).t("policy_unknown")
