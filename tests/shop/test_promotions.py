from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shop import carts, checkout
from shop.errors import InvalidRequest
from shop.money import Money
from shop.payments import TestProvider
from shop.promotions import PricedLine, PromotionRules, best_adjustments, discount_of, upsert_promotions


def _lines(*items):
    return [PricedLine(sku, cat, Money(minor, "EUR")) for sku, cat, minor in items]


def test_percent_rounds_half_up_per_currency():
    rules = PromotionRules(id="p", kind="percent", value="12.5")
    assert discount_of(rules, _lines(("A", "x", 1004)), "EUR").minor == 126  # 125.5 -> 126
    jpy = [PricedLine("A", "x", Money(999, "JPY"))]
    assert discount_of(rules, jpy, "JPY").minor == 125  # 124.875 -> 125
    kwd = [PricedLine("A", "x", Money(1001, "KWD"))]
    assert discount_of(rules, kwd, "KWD").minor == 125  # 125.125 -> 125


def test_scopes_min_spend_and_fixed_cap():
    lines = _lines(("TENT", "tents", 20000), ("MUG", "kitchen", 1000))
    assert (
        discount_of(
            PromotionRules(id="c", kind="percent", value="10", scope="category", targets=["Tents"]),
            lines,
            "EUR",
        ).minor
        == 2000
    )
    assert (
        discount_of(
            PromotionRules(id="p", kind="fixed", value="50.00", scope="product", targets=["MUG"]),
            lines,
            "EUR",
        ).minor
        == 1000
    )
    assert (
        discount_of(PromotionRules(id="m", kind="fixed", value="5", min_spend="300"), lines, "EUR").minor == 0
    )


def test_non_stackable_never_combine_and_best_wins():
    lines = _lines(("A", "x", 10000))
    a = PromotionRules(id="a", kind="percent", value="10")
    b = PromotionRules(id="b", kind="fixed", value="15.00")
    s1 = PromotionRules(id="s1", kind="fixed", value="3", stackable=True)
    s2 = PromotionRules(id="s2", kind="fixed", value="4", stackable=True)
    chosen = best_adjustments([a, b, s1, s2], lines, "EUR")
    assert [adj.promo_id for adj in chosen] == ["b"]
    chosen = best_adjustments([a, s1, s2], lines, "EUR")
    assert [adj.promo_id for adj in chosen] == ["a"]  # 10.00 > 3 + 4
    assert [adj.promo_id for adj in best_adjustments([s1, s2], lines, "EUR")] == ["s1", "s2"]


@pytest.mark.parametrize(
    "bad",
    [
        {"id": "x", "kind": "percent", "value": "120"},
        {"id": "x", "kind": "fixed", "value": "-1"},
        {"id": "x", "kind": "fixed", "value": "abc"},
        {"id": "x", "kind": "percent", "value": "5", "scope": "product"},
        {"id": "x", "kind": "percent", "value": "5", "surprise": 1},
    ],
)
def test_invalid_rules_refused(bad):
    with pytest.raises(ValidationError):
        PromotionRules.model_validate(bad)


promo_strategy = st.builds(
    PromotionRules,
    id=st.text("abcdef", min_size=1, max_size=4),
    kind=st.sampled_from(["percent", "fixed"]),
    value=st.integers(1, 100).map(str),
    stackable=st.booleans(),
    min_spend=st.none() | st.integers(1, 500).map(str),
)
line_strategy = st.lists(
    st.tuples(st.sampled_from(["A", "B", "C"]), st.sampled_from(["x", "y"]), st.integers(1, 100_000)),
    min_size=1,
    max_size=5,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(promo_strategy, max_size=6, unique_by=lambda p: p.id), line_strategy)
def test_discount_never_exceeds_subtotal_and_rules_hold(promos, raw_lines):
    lines = _lines(*raw_lines)
    subtotal = sum(line.line_total.minor for line in lines)
    chosen = best_adjustments(promos, lines, "EUR")
    total_off = sum(adj.amount.minor for adj in chosen)
    assert 0 <= total_off <= subtotal
    by_id = {p.id: p for p in promos}
    if any(not by_id[a.promo_id].stackable for a in chosen):
        assert len(chosen) == 1  # a non-stackable promotion stands alone
    for adj in chosen:  # no promotion gives more than its own rule allows
        assert adj.amount.minor <= discount_of(by_id[adj.promo_id], lines, "EUR").minor


@settings(max_examples=100, deadline=None)
@given(st.lists(promo_strategy, max_size=5, unique_by=lambda p: p.id), line_strategy, st.randoms())
def test_order_of_promotions_does_not_change_the_price(promos, raw_lines, rnd):
    lines = _lines(*raw_lines)
    shuffled = list(promos)
    rnd.shuffle(shuffled)
    total = sum(a.amount.minor for a in best_adjustments(promos, lines, "EUR"))
    assert total == sum(a.amount.minor for a in best_adjustments(shuffled, lines, "EUR"))


def _setup_promos(db, **extra):
    with db.session() as s:
        upsert_promotions(
            s,
            "m1",
            [
                PromotionRules(id="welcome", code="WELCOME10", kind="percent", value="10", **extra),
                PromotionRules(
                    id="auto-mugs", kind="fixed", value="2.00", scope="product", targets=["MUG-1"]
                ),
            ],
        )


def test_coupon_applied_only_by_server_at_checkout(db):
    _setup_promos(db)
    with db.session() as s:
        carts.add_item(s, "m1", "sess", "TENT-1")
        no_code = checkout.prepare(s, "m1", "sess", email="a@example.com")
        assert no_code.discount.minor == 0
        carts.apply_coupon(s, "m1", "sess", " welcome10 ")
        summary = checkout.prepare(s, "m1", "sess", email="a@example.com")
    assert summary.discount.minor == 2490
    assert summary.total.minor == 24900 - 2490  # still free shipping over 75
    assert summary.to_dict()["adjustments"][0]["code"] == "WELCOME10"


def test_invented_code_does_nothing(db):
    _setup_promos(db)
    with db.session() as s:
        carts.add_item(s, "m1", "sess", "TENT-1")
        with pytest.raises(InvalidRequest, match="not valid"):
            carts.apply_coupon(s, "m1", "sess", "FREE100")
        assert checkout.prepare(s, "m1", "sess", email="a@example.com").discount.minor == 0


def test_expired_code_refused(db):
    past = datetime.now(UTC) - timedelta(days=1)
    _setup_promos(db, starts_at=past - timedelta(days=10), ends_at=past)
    with db.session() as s, pytest.raises(InvalidRequest):
        carts.apply_coupon(s, "m1", "sess", "WELCOME10")


def test_usage_limit_per_shopper_enforced_at_order_time(db):
    _setup_promos(db, per_shopper_limit=1)
    for session_id in ("s1", "s2"):
        with db.session() as s:
            carts.add_item(s, "m1", session_id, "MUG-1")
            carts.apply_coupon(s, "m1", session_id, "WELCOME10")
            summary = checkout.prepare(s, "m1", session_id, email="same@example.com")
        if session_id == "s1":
            checkout.confirm(db, "m1", session_id, summary.checkout_id, "k1", TestProvider())
    # The second checkout no longer gets the code once the shopper has used it.
    with db.session() as s:
        again = checkout.prepare(s, "m1", "s2", email="same@example.com")
    assert [a["promo_id"] for a in again.adjustments] == ["auto-mugs"]


def test_usage_limit_race_is_rechecked_when_placing(db):
    _setup_promos(db, usage_limit=1)
    summaries = []
    for session_id in ("s1", "s2"):
        with db.session() as s:
            carts.add_item(s, "m1", session_id, "TENT-1")
            carts.apply_coupon(s, "m1", session_id, "WELCOME10")
            summaries.append(checkout.prepare(s, "m1", session_id, email=f"{session_id}@example.com"))
    checkout.confirm(db, "m1", "s1", summaries[0].checkout_id, "k1", TestProvider())
    with pytest.raises(InvalidRequest, match="run out"):
        checkout.confirm(db, "m1", "s2", summaries[1].checkout_id, "k2", TestProvider())


def test_totals_equal_sum_of_line_snapshots_minus_discount_plus_shipping(db):
    _setup_promos(db)
    with db.session() as s:
        carts.add_item(s, "m1", "sess", "MUG-1", 3)
        carts.apply_coupon(s, "m1", "sess", "WELCOME10")
        summary = checkout.prepare(s, "m1", "sess", email="a@example.com")
    order = checkout.confirm(db, "m1", "sess", summary.checkout_id, "k", TestProvider())
    lines_total = sum(line.unit_price_minor * line.quantity for line in order.lines)
    assert order.total_minor == lines_total - order.discount_minor + order.shipping_minor
    assert Decimal(order.discount_minor) == Decimal(375)  # 10% of 37.50 beats 2.00 off a mug
