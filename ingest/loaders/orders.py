"""Order records (``orders*.json`` / ``orders*.jsonl``, DESIGN.md format) with per-order errors."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ingest.context import LoadContext
from ingest.jsondata import JsonDocument
from ingest.records import LoadResult, OrderItem, OrderRecord, RowError, SourceFile, UnreadableFile
from ingest.sanitize import clean_line
from ingest.validate import as_text, parse_price
from shop.errors import MoneyError
from shop.money import Money, check_currency

STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled", "returned")
_STATUS_ALIASES = {"canceled": "cancelled", "complete": "delivered", "completed": "delivered"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_KNOWN = {
    "id",
    "order_id",
    "email",
    "status",
    "placed_at",
    "currency",
    "items",
    "shipping_address",
    "carrier",
    "tracking_number",
    "shipping",
    "discount",
    "customer_id",
}


def looks_like_orders(items: Any) -> bool:
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        return False
    keys = set(items[0])
    return "items" in keys and bool(keys & {"status", "email"})


def json_safe(value: Any) -> Any:
    """JSON columns take no Decimal: exact numbers are kept as their decimal strings."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def parse_timestamp(raw: Any) -> datetime | None:
    text = as_text(raw).strip()
    if not text:
        return None
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _money(raw: Any, currency: str) -> Money:
    money, problem = parse_price(as_text(raw), currency)
    if money is None:
        raise MoneyError(problem or "not an amount")
    return money


def validate_order(
    item: Mapping[str, Any], line: int, source: SourceFile, ctx: LoadContext
) -> OrderRecord | RowError:
    problems: list[str] = []
    order_id = clean_line(as_text(item.get("id") or item.get("order_id")))
    if not order_id:
        problems.append("id is empty: every order needs its order number (e.g. A1001)")
    elif len(order_id) > 64:
        problems.append("id is longer than 64 characters")
    email = clean_line(as_text(item.get("email"))).lower()
    if not _EMAIL.match(email):
        problems.append(
            f"email {email!r} is not an email address: the shopper's email is needed to look the order up"
        )
    raw_status = clean_line(as_text(item.get("status"))).lower()
    status = _STATUS_ALIASES.get(raw_status, raw_status)
    if status not in STATUSES:
        problems.append(f"status {raw_status!r} is not one of: {', '.join(STATUSES)}")
    placed_at = parse_timestamp(item.get("placed_at"))
    if placed_at is None:
        problems.append(
            f"placed_at {as_text(item.get('placed_at'))!r} is not a date and time: write it like 2024-05-01T14:30:00Z"
        )
    currency = as_text(item.get("currency")).strip() or ctx.default_currency or ""
    try:
        currency = check_currency(currency)
    except MoneyError:
        problems.append(f"currency {currency!r} is not an ISO 4217 code: write it like EUR")
        currency = ""
    items: list[OrderItem] = []
    raw_items = item.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        problems.append("items is empty: list the bought items as [{sku, quantity, unit_price}]")
    else:
        for index, raw in enumerate(raw_items, start=1):
            parsed = _item(raw, index, currency)
            if isinstance(parsed, str):
                problems.append(parsed)
            else:
                items.append(parsed)
    shipping_minor = discount_minor = 0
    if currency:
        for key in ("shipping", "discount"):
            if item.get(key) not in (None, ""):
                try:
                    amount = _money(item[key], currency).minor
                except MoneyError as exc:
                    problems.append(f"{key}: {exc}")
                    continue
                if key == "shipping":
                    shipping_minor = amount
                else:
                    discount_minor = amount
    if problems or placed_at is None:
        return RowError(source.name, line, "; ".join(problems))
    address = item.get("shipping_address") or {}
    return OrderRecord(
        order_id=order_id,
        email=email,
        status=status,
        placed_at=placed_at,
        currency=currency,
        items=items,
        shipping_address=json_safe(address)
        if isinstance(address, dict)
        else {"text": clean_line(as_text(address))},
        carrier=clean_line(as_text(item.get("carrier"))) or None,
        tracking_number=clean_line(as_text(item.get("tracking_number"))) or None,
        shipping_minor=shipping_minor,
        discount_minor=discount_minor,
        customer_external_id=clean_line(as_text(item.get("customer_id"))) or None,
        extra=json_safe({k: v for k, v in item.items() if k not in _KNOWN}),
        source_file=source.name,
        source_line=line,
    )


def _item(raw: Any, index: int, currency: str) -> OrderItem | str:
    where = f"items[{index}]"
    if not isinstance(raw, dict):
        return f'{where} is not an object: write {{"sku", "quantity", "unit_price"}}'
    sku = clean_line(as_text(raw.get("sku")))
    if not sku:
        return f"{where}.sku is empty: name the product id that was bought"
    quantity = raw.get("quantity")
    if (
        isinstance(quantity, bool)
        or not isinstance(quantity, int | str | Decimal)
        or not str(quantity).strip().isdigit()
        or int(str(quantity)) < 1
    ):
        return f"{where}.quantity {as_text(quantity)!r} must be a whole number of at least 1"
    if not currency:
        return f"{where}.unit_price cannot be read without a valid currency"
    try:
        price = _money(raw.get("unit_price"), currency)
    except MoneyError as exc:
        return f"{where}.unit_price: {exc}"
    title = clean_line(as_text(raw.get("title")))
    attributes = raw.get("attributes") if isinstance(raw.get("attributes"), dict) else {}
    return OrderItem(
        sku=sku, quantity=int(str(quantity)), unit_price=price, title=title, attributes=json_safe(attributes)
    )


def load(doc: JsonDocument, source: SourceFile, ctx: LoadContext) -> LoadResult:
    rows = doc.rows("orders") if isinstance(doc.data, dict) else doc.rows()
    if isinstance(doc.data, dict) and not rows and ("id" in doc.data or "order_id" in doc.data):
        rows = [(1, doc.data)]
    if not rows and not doc.line_errors:
        raise UnreadableFile(
            f"{source.name}: no orders found: write one JSON object per order (see DESIGN.md)"
        )
    if len(rows) > ctx.max_rows:
        raise UnreadableFile(
            f"{source.name} has more than {ctx.max_rows:,} orders: split the file or raise SHOPAGENT_MAX_ROWS"
        )
    result = LoadResult(loader="orders", errors=list(doc.line_errors))
    seen: dict[str, int] = {}
    for line, item in rows:
        if not isinstance(item, dict):
            result.errors.append(
                RowError(source.name, line, "this entry is not a JSON object: write one order per {...}")
            )
            continue
        outcome = validate_order(item, line, source, ctx)
        if isinstance(outcome, RowError):
            result.errors.append(outcome)
        elif outcome.order_id in seen:
            result.errors.append(
                RowError(
                    source.name,
                    line,
                    f"order {outcome.order_id!r} already appears on line {seen[outcome.order_id]}",
                )
            )
        else:
            seen[outcome.order_id] = line
            result.orders.append(outcome)
    return result
