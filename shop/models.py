"""Relational schema of the shop (SQLAlchemy 2 typed mappings).

Every row belongs to one merchant and every query filters by it. Money columns end in
``_minor`` (integer minor units) and sit beside a ``currency`` column.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

UNTRACKED_STOCK = -1
"""``Product.imported_stock`` of a row whose import gave no stock figure."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time here is stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


Json = dict[str, Any]


class Merchant(Base):
    __tablename__ = "merchants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    languages: Mapped[list[Any]] = mapped_column(default=list)
    persona: Mapped[str] = mapped_column(Text, default="")
    handoff_contact: Mapped[str] = mapped_column(Text, default="")
    settings: Mapped[Json] = mapped_column(default=dict)
    """Everything else from store.yaml: shipping rates, quantity limits, ..."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Product(Base):
    """A sellable item (a variant when ``parent_sku`` groups several)."""

    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("merchant_id", "sku"),
        Index("ix_products_merchant_parent", "merchant_id", "parent_sku"),
        Index("ix_products_merchant_category", "merchant_id", "category"),
        # Search caches poll "what changed since T" (stock after an order) on every query.
        Index("ix_products_merchant_updated", "merchant_id", "updated_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(128))
    parent_sku: Mapped[str | None] = mapped_column(String(128), default=None)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(200), default="")
    brand: Mapped[str] = mapped_column(String(200), default="")
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    stock: Mapped[int | None] = mapped_column(Integer, default=None)
    """Units on hand; ``None`` means stock is not tracked (always available)."""
    imported_stock: Mapped[int | None] = mapped_column(Integer, default=None)
    """``stock`` as the last catalog import gave it (``UNTRACKED_STOCK`` when it gave none;
    ``None``: not known, a row written before this was recorded). A re-import whose stock is
    still this value leaves the live ``stock`` (lowered by orders since) as it is."""
    url: Mapped[str] = mapped_column(String(1000), default="")
    image_url: Mapped[str] = mapped_column(String(1000), default="")
    attributes: Mapped[Json] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    source_file: Mapped[str] = mapped_column(String(1000), default="")
    source_line: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Document(Base):
    """A policy/FAQ document; its chunks are what retrieval cites (``doc:STEM``)."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("merchant_id", "doc_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    doc_id: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(500), default="")
    lang: Mapped[str] = mapped_column(String(16), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    source_file: Mapped[str] = mapped_column(String(1000), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    chunks: Mapped[list[DocChunk]] = relationship(
        back_populates="document", cascade="all, delete-orphan", order_by="DocChunk.ordinal"
    )


class DocChunk(Base):
    __tablename__ = "doc_chunks"
    __table_args__ = (UniqueConstraint("merchant_id", "chunk_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    chunk_id: Mapped[str] = mapped_column(String(400))
    ordinal: Mapped[int] = mapped_column(Integer)
    heading_path: Mapped[str] = mapped_column(String(1000), default="")
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    source_line: Mapped[int] = mapped_column(Integer, default=0)
    document: Mapped[Document] = relationship(back_populates="chunks")


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("merchant_id", "email"),
        UniqueConstraint("merchant_id", "external_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)
    """The id the merchant's platform uses (e.g. a τ² user id)."""
    first_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[Json] = mapped_column(default=dict)
    payment_methods: Mapped[Json] = mapped_column(default=dict)
    """Payment methods by id; gift cards carry ``balance_minor``."""
    profile: Mapped[Json] = mapped_column(default=dict)
    remember: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Conversation(Base):
    """A shopper session: messages and agent state survive restarts."""

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(32), default="web")
    lang: Mapped[str] = mapped_column(String(16), default="")
    messages: Mapped[list[Any]] = mapped_column(default=list)
    state: Mapped[Json] = mapped_column(default=dict)
    """Verified email, pending checkout id, confirmations, last search results, ..."""
    handoff: Mapped[str] = mapped_column(String(16), default="")
    """'' (none), 'requested', 'taken', 'handled'."""
    handoff_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    """When ``handoff`` last changed (set by :mod:`channels.outbox`)."""
    customer_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
    """The remembered shopper (``customers.id``) this conversation is linked to, only with their
    consent (:mod:`shop.shoppers`); no foreign key, so forgetting them can delete both in any order."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Cart(Base):
    __tablename__ = "carts"
    __table_args__ = (UniqueConstraint("merchant_id", "session_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    session_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=0)
    """Bumped on every change so a checkout of an older cart can be refused."""
    coupon_codes: Mapped[list[Any]] = mapped_column(default=list)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    lines: Mapped[list[CartLine]] = relationship(
        back_populates="cart", cascade="all, delete-orphan", order_by="CartLine.id"
    )


class CartLine(Base):
    __tablename__ = "cart_lines"
    __table_args__ = (UniqueConstraint("cart_id", "sku"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(128))
    quantity: Mapped[int] = mapped_column(Integer)
    cart: Mapped[Cart] = relationship(back_populates="lines")


class Checkout(Base):
    """A frozen cart: lines, totals and shipping as the shopper is asked to confirm them."""

    __tablename__ = "checkouts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[str] = mapped_column(String(64), index=True)
    cart_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="prepared")
    """prepared -> confirmed -> placed, or expired."""
    lines: Mapped[list[Any]] = mapped_column(default=list)
    """Snapshot: [{sku, title, quantity, unit_price_minor, line_total_minor}]."""
    currency: Mapped[str] = mapped_column(String(3))
    subtotal_minor: Mapped[int] = mapped_column(BigInteger)
    discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    shipping_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    adjustments: Mapped[list[Any]] = mapped_column(default=list)
    """Promotions and offers applied by the server: [{code, label, amount_minor}]."""
    email: Mapped[str] = mapped_column(String(320), default="")
    shipping_address: Mapped[Json] = mapped_column(default=dict)
    shipping_method: Mapped[str] = mapped_column(String(32), default="standard")
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    order_id: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="started")
    """started | done | failed"""
    order_id: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("merchant_id", "order_id"),
        Index("ix_orders_merchant_email", "merchant_id", "email"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    order_id: Mapped[str] = mapped_column(String(64))
    """The id shoppers see (e.g. A1001)."""
    email: Mapped[str] = mapped_column(String(320))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), default=None)
    status: Mapped[str] = mapped_column(String(32))
    """pending | paid | processed | shipped | delivered | cancelled | returned, or an imported
    platform's own status kept verbatim (τ²: "pending (item modified)", "exchange requested", ...)."""
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    currency: Mapped[str] = mapped_column(String(3))
    subtotal_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    shipping_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    shipping_address: Mapped[Json] = mapped_column(default=dict)
    carrier: Mapped[str | None] = mapped_column(String(100), default=None)
    tracking_number: Mapped[str | None] = mapped_column(String(200), default=None)
    payment_provider: Mapped[str] = mapped_column(String(32), default="")
    payment_status: Mapped[str] = mapped_column(String(32), default="")
    payment_reference: Mapped[str] = mapped_column(String(200), default="")
    checkout_id: Mapped[str | None] = mapped_column(String(64), default=None, unique=True)
    source: Mapped[str] = mapped_column(String(32), default="checkout")
    """checkout | import"""
    extra: Mapped[Json] = mapped_column(default=dict)
    """Platform data kept verbatim (fulfilments, payment history, cancel reason, ...)."""
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )
    events: Mapped[list[OrderEvent]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderEvent.id"
    )


class OrderLine(Base):
    """A snapshot of what was bought: title and price as they were when ordering."""

    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_pk: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(500), default="")
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    quantity: Mapped[int] = mapped_column(Integer)
    returned_quantity: Mapped[int] = mapped_column(Integer, default=0)
    attributes: Mapped[Json] = mapped_column(default=dict)
    order: Mapped[Order] = relationship(back_populates="lines")


class OrderEvent(Base):
    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_pk: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    """placed | imported | paid | cancelled | return_requested | returned | address_changed | ..."""
    data: Mapped[Json] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    order: Mapped[Order] = relationship(back_populates="events")


class ApiKey(Base):
    """A merchant API key, stored as a SHA-256 hash (the key itself is shown once)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[str] = mapped_column(String(64), index=True)
    message_index: Mapped[int] = mapped_column(Integer, default=-1)
    rating: Mapped[int] = mapped_column(Integer)
    """+1 thumbs up, -1 thumbs down, or 1..5 for an end-of-conversation rating."""
    comment: Mapped[str] = mapped_column(Text, default="")
    lang: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IngestState(Base):
    """Bookkeeping of ingest runs, so a crash mid-run is reconciled on the next run."""

    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="running")
    """running | done | failed"""
    report: Mapped[Json] = mapped_column(default=dict)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class Promotion(Base):
    """A merchant-defined discount: a coupon code, or automatic when ``code`` is empty."""

    __tablename__ = "promotions"
    __table_args__ = (UniqueConstraint("merchant_id", "promo_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    promo_id: Mapped[str] = mapped_column(String(100))
    code: Mapped[str | None] = mapped_column(String(100), default=None)
    rules: Mapped[Json] = mapped_column(default=dict)
    """The validated rule set (kind, value, scope, targets, min_spend, window, limits)."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Redemption(Base):
    """One use of a promotion by a placed order; counted against usage limits."""

    __tablename__ = "redemptions"
    __table_args__ = (Index("ix_redemptions_promo", "merchant_id", "promo_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    promo_id: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(320), default="")
    order_id: Mapped[str] = mapped_column(String(64))
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Wishlist(Base):
    """Saved items of one shopper (a session, or a remembered customer), shareable by token."""

    __tablename__ = "wishlists"
    __table_args__ = (UniqueConstraint("merchant_id", "owner"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    owner: Mapped[str] = mapped_column(String(320))
    """``session:ID`` or ``email:ADDRESS`` for a shopper who opted in to be remembered."""
    share_token: Mapped[str] = mapped_column(String(64), unique=True)
    items: Mapped[list[Any]] = mapped_column(default=list)
    """SKUs in the order they were saved."""
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Offer(Base):
    """A discount the agent offered inside the merchant's limit; every offer is logged."""

    __tablename__ = "offers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[str] = mapped_column(String(64), index=True)
    sku: Mapped[str] = mapped_column(String(128))
    percent: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="offered")
    """offered | refused (over the limit) | used"""
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# -- channels and integrations (channels/) ------------------------------------------------
class ChannelIdentity(Base):
    """A shopper on a messaging platform, bound to their conversation (session) with a merchant."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("merchant_id", "channel", "platform_user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(32))
    platform_user_id: Mapped[str] = mapped_column(String(200))
    """Where replies go: Telegram chat id, WhatsApp wa_id, Messenger page-scoped id."""
    session_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    lang_hint: Mapped[str] = mapped_column(String(16), default="")
    last_inbound_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    """The shopper's last message: WhatsApp and Messenger only allow free-form replies for 24 hours."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ProcessedUpdate(Base):
    """A platform delivery already accepted, so a retried delivery is processed once."""

    __tablename__ = "processed_updates"
    __table_args__ = (UniqueConstraint("channel", "update_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(32))
    update_id: Mapped[str] = mapped_column(String(200))
    merchant_id: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default="received")
    """received | done | failed"""
    error: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class OutboxEvent(Base):
    """A merchant event (order placed, handoff requested, ...) written with the change itself."""

    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[Json] = mapped_column(default=dict)
    dispatched: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    """True once a delivery row exists for every endpoint subscribed at that time."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebhookEndpoint(Base):
    """A merchant URL that receives signed events."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[Any]] = mapped_column(default=list)
    """Event types to send; empty means all."""
    description: Mapped[str] = mapped_column(String(500), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebhookDelivery(Base):
    """One event on its way to one endpoint, with every attempt logged."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_pk", "endpoint_id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    event_pk: Mapped[int] = mapped_column(ForeignKey("outbox_events.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    """pending (waiting for its next attempt) | delivered | failed (attempts exhausted)"""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str] = mapped_column(Text, default="")
    log: Mapped[list[Any]] = mapped_column(default=list)
    """Attempts: [{at, status_code, error, duration_ms}]."""
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SigningSecret(Base):
    """The merchant's shared secret: signs outgoing webhooks and checks order sync pushes."""

    __tablename__ = "signing_secrets"

    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# -- returning shoppers and cart reminders (shop/shoppers.py, shop/reminders.py) ----------
class Consent(Base):
    """A shopper's opt-in: ``remember`` (a profile that greets them and knows their orders and
    sizes) or ``contact`` (one reminder of a cart left with items). Removed when they are forgotten."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_merchant_session", "merchant_id", "session_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    """remember | contact"""
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), default=None, index=True
    )
    session_id: Mapped[str] = mapped_column(String(64), default="")
    """The conversation where it was given (a contact consent without a profile belongs to it)."""
    channel: Mapped[str] = mapped_column(String(32), default="web")
    address: Mapped[str] = mapped_column(String(320), default="")
    """The email to contact; empty when reminders go to the messaging channel of the conversation."""
    lang: Mapped[str] = mapped_column(String(16), default="")
    given_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ShopperToken(Base):
    """A remembered shopper's long-lived cookie, stored as a SHA-256 hash (one per browser)."""

    __tablename__ = "shopper_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CartReminder(Base):
    """The one reminder of an abandoned cart: an outbox row the worker claims, sends and acknowledges."""

    __tablename__ = "cart_reminders"
    __table_args__ = (Index("ix_cart_reminders_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"), unique=True)
    """Unique: a cart is reminded at most once, whatever the workers do."""
    session_id: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    """email | telegram | whatsapp | messenger"""
    recipient: Mapped[str] = mapped_column(String(320))
    """An email address, or the platform user id of the conversation."""
    lang: Mapped[str] = mapped_column(String(16), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    link_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 of the token in the link back to the cart."""
    link_expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    """pending -> sending (claimed) -> sent, or back to pending after a failure, or failed."""
    claim: Mapped[str] = mapped_column(String(40), default="")
    """The claim of the worker sending it: only that claim may acknowledge it."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    """When pending: not before. When sending: the claim's lease ends (a crashed worker's claim expires)."""
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
