"""Merchant routes for selling: promotions and coupon codes, the limits of the assistant's
offers, and the log of every offer it made (API key required, as every merchant route).

Promotions are also imported from ``promotions.yaml|json`` by ``shopagent ingest``; both
paths validate the same rules (:class:`shop.promotions.PromotionRules`). Deleting one
switches it off: past redemptions keep pointing at it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.deps import DbDep, MerchantDep
from api.errors import error_responses
from api.schemas import OfferLimitsIn, OfferLimitsPublic, OfferPublic, Page, PromotionPublic
from shop import promotions
from shop.catalog import get_merchant
from shop.errors import Conflict, InvalidRequest, NotFound
from shop.models import Offer, Promotion
from shop.promotions import PromotionRules

router = APIRouter(prefix="/v1/merchants/{merchant_id}", tags=["merchant"])
AUTH = error_responses(401, 403, 404, 422)
WRITE = error_responses(401, 403, 404, 409, 422)
PromoPath = Annotated[str, Path(min_length=1, max_length=100)]


def _public(row: Promotion, uses: dict[str, int]) -> dict[str, Any]:
    return {**row.rules, "active": row.active, "uses": uses.get(row.promo_id, 0)}


def _row(session: Session, merchant_id: str, promo_id: str) -> Promotion | None:
    return session.scalar(
        select(Promotion).where(Promotion.merchant_id == merchant_id, Promotion.promo_id == promo_id)
    )


def _check(session: Session, merchant_id: str, rules: PromotionRules) -> None:
    """The checks ``shopagent ingest`` makes: exact amounts, targets that exist, a free code."""
    promotions.check_amounts(rules, get_merchant(session, merchant_id).currency)
    problem = promotions.target_problem(rules, *promotions.catalog_names(session, merchant_id))
    if problem:
        raise InvalidRequest(problem)
    holder = promotions.code_holder(session, merchant_id, rules.code, rules.id) if rules.code else None
    if holder is not None:
        raise Conflict(f"the code {rules.code} belongs to promotion {holder!r}: choose another code")


def _store(session: Session, merchant_id: str, rules: PromotionRules) -> dict[str, Any]:
    promotions.upsert_promotions(session, merchant_id, [rules])
    row = _row(session, merchant_id, rules.id)
    assert row is not None
    return _public(row, promotions.uses(session, merchant_id))


@router.get("/promotions", response_model=list[PromotionPublic], responses=AUTH)
def list_promotions(
    merchant_id: MerchantDep,
    db: DbDep,
    include_inactive: Annotated[bool, Query(description="Also list deleted (switched off) ones.")] = False,
) -> list[dict[str, Any]]:
    query = select(Promotion).where(Promotion.merchant_id == merchant_id)
    if not include_inactive:
        query = query.where(Promotion.active)
    with db.read_session() as session:
        uses = promotions.uses(session, merchant_id)
        return [_public(row, uses) for row in session.scalars(query.order_by(Promotion.promo_id))]


@router.get("/promotions/{promo_id}", response_model=PromotionPublic, responses=AUTH)
def inspect_promotion(merchant_id: MerchantDep, db: DbDep, promo_id: PromoPath) -> dict[str, Any]:
    with db.read_session() as session:
        row = _row(session, merchant_id, promo_id)
        if row is None:
            raise NotFound(f"unknown promotion {promo_id!r}")
        return _public(row, promotions.uses(session, merchant_id))


@router.post(
    "/promotions", response_model=PromotionPublic, status_code=status.HTTP_201_CREATED, responses=WRITE
)
def create_promotion(merchant_id: MerchantDep, db: DbDep, body: PromotionRules) -> dict[str, Any]:
    """Add a coupon code or an automatic promotion (a deleted id may be used again)."""
    with db.session() as session:
        existing = _row(session, merchant_id, body.id)
        if existing is not None and existing.active:
            raise Conflict(f"promotion {body.id!r} exists: change it with PUT .../promotions/{body.id}")
        _check(session, merchant_id, body)
        return _store(session, merchant_id, body)


@router.put("/promotions/{promo_id}", response_model=PromotionPublic, responses=WRITE)
def update_promotion(
    merchant_id: MerchantDep, db: DbDep, promo_id: PromoPath, body: PromotionRules
) -> dict[str, Any]:
    """Replace a promotion's rules; uses counted so far stay counted."""
    if body.id != promo_id:
        raise InvalidRequest(f"the body's id {body.id!r} differs from the path's {promo_id!r}")
    with db.session() as session:
        if _row(session, merchant_id, promo_id) is None:
            raise NotFound(f"unknown promotion {promo_id!r}: create it with POST .../promotions")
        _check(session, merchant_id, body)
        return _store(session, merchant_id, body)


@router.delete("/promotions/{promo_id}", status_code=status.HTTP_204_NO_CONTENT, responses=AUTH)
def delete_promotion(merchant_id: MerchantDep, db: DbDep, promo_id: PromoPath) -> Response:
    """Switch the promotion off at once: carts holding its code no longer get it at checkout."""
    with db.session() as session:
        promotions.deactivate(session, merchant_id, promo_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- bounded offers ---------------------------------------------------------------------
@router.get("/offer-limits", response_model=OfferLimitsPublic, responses=AUTH)
def read_offer_limits(merchant_id: MerchantDep, db: DbDep) -> dict[str, Any]:
    """How far the assistant may go when a shopper asks for a discount, per product or category."""
    with db.read_session() as session:
        rules = (get_merchant(session, merchant_id).settings or {}).get("offers") or []
    return {"limits": [r for r in rules if isinstance(r, dict)]}


@router.put("/offer-limits", response_model=OfferLimitsPublic, responses=AUTH)
def replace_offer_limits(merchant_id: MerchantDep, db: DbDep, body: OfferLimitsIn) -> dict[str, Any]:
    """Replace the limits (an empty list lets the assistant offer nothing). Standing offers above
    a lowered limit are cut to it when the checkout is prepared."""
    limits = [limit.model_dump() for limit in body.limits]
    if any(Decimal(limit["max_percent"]) > 100 for limit in limits):
        raise InvalidRequest("max_percent cannot exceed 100")
    with db.session() as session:
        merchant = get_merchant(session, merchant_id)
        merchant.settings = {**(merchant.settings or {}), "offers": limits}
    return {"limits": limits}


@router.get("/offers", response_model=Page[OfferPublic], responses=AUTH)
def list_offers(
    merchant_id: MerchantDep,
    db: DbDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    offer_status: Annotated[str | None, Query(alias="status", pattern="^(offered|refused|replaced)$")] = None,
) -> dict[str, Any]:
    """Every discount the assistant offered or was refused, newest first."""
    query = select(Offer).where(Offer.merchant_id == merchant_id)
    if offer_status:
        query = query.where(Offer.status == offer_status)
    with db.read_session() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(query.order_by(Offer.id.desc()).limit(limit).offset(offset))
        items = [
            {
                "session_id": o.session_id,
                "sku": o.sku,
                "percent": o.percent,
                "status": o.status,
                "reason": o.reason,
                "created_at": o.created_at,
            }
            for o in rows
        ]
    return {"items": items, "total": total, "limit": limit, "offset": offset}
