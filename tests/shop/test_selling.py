from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from shop import carts, checkout, offers, recommendations, wishlists
from shop.errors import InvalidRequest, NotFound, OutOfStock
from shop.models import Merchant, Offer, Order, OrderLine, Product
from shop.payments import TestProvider


@pytest.fixture
def shop_db(db):
    with db.session() as s:
        merchant = s.get(Merchant, "m1")
        merchant.settings = {
            **merchant.settings,
            "offers": [{"scope": "category", "targets": ["tents"], "max_percent": "10"}],
        }
        s.get(Product, 1).category = "tents"  # TENT-1
        s.add_all(
            [
                Product(
                    merchant_id="m1",
                    sku="TENT-2",
                    title="Ridge Tent",
                    price_minor=26900,
                    currency="EUR",
                    stock=4,
                    category="tents",
                    attributes={"persons": "2"},
                ),
                Product(
                    merchant_id="m1",
                    sku="TENT-3",
                    title="Family Tent",
                    price_minor=59900,
                    currency="EUR",
                    stock=2,
                    category="tents",
                    attributes={"persons": "6"},
                ),
                Product(
                    merchant_id="m1",
                    sku="PEG-1",
                    title="Tent Pegs",
                    price_minor=900,
                    currency="EUR",
                    stock=50,
                    category="accessories",
                ),
            ]
        )
        s.get(Product, 1).attributes = {"persons": "2"}
        for i, skus in enumerate(
            [["TENT-1", "PEG-1"], ["TENT-1", "PEG-1", "MUG-1"], ["TENT-1", "MUG-1"], ["TENT-1", "PEG-1"]]
        ):
            order = Order(
                merchant_id="m1",
                order_id=f"H{i}",
                email="h@example.com",
                status="delivered",
                currency="EUR",
                placed_at=datetime(2026, 9, 1, tzinfo=UTC),
            )
            order.lines = [
                OrderLine(sku=sku, title=sku, unit_price_minor=100, currency="EUR", quantity=1)
                for sku in skus
            ]
            s.add(order)
    return db


def test_wishlist_save_list_share_move_remove(shop_db):
    with shop_db.session() as s:
        view = wishlists.save(s, "m1", "session:a", "TENT-1")
        wishlists.save(s, "m1", "session:a", "TENT-1")  # saving twice keeps one
        wishlists.save(s, "m1", "session:a", "MUG-1")
        token = view["share_token"]
        assert [i["sku"] for i in wishlists.list_items(s, "m1", "session:a")["items"]] == ["TENT-1", "MUG-1"]
        shared = wishlists.shared(s, "m1", token)
        assert [i["sku"] for i in shared["items"]] == ["TENT-1", "MUG-1"] and "share_token" not in shared
        with pytest.raises(NotFound):
            wishlists.shared(s, "other-merchant", token)
        cart = wishlists.move_to_cart(s, "m1", "session:a", "a", "MUG-1")
        assert cart.quantities() == {"MUG-1": 1}
        assert [i["sku"] for i in wishlists.remove(s, "m1", "session:a", "TENT-1")["items"]] == []
        with pytest.raises(NotFound):
            wishlists.save(s, "m1", "session:a", "NOPE")


def test_move_to_cart_keeps_item_when_it_cannot_be_bought(shop_db):
    with shop_db.session() as s:
        wishlists.save(s, "m1", "session:a", "SOLD-1")
    with shop_db.session() as s, pytest.raises(OutOfStock):
        wishlists.move_to_cart(s, "m1", "session:a", "a", "SOLD-1")
    with shop_db.session() as s:
        assert [i["sku"] for i in wishlists.list_items(s, "m1", "session:a")["items"]] == ["SOLD-1"]


def test_offer_inside_limit_applies_at_checkout_and_is_logged(shop_db):
    with shop_db.session() as s:
        assert offers.make_offer(s, "m1", "a", "TENT-1", "7.5")["status"] == "offered"
        carts.add_item(s, "m1", "a", "TENT-1")
        summary = checkout.prepare(s, "m1", "a", email="a@example.com")
    assert summary.discount.minor == 1868  # 7.5% of 249.00 = 18.675 -> 18.68
    order = checkout.confirm(shop_db, "m1", "a", summary.checkout_id, "k", TestProvider())
    assert order.total_minor == 24900 - 1868
    with shop_db.session() as s:
        assert [o.status for o in s.scalars(select(Offer))] == ["used"]


def test_offer_over_limit_or_without_permission_refused_and_logged(shop_db):
    with shop_db.session() as s:
        with pytest.raises(InvalidRequest, match="at most 10"):
            offers.make_offer(s, "m1", "a", "TENT-1", "15")
        with pytest.raises(InvalidRequest, match="no discount"):
            offers.make_offer(s, "m1", "a", "MUG-1", "1")
    with shop_db.session() as s:
        assert [o.status for o in s.scalars(select(Offer))] == ["refused", "refused"]


def test_lowered_limit_is_enforced_when_preparing(shop_db):
    with shop_db.session() as s:
        offers.make_offer(s, "m1", "a", "TENT-1", "10")
        s.get(Merchant, "m1").settings = {
            **s.get(Merchant, "m1").settings,
            "offers": [{"scope": "category", "targets": ["tents"], "max_percent": "2"}],
        }
        carts.add_item(s, "m1", "a", "TENT-1")
        assert checkout.prepare(s, "m1", "a", email="a@example.com").discount.minor == 498


def test_also_bought_uses_order_history(shop_db):
    with shop_db.session() as s:
        recs = recommendations.also_bought(s, "m1", "TENT-1")
    assert [r["sku"] for r in recs] == ["PEG-1", "MUG-1"]


def test_similar_prefers_shared_attributes_and_close_price(shop_db):
    with shop_db.session() as s:
        recs = recommendations.similar(s, "m1", "TENT-1")
    assert [r["sku"] for r in recs] == ["TENT-2", "TENT-3"]


def test_compare_builds_attribute_table(shop_db):
    with shop_db.session() as s:
        table = recommendations.compare(s, "m1", ["TENT-1", "TENT-3"])
    rows = {r["attribute"]: r["values"] for r in table["rows"]}
    assert rows["price"] == ["249.00 EUR", "599.00 EUR"]
    assert rows["persons"] == ["2", "6"]
