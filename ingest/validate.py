"""Turn one raw catalog row into a :class:`ProductRecord`, or say exactly what to fix.

Every message names the field and the fix, because the merchant reads it next to a line
number and corrects the spreadsheet, not the code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from ingest.context import LoadContext
from ingest.records import ProductRecord, RowError
from ingest.sanitize import clean_line, visible_html_text
from shop.errors import MoneyError
from shop.money import Money, check_currency

CORE_FIELDS = frozenset(
    {
        "id",
        "title",
        "price",
        "currency",
        "description",
        "category",
        "brand",
        "stock",
        "url",
        "image_url",
        "parent_id",
    }
)
ALIASES = {
    "sku": "id",
    "product_id": "id",
    "name": "title",
    "product_name": "title",
    "parent_sku": "parent_id",
    "parent": "parent_id",
    "item_group_id": "parent_id",
    "quantity": "stock",
    "qty": "stock",
    "inventory": "stock",
    "image": "image_url",
    "image_link": "image_url",
    "link": "url",
    "product_url": "url",
    "vendor": "brand",
    "product_type": "category",
}
_KEY = re.compile(r"[^0-9a-z]+")
_PRICE_WITH_CURRENCY = re.compile(r"^\s*([-+]?[0-9][0-9.]*)\s+([A-Za-z]{3})\s*$")
_HTML = re.compile(r"<[a-zA-Z/!][^>]*>")


def normalize_key(key: str) -> str:
    """``"Image URL "`` -> ``image_url``; aliases map common synonyms onto DESIGN.md's columns."""
    norm = _KEY.sub("_", key.strip().lower()).strip("_")
    return ALIASES.get(norm, norm)


def as_text(value: Any) -> str:
    """A cell as text: JSON numbers keep their exact digits, lists are joined."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(as_text(v) for v in value if v is not None)
    return str(value)


def parse_price(raw: str, currency: str | None) -> tuple[Money | None, str | None]:
    """Money from ``"19.99"`` or ``"19.99 EUR"``; otherwise the message to show."""
    text = raw.strip()
    if not text:
        return None, "price is empty: write the price as a decimal number such as 19.99"
    match = _PRICE_WITH_CURRENCY.match(text)
    if match:
        text, currency = match.group(1), match.group(2)
    if not currency:
        return (
            None,
            "currency is missing: add a currency column (ISO code such as EUR) or set currency in store.yaml",
        )
    try:
        code = check_currency(currency)
    except MoneyError:
        return None, f"currency {currency!r} is not an ISO 4217 code: write it like EUR or USD"
    try:
        value = Decimal(text)
    except InvalidOperation:
        hint = " (use a dot for decimals and no thousands separator)" if "," in text else ""
        return None, f"price {raw.strip()!r} is not a decimal number: write it like 19.99{hint}"
    if value < 0:
        return None, f"price {raw.strip()!r} is negative: prices must be 0 or more"
    try:
        return Money.parse(text, code), None
    except MoneyError as exc:
        return None, f"price {raw.strip()!r}: {exc}"


def parse_stock(raw: str) -> tuple[int | None, str | None]:
    text = raw.strip()
    if not text:
        return None, None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return (
            None,
            f"stock {text!r} is not a whole number: write the units on hand (e.g. 12) or leave it empty if you do not track stock",
        )
    if value != value.to_integral_value():
        return None, f"stock {text!r} is not a whole number: write the units on hand such as 12"
    if value < 0:
        return None, f"stock {text!r} is negative: write 0 for sold out"
    return int(value), None


def check_link(field: str, raw: str) -> tuple[str, str | None]:
    """Links must be http(s) or a store-relative path: ``javascript:``/``data:`` never reach a reply."""
    text = raw.strip()
    if not text:
        return "", None
    lowered = text.lower()
    if lowered.startswith(("https://", "http://", "/")) and not lowered.startswith("//"):
        return text, None
    return "", f"{field} {text[:60]!r} must be an http(s) address or a path starting with /"


def clean_description(raw: str) -> str:
    return visible_html_text(raw) if _HTML.search(raw) else clean_line(raw)


class ProductValidator:
    """Validates the rows of one file; remembers ids so duplicates point at the first use."""

    def __init__(self, ctx: LoadContext, file: str) -> None:
        self.ctx = ctx
        self.file = file
        self._seen: dict[str, int] = {}

    def validate(self, row: Mapping[str, Any], line: int) -> ProductRecord | RowError:
        """``row`` has normalized keys (see :func:`normalize_key`); values are raw cells."""
        problems: list[str] = []
        cells = {key: as_text(value) for key, value in row.items() if key}
        for key, value in cells.items():
            if len(value) > self.ctx.max_cell_chars:
                problems.append(
                    f"{key} is {len(value):,} characters long; the limit is {self.ctx.max_cell_chars:,} "
                    "(shorten it or raise SHOPAGENT_MAX_CELL_CHARS)"
                )
        if problems:
            return RowError(self.file, line, "; ".join(problems))

        sku = clean_line(cells.get("id", ""))
        title = clean_line(cells.get("title", ""))
        if not sku:
            problems.append("id is empty: give every row a unique product id (SKU)")
        elif len(sku) > 128:
            problems.append("id is longer than 128 characters: use a shorter SKU")
        elif sku in self._seen:
            problems.append(
                f"id {sku!r} is already used on line {self._seen[sku]}: ids must be unique "
                "(variants get their own id and share a parent_id)"
            )
        if not title:
            problems.append("title is empty: give the product a name")
        elif len(title) > 500:
            problems.append("title is longer than 500 characters: move the details to description")
        currency = cells.get("currency", "").strip() or self.ctx.default_currency
        price, price_problem = parse_price(cells.get("price", ""), currency)
        stock, stock_problem = parse_stock(cells.get("stock", ""))
        url, url_problem = check_link("url", cells.get("url", ""))
        image_url, image_problem = check_link("image_url", cells.get("image_url", ""))
        problems += [p for p in (price_problem, stock_problem, url_problem, image_problem) if p]
        parent = clean_line(cells.get("parent_id", "")) or None
        if parent and len(parent) > 128:
            problems.append("parent_id is longer than 128 characters")
        if sku and sku not in self._seen:
            self._seen[sku] = line
        if problems or price is None:
            return RowError(self.file, line, "; ".join(problems))
        attributes = {
            key: clean_line(value)
            for key, value in cells.items()
            if key not in CORE_FIELDS and clean_line(value)
        }
        return ProductRecord(
            sku=sku,
            title=title,
            price=price,
            parent_sku=parent if parent != sku else None,
            description=clean_description(cells.get("description", "")),
            category=clean_line(cells.get("category", "")),
            brand=clean_line(cells.get("brand", "")),
            stock=stock,
            url=url,
            image_url=image_url,
            attributes=attributes,
            source_file=self.file,
            source_line=line,
        )
