from decimal import Decimal

import pytest

from shop.errors import MoneyError
from shop.money import Money, check_currency, decimals, total


def test_parse_exact_minor_units():
    assert Money.parse("19.99", "EUR") == Money(1999, "EUR")
    assert Money.parse("0.1", "eur").minor == 10
    assert Money.parse("1 234.50", "EUR").minor == 123450


@pytest.mark.parametrize(
    ("cur", "places", "text", "minor"),
    [("JPY", 0, "1500", 1500), ("KWD", 3, "1.234", 1234), ("EUR", 2, "7", 700)],
)
def test_currency_decimals(cur, places, text, minor):
    assert decimals(cur) == places
    assert Money.parse(text, cur).minor == minor


def test_too_many_decimals_is_an_error_not_rounding():
    with pytest.raises(MoneyError, match="decimal places"):
        Money.parse("19.999", "EUR")
    with pytest.raises(MoneyError):
        Money.parse("10.5", "JPY")


@pytest.mark.parametrize("bad", ["abc", "", "NaN", "Infinity", "1e400x"])
def test_bad_amounts(bad):
    with pytest.raises(MoneyError):
        Money.parse(bad, "EUR")


def test_floats_refused():
    with pytest.raises(MoneyError, match="float"):
        Money.parse(19.99, "EUR")  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        Money(19.99, "EUR")  # type: ignore[arg-type]


def test_unknown_currency():
    with pytest.raises(MoneyError, match="ISO 4217"):
        check_currency("EURO")
    with pytest.raises(MoneyError):
        Money(100, "XXQ")


def test_arithmetic_and_mixing_currencies():
    a, b = Money(1999, "EUR"), Money(1, "EUR")
    assert a + b == Money(2000, "EUR")
    assert a * 3 == Money(5997, "EUR")
    assert 2 * b == Money(2, "EUR")
    assert a - b > b
    with pytest.raises(MoneyError, match="cannot combine"):
        a + Money(1, "USD")
    with pytest.raises(MoneyError):
        a * 1.5  # type: ignore[operator]
    assert total([a, b], "EUR") == Money(2000, "EUR")
    assert total([], "JPY") == Money(0, "JPY")


def test_rounding_half_up_for_computed_amounts():
    assert Money(1999, "EUR").percent(10) == Money(200, "EUR")  # 199.9 -> 200
    assert Money(1005, "EUR").percent(50) == Money(503, "EUR")  # 502.5 -> 503
    assert Money.from_decimal(Decimal("2.345"), "EUR") == Money(235, "EUR")
    assert Money.from_decimal(Decimal("2.3449"), "KWD") == Money(2345, "KWD")


def test_formatting():
    m = Money(123456, "EUR")
    assert m.to_str() == "1234.56"
    assert str(m) == "1234.56 EUR"
    assert "1,234.56" in m.format("en")
    assert "1234,56" in m.format("lt").replace("\u00a0", "").replace(" ", "")
    assert Money(1500, "JPY").to_str() == "1500"
    assert Money(1234, "KWD").to_str() == "1.234"
    assert m.format("not-a-locale")  # falls back instead of failing
