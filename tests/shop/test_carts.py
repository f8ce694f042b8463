import pytest

from shop import carts
from shop.errors import InvalidRequest, NotFound, OutOfStock


def test_add_view_and_server_prices(db):
    with db.session() as s:
        view = carts.add_item(s, "m1", "sess", "TENT-1", 2)
        view = carts.add_item(s, "m1", "sess", "MUG-1")
    assert view.quantities() == {"TENT-1": 2, "MUG-1": 1}
    assert view.subtotal.minor == 2 * 24900 + 1250
    assert view.to_dict()["subtotal"] == "510.50"


def test_add_accumulates_and_set_quantity_replaces(db):
    with db.session() as s:
        carts.add_item(s, "m1", "sess", "MUG-1", 2)
        carts.add_item(s, "m1", "sess", "MUG-1", 3)
        assert carts.view_cart(s, "m1", "sess").quantities() == {"MUG-1": 5}
        carts.set_quantity(s, "m1", "sess", "MUG-1", 1)
        assert carts.view_cart(s, "m1", "sess").quantities() == {"MUG-1": 1}
        carts.set_quantity(s, "m1", "sess", "MUG-1", 0)
        assert carts.view_cart(s, "m1", "sess").lines == []


@pytest.mark.parametrize("qty", [0, -1, 10_000, 11])
def test_quantity_limits(db, qty):
    with db.session() as s, pytest.raises(InvalidRequest):
        carts.add_item(s, "m1", "sess", "MUG-1", qty)


def test_unknown_sku_and_other_merchants_sku(db):
    with db.session() as s, pytest.raises(NotFound, match="unknown product"):
        carts.add_item(s, "m1", "sess", "NOPE", 1)


def test_out_of_stock_and_limited_stock(db):
    with db.session() as s:
        with pytest.raises(OutOfStock, match="out of stock"):
            carts.add_item(s, "m1", "sess", "SOLD-1", 1)
        with pytest.raises(OutOfStock, match="only 1"):
            carts.add_item(s, "m1", "sess", "LAMP-1", 2)


def test_wrong_currency_refused(db):
    with db.session() as s, pytest.raises(InvalidRequest, match="USD"):
        carts.add_item(s, "m1", "sess", "USD-1", 1)


def test_version_bumps_on_every_change_and_sessions_are_separate(db):
    with db.session() as s:
        v0 = carts.cart_version(s, "m1", "a")
        carts.add_item(s, "m1", "a", "MUG-1")
        carts.add_item(s, "m1", "a", "MUG-1")
        assert carts.cart_version(s, "m1", "a") == v0 + 2
        assert carts.view_cart(s, "m1", "b").lines == []


def test_remove_missing_line(db):
    with db.session() as s, pytest.raises(NotFound):
        carts.remove_item(s, "m1", "sess", "MUG-1")
