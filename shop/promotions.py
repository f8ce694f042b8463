"""Promotions: coupon codes and automatic discounts, applied only by the server.

Rounding rule: a percentage is taken of the eligible amount and rounded half-up to the
currency's minor unit (0 decimals for JPY, 3 for KWD); a fixed amount is capped at the
eligible amount. The total discount never exceeds the subtotal, so totals are never
negative. Promotions not marked ``stackable`` never combine with another: the shopper
gets whichever is larger, the best single one or the sum of all stackable ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop.errors import InvalidRequest, NotFound
from shop.models import Product, Promotion, Redemption
from shop.money import Money

CODE_SHAPE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,39}$")


class PromotionRules(BaseModel):
    """One promotion as a merchant writes it in promotions.yaml / the merchant API."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=100)
    code: str | None = Field(default=None, max_length=100, description="Coupon code; empty = automatic.")
    label: str = ""
    kind: Literal["percent", "fixed"]
    value: str = Field(description="Percent (e.g. '10') or a fixed amount (e.g. '5.00').")
    scope: Literal["cart", "product", "category"] = "cart"
    targets: list[str] = Field(
        default_factory=list, description="SKUs or categories for product/category scope."
    )
    min_spend: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    usage_limit: int | None = Field(default=None, ge=1)
    per_shopper_limit: int | None = Field(default=None, ge=1)
    stackable: bool = False

    @field_validator("code")
    @classmethod
    def _code(cls, v: str | None) -> str | None:
        code = v.strip().upper() if v else ""
        if code and not CODE_SHAPE.match(code):
            raise ValueError("a code is 3 to 40 letters A-Z, digits, '-' or '_', such as WELCOME10")
        return code or None

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        return None if v is None else _aware(v)  # a date or naive time is read as UTC

    @field_validator("value", "min_spend")
    @classmethod
    def _decimal(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            d = Decimal(str(v))
        except InvalidOperation:
            raise ValueError(f"{v!r} is not a decimal number") from None
        if not d.is_finite() or d <= 0:
            raise ValueError("must be a positive number")
        return str(v)

    @model_validator(mode="after")
    def _consistent(self) -> PromotionRules:
        if self.kind == "percent" and Decimal(self.value) > 100:
            raise ValueError("a percentage cannot exceed 100")
        if self.scope != "cart" and not self.targets:
            raise ValueError(f"scope {self.scope!r} needs targets (SKUs or categories)")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


@dataclass(frozen=True)
class PricedLine:
    sku: str
    category: str
    line_total: Money


@dataclass(frozen=True)
class Adjustment:
    promo_id: str
    code: str | None
    label: str
    amount: Money

    def to_dict(self) -> dict[str, Any]:
        return {
            "promo_id": self.promo_id,
            "code": self.code,
            "label": self.label,
            "amount_minor": self.amount.minor,
        }


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _eligible_amount(rules: PromotionRules, lines: list[PricedLine], currency: str) -> Money:
    if rules.scope == "cart":
        chosen = lines
    elif rules.scope == "product":
        chosen = [line for line in lines if line.sku in rules.targets]
    else:
        wanted = {t.lower() for t in rules.targets}
        chosen = [line for line in lines if line.category.lower() in wanted]
    amount = Money.zero(currency)
    for line in chosen:
        amount = amount + line.line_total
    return amount


def discount_of(rules: PromotionRules, lines: list[PricedLine], currency: str) -> Money:
    """What this promotion alone takes off these lines (zero when it does not apply)."""
    subtotal = Money.zero(currency)
    for line in lines:
        subtotal = subtotal + line.line_total
    if rules.min_spend is not None and subtotal < Money.parse(rules.min_spend, currency):
        return Money.zero(currency)
    eligible = _eligible_amount(rules, lines, currency)
    if eligible.minor <= 0:
        return Money.zero(currency)
    if rules.kind == "percent":
        off = eligible.percent(Decimal(rules.value))
    else:
        off = Money.parse(rules.value, currency)
    return off if off <= eligible else eligible


def best_adjustments(
    candidates: list[PromotionRules], lines: list[PricedLine], currency: str
) -> list[Adjustment]:
    """Choose the shopper's best legal combination and cap it at the subtotal."""
    priced = [(rules, discount_of(rules, lines, currency)) for rules in candidates]
    priced = [(rules, off) for rules, off in priced if off.minor > 0]
    stackable = [(r, off) for r, off in priced if r.stackable]
    single = max((p for p in priced if not p[0].stackable), key=lambda p: p[1].minor, default=None)
    stack_total = sum(off.minor for _, off in stackable)
    chosen = [single] if single is not None and single[1].minor > stack_total else stackable
    subtotal = sum(line.line_total.minor for line in lines)
    result: list[Adjustment] = []
    room = subtotal
    for rules, off in sorted(chosen, key=lambda p: p[0].id):
        take = min(off.minor, room)
        if take <= 0:
            break
        room -= take
        result.append(Adjustment(rules.id, rules.code, rules.label or rules.id, Money(take, currency)))
    return result


# -- storage -------------------------------------------------------------------------


def upsert_promotions(session: Session, merchant_id: str, promotions: list[PromotionRules]) -> int:
    existing = {
        p.promo_id: p for p in session.scalars(select(Promotion).where(Promotion.merchant_id == merchant_id))
    }
    for rules in promotions:
        row = existing.get(rules.id)
        data = rules.model_dump(mode="json")
        if row is None:
            session.add(Promotion(merchant_id=merchant_id, promo_id=rules.id, code=rules.code, rules=data))
        else:
            row.code, row.rules, row.active = rules.code, data, True
    session.flush()
    return len(promotions)


def _usage(session: Session, merchant_id: str, promo_id: str, email: str = "") -> int:
    query = select(func.count(Redemption.id)).where(
        Redemption.merchant_id == merchant_id, Redemption.promo_id == promo_id
    )
    if email:
        query = query.where(func.lower(Redemption.email) == email.strip().lower())
    return int(session.scalar(query) or 0)


def available(
    session: Session, merchant_id: str, codes: list[str], email: str = "", now: datetime | None = None
) -> list[PromotionRules]:
    """Active promotions usable now: automatic ones plus those whose code the shopper gave."""
    now = now or datetime.now(UTC)
    given = {c.strip().upper() for c in codes}
    result = []
    for row in session.scalars(
        select(Promotion).where(Promotion.merchant_id == merchant_id, Promotion.active)
    ):
        rules = PromotionRules.model_validate(row.rules)
        if rules.code and rules.code not in given:
            continue
        if rules.starts_at and now < _aware(rules.starts_at):
            continue
        if rules.ends_at and now >= _aware(rules.ends_at):
            continue
        if rules.usage_limit is not None and _usage(session, merchant_id, rules.id) >= rules.usage_limit:
            continue
        if (
            rules.per_shopper_limit is not None
            and email
            and _usage(session, merchant_id, rules.id, email) >= rules.per_shopper_limit
        ):
            continue
        result.append(rules)
    return result


def check_code(session: Session, merchant_id: str, code: str, now: datetime | None = None) -> PromotionRules:
    """The promotion behind a coupon code a shopper typed; unknown or expired codes are refused."""
    wanted = code.strip().upper()
    for rules in available(session, merchant_id, [wanted], now=now):
        if rules.code == wanted:
            return rules
    raise InvalidRequest(f"the code {code.strip()[:40]!r} is not valid in this store right now")


def record_redemptions(
    session: Session, merchant_id: str, adjustments: list[dict[str, Any]], email: str, order_id: str
) -> None:
    """Count the uses at order time, re-checking the limits inside the order's transaction."""
    for adj in adjustments:
        row = session.scalar(
            select(Promotion).where(
                Promotion.merchant_id == merchant_id, Promotion.promo_id == adj["promo_id"]
            )
        )
        if row is None:
            continue
        rules = PromotionRules.model_validate(row.rules)
        if rules.usage_limit is not None and _usage(session, merchant_id, rules.id) >= rules.usage_limit:
            raise InvalidRequest(
                f"the promotion {rules.label or rules.id} has run out: prepare the checkout again"
            )
        if (
            rules.per_shopper_limit is not None
            and _usage(session, merchant_id, rules.id, email) >= rules.per_shopper_limit
        ):
            raise InvalidRequest(
                f"you have already used {rules.label or rules.id}: prepare the checkout again"
            )
        session.add(
            Redemption(
                merchant_id=merchant_id,
                promo_id=rules.id,
                email=email.strip().lower(),
                order_id=order_id,
                amount_minor=int(adj["amount_minor"]),
            )
        )


# -- management (merchant API, ingest) --------------------------------------------------


def check_amounts(rules: PromotionRules, currency: str) -> None:
    """Fixed amounts and minimum spends must be exact in the store's currency (``5.005`` EUR is not)."""
    amounts = [rules.min_spend] + ([rules.value] if rules.kind == "fixed" else [])
    for amount in amounts:
        if amount is not None:
            Money.parse(amount, currency)


def code_holder(session: Session, merchant_id: str, code: str, other_than: str = "") -> str | None:
    """The id of another active promotion already using this coupon code, if any."""
    wanted = code.strip().upper()
    for row in session.scalars(
        select(Promotion).where(
            Promotion.merchant_id == merchant_id, Promotion.active, Promotion.promo_id != other_than
        )
    ):
        if (row.code or "").upper() == wanted:
            return row.promo_id
    return None


def uses(session: Session, merchant_id: str) -> dict[str, int]:
    """Redemptions so far, by promotion id."""
    rows = session.execute(
        select(Redemption.promo_id, func.count(Redemption.id))
        .where(Redemption.merchant_id == merchant_id)
        .group_by(Redemption.promo_id)
    )
    return {promo_id: int(n) for promo_id, n in rows}


def deactivate(session: Session, merchant_id: str, promo_id: str) -> Promotion:
    """Switch a promotion off; the row stays so past redemptions keep their meaning."""
    row = session.scalar(
        select(Promotion).where(Promotion.merchant_id == merchant_id, Promotion.promo_id == promo_id)
    )
    if row is None or not row.active:
        raise NotFound(f"unknown promotion {promo_id[:100]!r}")
    row.active = False
    session.flush()
    return row


def catalog_names(
    session: Session, merchant_id: str, incoming: list[tuple[str, str | None, str]] | None = None
) -> tuple[set[str], set[str], set[str]]:
    """SKUs, product families (parent ids) and lower-case categories a promotion may name:
    the stored catalog plus ``incoming`` (sku, parent, category) rows about to be stored."""
    rows = session.execute(
        select(Product.sku, Product.parent_sku, Product.category).where(Product.merchant_id == merchant_id)
    )
    entries = [*rows, *(incoming or [])]
    skus = {sku for sku, _, _ in entries}
    families = {parent for _, parent, _ in entries if parent} - skus
    return skus, families, {category.lower() for _, _, category in entries if category}


def target_problem(rules: PromotionRules, skus: set[str], families: set[str], categories: set[str]) -> str:
    """What is wrong with the promotion's targets ("" when every one exists)."""
    if rules.scope == "product":
        missing = [t for t in rules.targets if t not in skus]
        if missing and missing[0] in families:
            return f"targets: {missing[0]!r} is a product family (parent_id): list the SKUs of its variants"
        if missing:
            return f"targets: unknown product id(s) {', '.join(missing[:5])}: use SKUs from the catalog"
    if rules.scope == "category":
        missing = [t for t in rules.targets if t.lower() not in categories]
        if missing:
            return f"targets: unknown category {missing[0]!r}: use a category of the catalog"
    return ""
