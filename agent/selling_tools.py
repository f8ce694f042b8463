"""Selling tools: promotions and coupon codes, bounded offers, recommendations, wishlists.

The server decides every amount: promotions and offers are applied when the checkout is
prepared, a coupon code counts only when the shopper typed it and the store has it, and an
offer above the merchant's limit is refused (and logged like every offer). Recommendations
come from the store's own data: what was bought together, shared attributes and the
retriever's embedding neighbours; a shopper's past orders are used only when they chose to
be remembered.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agent.context import ToolContext
from agent.records import brief_record, clean, in_stock
from agent.retrieval_filters import product_filters
from agent.toolkit import ToolError
from shop import carts, offers, promotions, recommendations, shoppers, wishlists
from shop.carts import CartView
from shop.catalog import get_merchant, get_product, price_of
from shop.errors import InvalidRequest
from shop.models import Order, Product
from shop.money import Money
from shop.promotions import PricedLine, PromotionRules

Limit = Annotated[int, Field(ge=1, le=6)]
PERSONAL_ANCHORS = 3
"""Products of a remembered shopper's recent orders that personal recommendations start from."""


# -- promotions and coupons ---------------------------------------------------------------
def _describe(rules: PromotionRules, currency: str, titles: dict[str, str]) -> dict[str, Any]:
    """A promotion as the shopper may hear of it; its code only when the shopper gave it."""
    out: dict[str, Any] = {"label": clean(rules.label or rules.id, 120), "kind": rules.kind}
    out["value"] = rules.value if rules.kind == "percent" else Money.parse(rules.value, currency).to_str()
    if rules.scope == "product":
        out["products"] = [{"sku": t, "title": clean(titles.get(t, t), 100)} for t in rules.targets[:10]]
    elif rules.scope == "category":
        out["categories"] = [clean(t, 60) for t in rules.targets[:10]]
    if rules.min_spend:
        out["min_spend"] = Money.parse(rules.min_spend, currency).to_str()
    if rules.ends_at:
        out["ends"] = rules.ends_at.date().isoformat()
    if rules.code:
        out["code"] = rules.code
    return out


def _titles(session: Session, merchant_id: str, rules: list[PromotionRules]) -> dict[str, str]:
    skus = [t for r in rules if r.scope == "product" for t in r.targets]
    return {sku: p.title for sku, p in _rows(session, merchant_id, skus).items()}


def _email(ctx: ToolContext) -> str:
    return ctx.state.verified_emails[-1] if ctx.state.verified_emails else ""


def _cart_discount(session: Session, ctx: ToolContext, cart: CartView) -> Money:
    """What the store's promotions would take off this cart now (the checkout decides)."""
    lines = [PricedLine(x.sku, x.category, x.line_total) for x in cart.lines]
    usable = promotions.available(session, ctx.merchant_id, list(cart.coupon_codes), _email(ctx))
    taken = promotions.best_adjustments(usable, lines, cart.currency)
    return Money(sum(a.amount.minor for a in taken), cart.currency)


def _applies_to(rules: PromotionRules, product: Product) -> bool:
    if rules.scope == "product":
        return product.sku in rules.targets
    if rules.scope == "category":
        return product.category.lower() in {t.lower() for t in rules.targets}
    return True


def find_promotions(ctx: ToolContext, sku: str | None = None) -> dict[str, Any]:
    """Current promotions and what they take off the cart now; with a sku, those on that product.

    Args:
        sku: optional product id
    """
    with ctx.transaction() as session:
        cart = carts.view_cart(session, ctx.merchant_id, ctx.session_id)
        currency = cart.currency
        usable = promotions.available(session, ctx.merchant_id, list(cart.coupon_codes), _email(ctx))
        product = get_product(session, ctx.merchant_id, sku.strip()) if sku else None
        if product is not None:
            usable = [r for r in usable if _applies_to(r, product)]
        result: dict[str, Any] = {
            "promotions": [_describe(r, currency, _titles(session, ctx.merchant_id, usable)) for r in usable],
            "cart_subtotal": cart.subtotal.to_str(),
            "cart_discount_now": _cart_discount(session, ctx, cart).to_str(),
            "currency": currency,
        }
        if product is not None:
            result["product"] = brief_record(product)
            limit = offers.limit_for(get_merchant(session, ctx.merchant_id), product)
            if limit > 0:
                result["may_offer_up_to_percent"] = str(limit)
    result["note"] = (
        "These are all the promotions: never invent others or coupon codes. The discount is "
        "computed by the store when the checkout is prepared."
    )
    return result


def apply_coupon(
    ctx: ToolContext, code: Annotated[str, Field(min_length=1, max_length=60)]
) -> dict[str, Any]:
    """Apply a coupon code the shopper wrote (never one you made up); checkout computes the discount.

    Args:
        code: as the shopper wrote it
    """
    wanted = code.strip()
    if not ctx.shopper_wrote(wanted):
        raise ToolError(
            "apply_coupon only takes a code the shopper wrote in this conversation: ask them for their code"
        )
    with ctx.transaction() as session:
        rules = promotions.check_code(session, ctx.merchant_id, wanted)
        if _email(ctx) and rules not in promotions.available(session, ctx.merchant_id, [wanted], _email(ctx)):
            raise InvalidRequest(f"the code {rules.code} was already used with {_email(ctx)}")
        cart = carts.apply_coupon(session, ctx.merchant_id, ctx.session_id, wanted)
        discount = _cart_discount(session, ctx, cart)
        applied = _describe(rules, cart.currency, _titles(session, ctx.merchant_id, [rules]))
    ctx.cart_changed = True
    result: dict[str, Any] = {
        "applied": applied,
        "cart": cart.to_dict(),
        "cart_discount_now": discount.to_str(),
        "currency": cart.currency,
    }
    if discount.minor == 0:
        result["note"] = (
            "The code is on the cart but takes nothing off yet (see min_spend, products or categories); "
            "the checkout applies it once the cart qualifies."
        )
    return result


# -- bounded offers ------------------------------------------------------------------------
def make_offer(
    ctx: ToolContext,
    sku: str,
    percent: Annotated[int, Field(ge=1, le=100)],
    reason: str = "",
) -> dict[str, Any]:
    """Offer a discount on a product, at most find_promotions' may_offer_up_to_percent.

    Args:
        sku: the product id
        percent: whole percent, e.g. 5
        reason: why, briefly
    """
    refused: InvalidRequest | None = None
    with ctx.transaction() as session:
        try:
            offer = offers.make_offer(
                session, ctx.merchant_id, ctx.session_id, sku.strip(), Decimal(percent), reason[:300]
            )
        except InvalidRequest as exc:
            refused = exc  # the refusal is logged: commit it, then tell the model
        else:
            product = get_product(session, ctx.merchant_id, sku.strip())
    if refused is not None:
        raise ToolError(f"{refused}; the offer was not made")
    price = price_of(product)
    return {
        "offer": {"sku": product.sku, "title": clean(product.title, 100), "percent": offer["percent"]},
        "price": price.to_str(),
        "price_with_offer": (price - price.percent(Decimal(offer["percent"]))).to_str(),
        "currency": price.currency,
        "note": "The store applies this discount when the checkout is prepared, in this conversation only.",
    }


# -- recommendations -----------------------------------------------------------------------
def _neighbours(ctx: ToolContext, product: Product, exclude: set[str]) -> tuple[list[Product], list[Product]]:
    """Embedding neighbours from the retriever: (same category, other categories), in stock."""
    hits = ctx.retriever.search_products(ctx.merchant_id, product.title, product_filters(in_stock=True), 12)
    wanted = [h.sku for h in hits]
    with ctx.transaction() as session:
        rows = _rows(session, ctx.merchant_id, wanted)
    same: list[Product] = []
    other: list[Product] = []
    for sku in wanted:
        p = rows.get(sku)
        if p is None or not p.active or not in_stock(p) or _family(p) in exclude:
            continue
        (same if p.category == product.category else other).append(p)
    return same, other


def _anchors(ctx: ToolContext, session: Session) -> tuple[list[str], str]:
    """What to recommend from without a sku: a remembered shopper's recent purchases (with
    their consent), else the cart."""
    customer = shoppers.linked_customer(session, ctx.merchant_id, ctx.session_id)
    if customer is not None:
        orders = session.scalars(
            select(Order)
            .where(Order.merchant_id == ctx.merchant_id, func.lower(Order.email) == customer.email.lower())
            .order_by(Order.placed_at.desc())
            .limit(PERSONAL_ANCHORS)
        )
        skus = list(dict.fromkeys(line.sku for order in orders for line in order.lines))
        if skus:
            return skus[:PERSONAL_ANCHORS], "past_orders"
    cart = carts.view_cart(session, ctx.merchant_id, ctx.session_id)
    return [line.sku for line in cart.lines][:PERSONAL_ANCHORS], "cart"


def _family(product: Product) -> str:
    return product.parent_sku or product.sku


def _rows(session: Session, merchant_id: str, skus: list[str]) -> dict[str, Product]:
    if not skus:
        return {}
    query = select(Product).where(Product.merchant_id == merchant_id, Product.sku.in_(skus))
    return {p.sku: p for p in session.scalars(query)}


def recommend(ctx: ToolContext, sku: str | None = None, limit: Limit = 3) -> dict[str, Any]:
    """Items bought together with a product, items that go with it, similar ones (no sku: for the cart).

    Args:
        sku: the product id
        limit: how many per kind
    """
    with ctx.transaction() as session:
        anchors, basis = ([sku.strip()], "product") if sku else _anchors(ctx, session)
        if not anchors:
            raise ToolError("nothing to recommend from: ask which product the shopper has in mind")
        product = get_product(session, ctx.merchant_id, anchors[0])
        in_cart = [x.sku for x in carts.view_cart(session, ctx.merchant_id, ctx.session_id).lines]
        owned = {_family(p) for p in _rows(session, ctx.merchant_id, [*anchors, *in_cart]).values()}
        cards = [r for a in anchors for r in recommendations.also_bought(session, ctx.merchant_id, a, 6)]
        split = len(cards)
        cards += recommendations.similar(session, ctx.merchant_id, product.sku, 6)
        found = _rows(session, ctx.merchant_id, [c["sku"] for c in cards])
    known = [found[c["sku"]] for c in cards if c["sku"] in found]
    together, alike = known[:split], known[split:]
    same, other = _neighbours(ctx, product, owned)
    picked = set(owned)

    def take(candidates: list[Product]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for p in candidates:
            if _family(p) not in picked and len(out) < limit:
                picked.add(_family(p))
                out.append(brief_record(p))
        return out

    result: dict[str, Any] = {
        "for": brief_record(product),
        "basis": basis,
        "bought_together": take(together),
        "goes_with": take(other),
        "similar": take(alike + same),
    }
    if not any(result[k] for k in ("bought_together", "goes_with", "similar")):
        result["note"] = "Nothing to recommend from the store's data: say so, and offer to search."
    return result


# -- wishlists -----------------------------------------------------------------------------
def _wishlist(ctx: ToolContext, view: dict[str, Any]) -> dict[str, Any]:
    token = view.get("share_token")
    return {
        "wishlist": [
            {
                **{k: item[k] for k in ("sku", "price", "currency", "in_stock")},
                "title": clean(item["title"], 100),
            }
            for item in view["items"]
        ],
        "share_link": wishlists.share_path(token, ctx.merchant_id) if token else None,
    }


def save_to_wishlist(ctx: ToolContext, sku: str) -> dict[str, Any]:
    """Save a product to the shopper's wishlist.

    Args:
        sku: the product id
    """
    with ctx.transaction() as session:
        view = wishlists.save(session, ctx.merchant_id, wishlists.session_owner(ctx.session_id), sku.strip())
    return {"saved": sku.strip(), **_wishlist(ctx, view)}


def view_wishlist(ctx: ToolContext) -> dict[str, Any]:
    """The shopper's wishlist, with a read-only share link."""
    with ctx.transaction() as session:
        view = wishlists.list_items(session, ctx.merchant_id, wishlists.session_owner(ctx.session_id))
    return _wishlist(ctx, view)


def remove_from_wishlist(ctx: ToolContext, sku: str) -> dict[str, Any]:
    """Remove a product from the shopper's wishlist.

    Args:
        sku: the product id
    """
    with ctx.transaction() as session:
        view = wishlists.remove(
            session, ctx.merchant_id, wishlists.session_owner(ctx.session_id), sku.strip()
        )
    return {"removed": sku.strip(), **_wishlist(ctx, view)}


def move_wishlist_to_cart(ctx: ToolContext, sku: str) -> dict[str, Any]:
    """Move a product from the wishlist into the cart.

    Args:
        sku: the product id
    """
    owner = wishlists.session_owner(ctx.session_id)
    with ctx.transaction() as session:
        cart = wishlists.move_to_cart(session, ctx.merchant_id, owner, ctx.session_id, sku.strip())
        view = wishlists.list_items(session, ctx.merchant_id, owner)
    ctx.cart_changed = True
    return {"moved": sku.strip(), "cart": cart.to_dict(), **_wishlist(ctx, view)}
