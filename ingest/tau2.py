"""τ²-bench retail database (``db.json``): product types with variant items, users, orders.

The file is recognised by its shape (``products``, ``users`` and ``orders`` objects keyed
by id) whatever its name. It maps onto the store like this:

- each variant item is a product row: ``sku`` = item id, ``parent_sku`` = product id,
  ``attributes`` = options; an unavailable item keeps its row with ``stock = 0``;
- each user is a customer: ``external_id`` = user id, payment methods by id, gift-card
  balances in minor units (``balance_minor``);
- each order keeps its id (``#W2611340``), its status string verbatim, one line per item,
  and its fulfilments and payment history (amounts in minor units) in ``Order.extra``.

Prices are floats in the file; they are read as the decimals written there (never through
a binary float) and stored as integer cents. :func:`import_database` writes a database
file straight into a store (the eval runner's path); :func:`load` is the same mapping as an
ingest loader.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from ingest.context import LoadContext
from ingest.jsondata import JsonDocument
from ingest.records import (
    CustomerRecord,
    LoadResult,
    OrderItem,
    OrderRecord,
    ProductRecord,
    RowError,
    SourceFile,
    StoreConfig,
    UnreadableFile,
)
from ingest.sanitize import clean_line
from shop.db import Database
from shop.errors import MoneyError
from shop.models import Customer, Merchant, Order, OrderLine, Product
from shop.money import Money

DEFAULT_MERCHANT = "tau2-retail"
PLATFORM = "tau2"
CURRENCY = "USD"
PAYMENT_SOURCES = ("gift_card", "paypal", "credit_card")
ADDRESS_FIELDS = ("address1", "address2", "city", "country", "state", "zip")
PLACED_AT = datetime(2024, 1, 1, tzinfo=UTC)
"""τ² orders carry no date; one fixed stamp keeps imports reproducible."""
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
T = TypeVar("T")
_KEY = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:\s*\{')


class RowProblem(ValueError):
    """One product, user or order of the file is malformed; the message says how."""


def is_tau2_db(data: Any) -> bool:
    if not isinstance(data, dict) or not {"products", "users", "orders"} <= data.keys():
        return False
    if not all(isinstance(data[k], dict) for k in ("products", "users", "orders")):
        return False
    first = next(iter(data["products"].values()), None)
    return first is None or (isinstance(first, dict) and "variants" in first)


_HEAD = re.compile(r'^\ufeff?\s*\{\s*"(products|users|orders)"\s*:\s*\{')


def default_merchant(paths: list[Path]) -> str | None:
    """``tau2-retail`` when the files to ingest include a τ² database, so that a plain
    ``shopagent ingest db.json`` puts it in a merchant of its own (the loader still decides
    by the whole content; this only looks at the start of each file)."""
    for path in paths:
        try:
            with path.open("rb") as handle:
                head = handle.read(4096).decode("utf-8", "ignore")
        except OSError:
            continue
        if _HEAD.match(head) and '"variants"' in head:
            return DEFAULT_MERCHANT
    return None


def matches(doc: JsonDocument, _source: SourceFile) -> bool:
    return not doc.jsonl and is_tau2_db(doc.data)


def load(doc: JsonDocument, source: SourceFile, ctx: LoadContext) -> LoadResult:
    """The ingest loader: records for the pipeline to store (see :func:`import_database`)."""
    return records_from(doc.data, source.name, _line_finder(doc.text), policy_text(source.path))


def policy_text(db_path: Path) -> str:
    """The store's policy, when a ``policy.md`` sits beside the database (as in τ²'s data)."""
    policy = db_path.parent / "policy.md"
    try:
        return policy.read_text(encoding="utf-8") if policy.is_file() else ""
    except OSError:
        return ""


def _line_finder(text: str) -> Callable[[str], int]:
    """Line of the first ``"ID": {`` of each id, found in one pass over the file."""
    first: dict[str, int] = {}
    line, last = 1, 0
    for match in _KEY.finditer(text):
        line += text.count("\n", last, match.start())
        last = match.start()
        first.setdefault(match.group(1), line)
    return lambda key: first.get(key, 0)


# -- mapping ---------------------------------------------------------------------------


def _text(value: Any, what: str, limit: int = 300) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RowProblem(f"{what} must be non-empty text")
    if len(value) > limit:
        raise RowProblem(f"{what} is longer than {limit} characters")
    return value


def _money(value: Any, what: str) -> Money:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise RowProblem(f"{what} must be a number like 19.99")
    try:
        # str() of a float is its shortest round-trip decimal: exactly what the file says.
        money = Money.parse(Decimal(str(value)), CURRENCY)
    except MoneyError as exc:
        raise RowProblem(f"{what}: {exc}") from None
    if money.minor < 0:
        raise RowProblem(f"{what} must not be negative")
    return money


def _address(value: Any, what: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise RowProblem(f"{what} must be an object with {', '.join(ADDRESS_FIELDS)}")
    address = {name: value.get(name, "") for name in ADDRESS_FIELDS}
    for name, part in address.items():
        if not isinstance(part, str) or len(part) > 200:
            raise RowProblem(f"{what}.{name} must be text of at most 200 characters")
    return {name: clean_line(part) for name, part in address.items()}


def _options(value: Any, what: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise RowProblem(f"{what} must be an object of text values")
    return {clean_line(str(k)): clean_line(v) for k, v in value.items()}


def product_records(product_id: str, product: Any, file: str, line: int) -> list[ProductRecord]:
    if not isinstance(product, Mapping):
        raise RowProblem("a product must be an object with name, product_id and variants")
    if product.get("product_id", product_id) != product_id:
        raise RowProblem(f"product_id {product.get('product_id')!r} differs from its key {product_id!r}")
    name = clean_line(_text(product.get("name"), "name"))
    variants = product.get("variants")
    if not isinstance(variants, Mapping) or not variants:
        raise RowProblem(f"product {product_id} has no variants")
    records = []
    for item_id, variant in variants.items():
        where = f"product {product_id} variant {item_id}"
        if not isinstance(variant, Mapping) or variant.get("item_id", item_id) != item_id:
            raise RowProblem(f"{where} must be an object whose item_id is its key")
        available = variant.get("available")
        if not isinstance(available, bool):
            raise RowProblem(f"{where}: available must be true or false")
        records.append(
            ProductRecord(
                sku=_text(item_id, f"{where} item id", 128),
                title=name,
                price=_money(variant.get("price"), f"{where} price"),
                parent_sku=product_id,
                category=name,
                stock=None if available else 0,
                attributes=_options(variant.get("options"), f"{where} options"),
                source_file=file,
                source_line=line,
            )
        )
    return records


def _payment_method(pm_id: str, method: Any, user_id: str) -> dict[str, Any]:
    where = f"user {user_id} payment method {pm_id}"
    if not isinstance(method, Mapping) or method.get("source") not in PAYMENT_SOURCES:
        raise RowProblem(f"{where}: source must be one of {', '.join(PAYMENT_SOURCES)}")
    record: dict[str, Any] = {"source": method["source"], "id": pm_id}
    for key in ("brand", "last_four"):
        if key in method:
            record[key] = _text(method[key], f"{where} {key}", 40)
    if method["source"] == "gift_card":
        record["balance_minor"] = _money(method.get("balance"), f"{where} balance").minor
    return record


def customer_record(user_id: str, user: Any, file: str, line: int) -> CustomerRecord:
    if not isinstance(user, Mapping) or user.get("user_id", user_id) != user_id:
        raise RowProblem("a user must be an object whose user_id is its key")
    email = _text(user.get("email"), "email", 320).strip().lower()
    if not _EMAIL.match(email):
        raise RowProblem(f"email {email!r} is not an email address")
    name = user.get("name")
    if not isinstance(name, Mapping):
        raise RowProblem("name must be an object with first_name and last_name")
    methods = user.get("payment_methods")
    if not isinstance(methods, Mapping):
        raise RowProblem("payment_methods must be an object keyed by payment method id")
    orders = user.get("orders", [])
    if not isinstance(orders, list) or not all(isinstance(o, str) for o in orders):
        raise RowProblem("orders must be a list of order ids")
    return CustomerRecord(
        email=email,
        external_id=_text(user_id, "user id", 200),
        first_name=clean_line(_text(name.get("first_name"), "first_name", 200)),
        last_name=clean_line(_text(name.get("last_name"), "last_name", 200)),
        address=_address(user.get("address"), "address"),
        payment_methods={pm: _payment_method(pm, m, user_id) for pm, m in methods.items()},
        profile={"order_ids": list(orders)},
        source_file=file,
        source_line=line,
    )


def order_record(
    order_id: str, order: Any, users: Mapping[str, CustomerRecord], file: str, line: int
) -> OrderRecord:
    if not isinstance(order, Mapping) or order.get("order_id", order_id) != order_id:
        raise RowProblem("an order must be an object whose order_id is its key")
    user = users.get(str(order.get("user_id")))
    if user is None:
        raise RowProblem(f"user {order.get('user_id')!r} of order {order_id} is not in the file's users")
    raw_items = order.get("items")
    if not isinstance(raw_items, list):
        raise RowProblem("items must be a list")
    items = []
    for index, item in enumerate(raw_items, start=1):
        if not isinstance(item, Mapping):
            raise RowProblem(f"item {index} must be an object")
        items.append(
            OrderItem(
                sku=_text(item.get("item_id"), f"item {index} item_id", 128),
                quantity=1,
                unit_price=_money(item.get("price"), f"item {index} price"),
                title=clean_line(_text(item.get("name"), f"item {index} name")),
                attributes=_options(item.get("options", {}), f"item {index} options"),
            )
        )
    history = []
    for index, entry in enumerate(order.get("payment_history") or [], start=1):
        if not isinstance(entry, Mapping) or entry.get("transaction_type") not in ("payment", "refund"):
            raise RowProblem(f"payment_history entry {index} must be a payment or a refund")
        history.append(
            {
                "transaction_type": entry["transaction_type"],
                "amount_minor": _money(entry.get("amount"), f"payment_history entry {index} amount").minor,
                "payment_method_id": _text(entry.get("payment_method_id"), "payment_method_id", 200),
            }
        )
    fulfillments = order.get("fulfillments") or []
    if not isinstance(fulfillments, list) or not all(isinstance(f, Mapping) for f in fulfillments):
        raise RowProblem("fulfillments must be a list of objects")
    tracking = [t for f in fulfillments for t in f.get("tracking_id", [])]
    extra: dict[str, Any] = {
        "user_id": user.external_id,
        "fulfillments": [json.loads(json.dumps(f, default=str)) for f in fulfillments],
        "payment_history": history,
    }
    return OrderRecord(
        order_id=_text(order_id, "order id", 64),
        email=user.email,
        status=_text(order.get("status"), "status", 32),
        placed_at=PLACED_AT,
        currency=CURRENCY,
        items=items,
        shipping_address=_address(order.get("address"), "address"),
        tracking_number=str(tracking[0]) if tracking else None,
        customer_external_id=user.external_id,
        extra=extra,
        source_file=file,
        source_line=line,
    )


def records_from(
    data: Any, file: str, line_of: Callable[[str], int] = lambda _k: 0, policy: str = ""
) -> LoadResult:
    """Every product, user and order of a τ² database as records; malformed ones as errors."""
    if not is_tau2_db(data):
        raise UnreadableFile(f"{file}: not a τ²-bench retail database (products, users and orders objects)")
    result = LoadResult(loader=PLATFORM)
    result.store = StoreConfig(
        name="τ²-bench retail",
        currency=CURRENCY,
        languages=["en"],
        handoff_contact="a human agent (the conversation is transferred)",
        settings={"platform": PLATFORM, **({"policy": policy} if policy else {})},
    )

    def guarded(key: str, build: Callable[[int], T]) -> T | None:
        line = line_of(key)
        try:
            return build(line)
        except RowProblem as exc:
            result.errors.append(RowError(file, line, str(exc)))
            return None

    for product_id, product in data["products"].items():
        result.products.extend(guarded(product_id, partial(product_records, product_id, product, file)) or [])
    users: dict[str, CustomerRecord] = {}
    for user_id, user in data["users"].items():
        customer = guarded(user_id, partial(customer_record, user_id, user, file))
        if customer is not None:
            users[user_id] = customer
    result.customers = list(users.values())
    known_items = {p.sku for p in result.products}
    for order_id, order in data["orders"].items():
        record = guarded(order_id, partial(order_record, order_id, order, users, file))
        if record is None:
            continue
        unknown = [item.sku for item in record.items if item.sku not in known_items]
        if unknown:
            result.errors.append(
                RowError(file, record.source_line, f"order {order_id}: unknown item ids {unknown}")
            )
            continue
        result.orders.append(record)
    return result


# -- writing straight to a store ---------------------------------------------------------


@dataclass(frozen=True)
class ImportSummary:
    merchant_id: str
    products: int
    """Product types (distinct parent ids)."""
    variants: int
    customers: int
    orders: int
    errors: list[RowError]


def read_database(path: Path) -> LoadResult:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableFile(f"{path}: cannot be read as UTF-8 text ({exc.__class__.__name__})") from None
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise UnreadableFile(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    return records_from(data, path.name, _line_finder(text), policy_text(path))


def import_database(db: Database, path: Path, merchant_id: str = DEFAULT_MERCHANT) -> ImportSummary:
    """Replace the merchant's catalog, customers and orders with those of a τ² database, in
    one transaction; :class:`UnreadableFile` (nothing changed) when the file is not one."""
    result = read_database(path)
    store = result.store or StoreConfig()
    with db.session() as session:
        merchant = session.get(Merchant, merchant_id)
        if merchant is None:
            merchant = Merchant(id=merchant_id)
            session.add(merchant)
        merchant.name = store.name or merchant_id
        merchant.currency = store.currency or CURRENCY
        merchant.languages = list(store.languages or ["en"])
        merchant.handoff_contact = store.handoff_contact or ""
        merchant.settings = {**(merchant.settings or {}), **store.settings}
        session.flush()
        write_records(session, merchant_id, result)
    return ImportSummary(
        merchant_id=merchant_id,
        products=len({p.parent_sku for p in result.products}),
        variants=len(result.products),
        customers=len(result.customers),
        orders=len(result.orders),
        errors=result.errors,
    )


def write_records(session: Session, merchant_id: str, result: LoadResult) -> None:
    """Bulk-write the records over whatever the merchant had (a platform export is the whole truth)."""
    old_orders = select(Order.id).where(Order.merchant_id == merchant_id)
    session.execute(delete(OrderLine).where(OrderLine.order_pk.in_(old_orders)))
    session.execute(delete(Order).where(Order.merchant_id == merchant_id))
    session.execute(delete(Customer).where(Customer.merchant_id == merchant_id))
    session.execute(delete(Product).where(Product.merchant_id == merchant_id))
    if result.products:
        session.execute(
            insert(Product),
            [
                {
                    **p.fields(),
                    "merchant_id": merchant_id,
                    "content_hash": p.content_hash,
                    "source_file": p.source_file,
                    "source_line": p.source_line,
                }
                for p in result.products
            ],
        )
    if result.customers:
        session.execute(
            insert(Customer),
            [
                {
                    "merchant_id": merchant_id,
                    "email": c.email,
                    "external_id": c.external_id,
                    "first_name": c.first_name,
                    "last_name": c.last_name,
                    "address": c.address,
                    "payment_methods": c.payment_methods,
                    "profile": c.profile,
                }
                for c in result.customers
            ],
        )
    customer_pk = dict(
        session.execute(
            select(Customer.external_id, Customer.id).where(Customer.merchant_id == merchant_id)
        ).all()
    )
    if result.orders:
        session.execute(
            insert(Order),
            [
                {
                    "merchant_id": merchant_id,
                    "order_id": o.order_id,
                    "email": o.email,
                    "customer_id": customer_pk.get(o.customer_external_id),
                    "status": o.status,
                    "placed_at": o.placed_at,
                    "currency": o.currency,
                    "subtotal_minor": sum(i.unit_price.minor * i.quantity for i in o.items),
                    "total_minor": sum(i.unit_price.minor * i.quantity for i in o.items),
                    "shipping_address": o.shipping_address,
                    "tracking_number": o.tracking_number,
                    "payment_provider": PLATFORM,
                    "payment_status": "paid",
                    "source": "import",
                    "extra": o.extra,
                }
                for o in result.orders
            ],
        )
    order_pk = dict(
        session.execute(select(Order.order_id, Order.id).where(Order.merchant_id == merchant_id)).all()
    )
    lines = [
        {
            "order_pk": order_pk[o.order_id],
            "sku": i.sku,
            "title": i.title,
            "unit_price_minor": i.unit_price.minor,
            "currency": i.unit_price.currency,
            "quantity": i.quantity,
            "attributes": i.attributes,
        }
        for o in result.orders
        for i in o.items
    ]
    if lines:
        session.execute(insert(OrderLine), lines)
