"""Exact money: integer minor units with an ISO 4217 currency.

Floats never touch money. Amounts come in as decimal strings (or ``Decimal``), are
checked against the currency's number of decimals (0 for JPY, 3 for KWD, 2 for EUR) and
stored as integers of the smallest unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel.core import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision, list_currencies

from shop.errors import MoneyError


@lru_cache(maxsize=1)
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def check_currency(code: str) -> str:
    """Return the upper-cased ISO 4217 code or raise :class:`MoneyError`."""
    if not isinstance(code, str):
        raise MoneyError(f"currency must be a 3-letter ISO 4217 code, got {code!r}")
    up = code.strip().upper()
    if len(up) != 3 or up not in _known_currencies():
        raise MoneyError(f"unknown currency {code!r}: use a 3-letter ISO 4217 code such as EUR")
    return up


def decimals(currency: str) -> int:
    """Number of decimal places of the currency's minor unit."""
    return int(get_currency_precision(check_currency(currency)))


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An amount in minor units (cents) of one currency."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise MoneyError(f"minor units must be an integer, got {type(self.minor).__name__}")
        object.__setattr__(self, "currency", check_currency(self.currency))

    # -- construction -------------------------------------------------------------
    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def parse(cls, amount: str | int | Decimal, currency: str) -> Money:
        """Parse a decimal string exactly; more decimals than the currency has is an error."""
        if isinstance(amount, float):
            raise MoneyError("money must not be a float: pass a decimal string such as '19.99'")
        if isinstance(amount, bool):
            raise MoneyError(f"not an amount: {amount!r}")
        text = str(amount).strip().replace("\u00a0", "").replace(" ", "")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise MoneyError(f"not a decimal amount: {amount!r} (write it like 19.99)") from None
        if not value.is_finite():
            raise MoneyError(f"not a finite amount: {amount!r}")
        places = decimals(currency)
        scaled = value.scaleb(places)
        if scaled != scaled.to_integral_value():
            raise MoneyError(
                f"{amount!r} has more than {places} decimal places, which {currency.upper()} does not have"
            )
        return cls(int(scaled), currency)

    @classmethod
    def from_decimal(cls, value: Decimal, currency: str, rounding: str = ROUND_HALF_UP) -> Money:
        """Round a computed decimal (e.g. a percentage) to the currency's minor unit."""
        places = decimals(currency)
        scaled = value.scaleb(places).quantize(Decimal(1), rounding=rounding)
        return cls(int(scaled), currency)

    # -- views --------------------------------------------------------------------
    @property
    def amount(self) -> Decimal:
        return Decimal(self.minor).scaleb(-decimals(self.currency))

    def to_str(self) -> str:
        """Plain decimal string with the currency's decimals, e.g. ``'19.90'``."""
        places = decimals(self.currency)
        return f"{self.amount:.{places}f}"

    def format(self, locale: str = "en") -> str:
        """Localized display, e.g. ``€19.90`` (en) or ``19,90 €`` (lt)."""
        try:
            loc = Locale.parse(locale.replace("-", "_"))
        except (UnknownLocaleError, ValueError):
            loc = Locale.parse("en")
        return str(format_currency(self.amount, self.currency, locale=loc))

    def __str__(self) -> str:
        return f"{self.to_str()} {self.currency}"

    # -- arithmetic ---------------------------------------------------------------
    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise MoneyError(f"cannot combine money with {type(other).__name__}")
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            raise MoneyError("money can only be multiplied by an integer quantity")
        return Money(self.minor * factor, self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.minor >= other.minor

    def percent(self, pct: Decimal | int | str) -> Money:
        """``pct`` percent of this amount, rounded half-up to the minor unit."""
        share = (Decimal(self.minor) * Decimal(str(pct)) / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return Money(int(share), self.currency)


def total(items: list[Money], currency: str) -> Money:
    """Sum of amounts, all in ``currency``; the empty sum is zero."""
    result = Money.zero(currency)
    for item in items:
        result = result + item
    return result
