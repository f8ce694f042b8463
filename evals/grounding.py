"""Grounding: every price and product a reply names must come from a tool result.

Money is recognised in the formats shops and locales write it (``19.99``, ``19,99``,
``€19.99``, ``19.99 EUR``, ``1 299,00 €``, Arabic-Indic digits) and compared as exact
decimals. Products are recognised by SKU and by title (without the variant suffix) from
the store's catalog, plus anything shaped like a SKU that the store never showed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

_DIGITS = str.maketrans(
    "٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹０１２３４５６７８９٫٬．",
    "012345678901234567890123456789.,.",
)
_INVISIBLE = re.compile(r"[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")
_GROUP_SPACE = re.compile(r"(?<=\d)(?:[\u00a0\u202f\u2009](?=\d{3}(?!\d))| (?=\d{3}[.,]\d{2}(?!\d)))")
_NUMBER = r"\d{1,3}(?:[,.\u00a0]\d{3})+(?:[.,]\d{1,2})?(?!\d)|\d+(?:[.,]\d{1,2})?(?!\d)"
_CURRENCY = (
    r"€|\$|£|¥|₺|zł|TL|EUR|USD|GBP|CHF|PLN|SEK|NOK|DKK|CZK|TRY|CNY|RMB|JPY|AED|SAR|"
    r"euros?|eurų|eurai|eurus|eurą|avro|欧元|歐元|يورو|یورو|ليرة|lira|dollars?|元"
)
_MONEY = re.compile(
    rf"(?:(?<![\w.,])(?P<pre>{_CURRENCY})\s?(?P<n1>{_NUMBER}))"
    rf"|(?:(?<![\w.,])(?P<n2>{_NUMBER})\s?(?P<post>{_CURRENCY})(?![a-zA-Z]))"
    rf"|(?:(?<![\w.,:/-])(?P<n3>\d+[.,]\d{{2}})(?!\d|[.,:/-]\d|\s?(?:%|kg|g\b|mm|cm|km|ml|l\b|m\b|mah|w\b)))",
    re.IGNORECASE,
)
_ANY_NUMBER = re.compile(_NUMBER)
_SKU_SHAPE = re.compile(r"(?<![\w-])[A-Z][A-Z0-9]+(?:-[A-Z0-9]+)+(?![\w-])")
_VARIANT = re.compile(r"\s*\([^()]*(?:\([^()]*\)[^()]*)*\)\s*$")
PRICE_MULTIPLES = range(2, 11)
"""A price times a quantity up to the per-line limit counts as grounded (``2 x 54.90``)."""


def normalize(text: str) -> str:
    """ASCII digits and separators, no bidi marks, digit-group spaces as NBSP."""
    text = _INVISIBLE.sub("", text.translate(_DIGITS))
    return _GROUP_SPACE.sub("\u00a0", text)


def parse_number(text: str) -> set[Decimal]:
    """The values a written number can mean (``1,500`` may be 1500 or 1.5)."""
    text = text.replace("\u00a0", "")
    values: set[Decimal] = set()
    try:
        if "," in text and "." in text:
            decimal_sep = "," if text.rfind(",") > text.rfind(".") else "."
            group_sep = "." if decimal_sep == "," else ","
            values.add(Decimal(text.replace(group_sep, "").replace(decimal_sep, ".")))
        elif "," in text or "." in text:
            sep = "," if "," in text else "."
            head, _, tail = text.rpartition(sep)
            if text.count(sep) > 1:
                values.add(Decimal(text.replace(sep, "")))
            elif len(tail) == 3:
                values.add(Decimal(head + tail))
                values.add(Decimal(f"{head}.{tail}"))
            else:
                values.add(Decimal(f"{head}.{tail}"))
        else:
            values.add(Decimal(text))
    except InvalidOperation:
        return set()
    return {v.quantize(Decimal("0.01")) for v in values}


@dataclass(frozen=True)
class Amount:
    text: str
    values: frozenset[Decimal]


def money_amounts(text: str) -> list[Amount]:
    """Every money amount written in ``text``."""
    found: list[Amount] = []
    for match in _MONEY.finditer(normalize(text)):
        number = match.group("n1") or match.group("n2") or match.group("n3")
        values = parse_number(number)
        if values:
            found.append(Amount(match.group(0).strip(), frozenset(values)))
    return found


def numbers_in(text: str) -> set[Decimal]:
    """Every number in ``text`` under every reading, for the set of grounded values."""
    values: set[Decimal] = set()
    for match in _ANY_NUMBER.finditer(normalize(text)):
        values |= parse_number(match.group(0))
    return values


def result_text(result: Any) -> str:
    if isinstance(result, str):
        return result
    try:
        return json.dumps(result, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(result)


def _price_values(result: Any) -> set[Decimal]:
    """Values of fields whose name says they are a price (for quantity multiples)."""
    found: set[Decimal] = set()
    if isinstance(result, dict):
        for key, value in result.items():
            if (
                "price" in str(key).lower()
                and isinstance(value, str | int | float)
                and not isinstance(value, bool)
            ):
                found |= parse_number(str(value))
            else:
                found |= _price_values(value)
    elif isinstance(result, list):
        for item in result:
            found |= _price_values(item)
    return found


@dataclass
class Evidence:
    """What the conversation has shown so far: tool results and the shopper's own words."""

    text: str = ""
    lowered: str = ""
    numbers: set[Decimal] = field(default_factory=set)

    def add_result(self, result: Any) -> None:
        text = result_text(result)
        self.text += "\n" + text
        self.lowered += "\n" + text.lower()
        self.numbers |= numbers_in(text)
        for price in _price_values(result):
            self.numbers |= {price * k for k in PRICE_MULTIPLES}

    def add_user(self, message: str) -> None:
        # The shopper's own numbers ("under 50 EUR") and names may be repeated back.
        self.lowered += "\n" + message.lower()
        self.numbers |= numbers_in(message)


@dataclass(frozen=True)
class Catalog:
    """The store's products, to recognise product names in replies."""

    titles: dict[str, str] = field(default_factory=dict)
    """sku -> title."""
    parents: dict[str, str] = field(default_factory=dict)
    """sku -> parent id, for variants."""

    def names(self) -> set[str]:
        return set(self.titles) | set(self.titles.values()) | {base_title(t) for t in self.titles.values()}

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        names = sorted({n for n in self.names() if len(n) >= 4}, key=len, reverse=True)
        if not names:
            return None
        return re.compile(
            r"(?<![\w-])(?:" + "|".join(re.escape(n) for n in names) + r")(?![\w-])", re.IGNORECASE
        )

    def mentions(self, reply: str) -> set[str]:
        """Catalog SKUs and titles named in ``reply``, as written there."""
        if self._pattern is None:
            return set()
        return {m.group(0) for m in self._pattern.finditer(reply)}


def base_title(title: str) -> str:
    """``Nordvik Alp 2 Trekking Tent (Forest Green)`` -> ``Nordvik Alp 2 Trekking Tent``."""
    return _VARIANT.sub("", title).strip() or title


def ungrounded(reply: str, evidence: Evidence, catalog: Catalog) -> list[str]:
    """Reasons the reply is not grounded (empty when every price and product is)."""
    problems: list[str] = []
    for amount in money_amounts(reply):
        if not amount.values & evidence.numbers:
            problems.append(f"price {amount.text!r} appears in no tool result")
    named = catalog.mentions(reply)
    for name in sorted(named, key=str.lower):
        if name.lower() not in evidence.lowered:
            problems.append(f"product {name!r} was never returned by a tool")
    known = {n.lower() for n in named}
    for sku in set(_SKU_SHAPE.findall(reply)):
        if sku.lower() not in known and sku.lower() not in evidence.lowered:
            problems.append(f"product id {sku!r} was never returned by a tool")
    return problems
