"""What loaders produce: validated records with provenance, and row-level errors.

Loaders never touch a store. They turn one file into these records (or
:class:`UnreadableFile` for the whole file); :mod:`ingest.pipeline` decides what to write.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from shop.money import Money
from shop.promotions import PromotionRules


class UnreadableFile(Exception):
    """The whole file cannot be ingested (encoding, format, size); the message says what to fix."""


@dataclass(frozen=True)
class RowError:
    """One rejected row (or a whole file when ``line`` is 0), printed as ``FILE:LINE: message``."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "message": self.message}


def stable_hash(value: Any) -> str:
    """SHA-256 of a canonical JSON rendering (sorted keys), for change detection."""
    blob = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class ProductRecord:
    sku: str
    title: str
    price: Money
    parent_sku: str | None = None
    description: str = ""
    category: str = ""
    brand: str = ""
    stock: int | None = None
    url: str = ""
    image_url: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    active: bool = True
    source_file: str = ""
    source_line: int = 0

    def fields(self) -> dict[str, Any]:
        """Everything that is stored, except provenance (moving a row to another line is no change)."""
        return {
            "sku": self.sku,
            "parent_sku": self.parent_sku,
            "title": self.title,
            "description": self.description,
            "category": self.category,
            "brand": self.brand,
            "price_minor": self.price.minor,
            "currency": self.price.currency,
            "stock": self.stock,
            "url": self.url,
            "image_url": self.image_url,
            "attributes": self.attributes,
            "active": self.active,
        }

    @property
    def content_hash(self) -> str:
        return stable_hash(self.fields())

    def embed_text(self) -> str:
        return product_embed_text(self.title, self.brand, self.category, self.attributes, self.description)


# Attributes that say nothing about what the product is; embedding them only adds noise.
_NOT_DESCRIPTIVE = frozenset({"weight_g", "gtin", "mpn", "barcode", "ean", "upc", "tags_internal"})


def product_embed_text(
    title: str, brand: str, category: str, attributes: dict[str, str], description: str
) -> str:
    """The text a product is embedded as; price and stock stay out so they never force a re-embed."""
    attrs = "; ".join(
        f"{k.replace('_', ' ')}: {v}" for k, v in sorted(attributes.items()) if k not in _NOT_DESCRIPTIVE
    )
    head = " | ".join(part for part in (title, brand, category) if part)
    return "\n".join(part for part in (head, attrs, description[:1200]) if part)


@dataclass
class DocumentRecord:
    doc_id: str
    title: str
    lang: str
    text: str
    """Markdown-like text: ``#`` headings mark the sections the chunker splits on."""
    source_file: str = ""

    @property
    def content_hash(self) -> str:
        return stable_hash({"doc_id": self.doc_id, "title": self.title, "lang": self.lang, "text": self.text})


@dataclass
class OrderItem:
    sku: str
    quantity: int
    unit_price: Money
    title: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class OrderRecord:
    order_id: str
    email: str
    status: str
    placed_at: datetime
    currency: str
    items: list[OrderItem]
    shipping_address: dict[str, Any] = field(default_factory=dict)
    carrier: str | None = None
    tracking_number: str | None = None
    shipping_minor: int = 0
    discount_minor: int = 0
    customer_external_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Platform data kept verbatim (payment history, fulfilments, ...)."""
    source_file: str = ""
    source_line: int = 0

    @property
    def content_hash(self) -> str:
        return stable_hash(
            {
                "order_id": self.order_id,
                "email": self.email,
                "status": self.status,
                "placed_at": self.placed_at.isoformat(),
                "currency": self.currency,
                "items": [[i.sku, i.quantity, i.unit_price.minor, i.title, i.attributes] for i in self.items],
                "shipping_address": self.shipping_address,
                "carrier": self.carrier,
                "tracking_number": self.tracking_number,
                "shipping": self.shipping_minor,
                "discount": self.discount_minor,
                "customer": self.customer_external_id,
                "extra": self.extra,
            }
        )


@dataclass
class CustomerRecord:
    email: str
    external_id: str | None = None
    first_name: str = ""
    last_name: str = ""
    address: dict[str, Any] = field(default_factory=dict)
    payment_methods: dict[str, Any] = field(default_factory=dict)
    profile: dict[str, Any] = field(default_factory=dict)
    source_file: str = ""
    source_line: int = 0


@dataclass
class PromotionRecord:
    """One promotion of ``promotions.yaml|json``, validated, with where it was written."""

    rules: PromotionRules
    source_file: str = ""
    source_line: int = 0


@dataclass
class StoreConfig:
    """Keys of ``store.yaml``; ``None`` means the file did not set it (the stored value stays)."""

    name: str | None = None
    currency: str | None = None
    languages: list[str] | None = None
    persona: str | None = None
    handoff_contact: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class LoadResult:
    """Everything one file yielded; a loader fills the lists that apply to it."""

    loader: str
    products: list[ProductRecord] = field(default_factory=list)
    documents: list[DocumentRecord] = field(default_factory=list)
    orders: list[OrderRecord] = field(default_factory=list)
    customers: list[CustomerRecord] = field(default_factory=list)
    store: StoreConfig | None = None
    promotions: list[PromotionRecord] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rejected_skus: set[str] = field(default_factory=set)
    """Ids of rejected rows: their previously stored version is kept, not deleted by ``--replace``."""

    @property
    def accepted(self) -> int:
        return (
            len(self.products)
            + len(self.documents)
            + len(self.orders)
            + len(self.customers)
            + len(self.promotions)
            + (1 if self.store is not None else 0)
        )


@dataclass(frozen=True)
class SourceFile:
    """A file to ingest.

    ``name`` is how messages show it (the path as the user gave it); ``key`` is its identity
    for provenance and ``--replace`` (the path inside the ingested folder, or the file name),
    so re-uploading ``products.csv`` from anywhere replaces the same rows.
    """

    path: Path
    name: str
    data: bytes
    key: str = ""

    @property
    def identity(self) -> str:
        return self.key or self.name
