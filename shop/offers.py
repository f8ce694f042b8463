"""Bounded offers: the agent may offer a discount only inside the merchant's limit.

The merchant sets limits in store settings, e.g.::

    offers:
      - {scope: category, targets: [jackets], max_percent: "10"}
      - {scope: product, targets: [TENT-FJELL2], max_percent: "5"}

Every offer, granted or refused, is logged. Granted offers become checkout adjustments
on their line (on top of promotions; the total discount is still capped at the subtotal).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.catalog import get_merchant, get_product
from shop.errors import InvalidRequest
from shop.models import Merchant, Offer, Product
from shop.money import Money


def limit_for(merchant: Merchant, product: Product) -> Decimal:
    """The largest percentage the merchant lets the agent offer on this product (0 = none)."""
    best = Decimal(0)
    for rule in merchant.settings.get("offers") or []:
        if not isinstance(rule, dict):
            continue
        targets = {str(t).lower() for t in rule.get("targets") or []}
        scope = rule.get("scope", "product")
        hit = (
            scope == "product"
            and (product.sku.lower() in targets or (product.parent_sku or "").lower() in targets)
        ) or (scope == "category" and product.category.lower() in targets)
        if hit:
            try:
                best = max(best, Decimal(str(rule.get("max_percent", "0"))))
            except InvalidOperation:
                continue
    return min(best, Decimal(100))


def make_offer(
    session: Session, merchant_id: str, session_id: str, sku: str, percent: Decimal | str, reason: str = ""
) -> dict[str, Any]:
    merchant = get_merchant(session, merchant_id)
    product = get_product(session, merchant_id, sku)
    try:
        wanted = Decimal(str(percent))
    except InvalidOperation:
        raise InvalidRequest("percent must be a number such as 5 or 7.5") from None
    if not wanted.is_finite() or wanted <= 0:
        raise InvalidRequest("percent must be greater than 0")
    allowed = limit_for(merchant, product)
    if wanted > allowed:
        session.add(
            Offer(
                merchant_id=merchant_id,
                session_id=session_id,
                sku=sku,
                percent=str(wanted),
                status="refused",
                reason=reason[:500],
            )
        )
        session.flush()
        if allowed == 0:
            raise InvalidRequest(f"no discount can be offered on {product.title}")
        raise InvalidRequest(f"at most {allowed}% can be offered on {product.title}")
    for old in session.scalars(
        select(Offer).where(
            Offer.merchant_id == merchant_id,
            Offer.session_id == session_id,
            Offer.sku == sku,
            Offer.status == "offered",
        )
    ):
        old.status = "replaced"
    session.add(
        Offer(
            merchant_id=merchant_id, session_id=session_id, sku=sku, percent=str(wanted), reason=reason[:500]
        )
    )
    session.flush()
    return {"sku": sku, "title": product.title, "percent": str(wanted), "status": "offered"}


def offer_adjustments(
    session: Session, merchant_id: str, session_id: str, lines: list[tuple[str, Money]]
) -> list[dict[str, Any]]:
    """Adjustments for the session's standing offers on the given (sku, line total) pairs."""
    merchant = get_merchant(session, merchant_id)
    standing = {
        o.sku: o
        for o in session.scalars(
            select(Offer)
            .where(
                Offer.merchant_id == merchant_id, Offer.session_id == session_id, Offer.status == "offered"
            )
            .order_by(Offer.id)
        )
    }
    result = []
    for sku, line_total in lines:
        offer = standing.get(sku)
        if offer is None:
            continue
        # Re-check against today's limit: a merchant may have lowered it since.
        pct = min(Decimal(offer.percent), limit_for(merchant, get_product(session, merchant_id, sku)))
        amount = line_total.percent(pct)
        if amount.minor > 0:
            result.append(
                {
                    "promo_id": f"offer:{sku}",
                    "code": None,
                    "label": f"{pct}% off {sku}",
                    "amount_minor": amount.minor,
                }
            )
    return result
