"""Request and response bodies of the HTTP API, split by direction.

``...In`` models are what clients send (strict: unknown fields refused, sizes capped);
``...Public`` models are what the server answers. Money is always a decimal string next
to an ISO 4217 currency, never a float.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

T = TypeVar("T")

SESSION_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"
MERCHANT_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$"
SKU_MAX = 128

Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=320, pattern=EMAIL_PATTERN)]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=SKU_MAX)]
Amount = Annotated[str, Field(description="Decimal string in the currency's minor-unit precision.")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- errors -------------------------------------------------------------------------------
class ErrorPublic(BaseModel):
    detail: Any = Field(description="What went wrong and how to fix it (validation errors: a list).")
    code: str = Field(default="", description="Stable machine-readable reason, e.g. not_found, conflict.")


# -- chat ---------------------------------------------------------------------------------
class ChatIn(_In):
    session_id: Annotated[str, StringConstraints(pattern=SESSION_PATTERN)] | None = Field(
        default=None, description="Continue this session; omit to use the cookie or start a new one."
    )
    message: Annotated[str, StringConstraints(min_length=1, max_length=20_000)]


class ToolCallPublic(BaseModel):
    name: str
    arguments: dict[str, Any]
    error: str | None = None


class CartLinePublic(BaseModel):
    sku: str
    title: str
    quantity: int
    unit_price: Amount
    line_total: Amount
    currency: str
    in_stock: bool
    image_url: str = ""


class CartPublic(BaseModel):
    version: int
    currency: str
    lines: list[CartLinePublic]
    subtotal: Amount
    item_count: int
    coupon_codes: list[str] = Field(default_factory=list)


class ProductCardPublic(BaseModel):
    """What the widget draws for a product a tool returned; read from the store, not the model."""

    sku: str
    title: str
    price: Amount
    currency: str
    in_stock: bool
    stock: int | None = Field(description="Units left when tracked and low; null when plenty or untracked.")
    image_url: str
    url: str


class CheckoutLinePublic(BaseModel):
    sku: str
    title: str
    quantity: int
    unit_price: Amount
    line_total: Amount


class AdjustmentPublic(BaseModel):
    """A discount the store applied (promotion, coupon, offer); the amount is subtracted."""

    label: str
    code: str | None = Field(
        default=None, description="The coupon code; null for automatic promotions and offers."
    )
    amount: Amount


class CheckoutPublic(BaseModel):
    checkout_id: str
    status: str
    currency: str
    lines: list[CheckoutLinePublic]
    subtotal: Amount
    discount: Amount
    shipping: Amount
    total: Amount
    shipping_method: str
    adjustments: list[AdjustmentPublic] = Field(default_factory=list)


class ChatPublic(BaseModel):
    session_id: str
    reply: str = Field(description="Plain text: render it as text, never as HTML.")
    cart: CartPublic
    tool_calls: list[ToolCallPublic]
    products: list[ProductCardPublic] = Field(default_factory=list)
    checkout: CheckoutPublic | None = Field(default=None, description="A summary awaiting confirmation.")
    handoff: bool = False
    held: bool = Field(
        default=False,
        description="A person from the store handles this conversation: the assistant did not answer; "
        "their replies appear in GET /v1/chat/messages.",
    )
    lang: str = ""


class VisibleMessagePublic(BaseModel):
    index: int
    author: Literal["user", "assistant", "merchant"]
    text: str = Field(description="Plain text: render it as text, never as HTML.")


class ConversationMessagesPublic(BaseModel):
    handoff: str = Field(description="'' | requested | taken | handled")
    messages: list[VisibleMessagePublic]
    next: int = Field(description="Pass as ?after= to get only newer messages.")


# -- cart and checkout --------------------------------------------------------------------
class CartItemIn(_In):
    sku: Sku
    quantity: int = Field(default=1, ge=1, le=99)


class CartQuantityIn(_In):
    quantity: int = Field(ge=0, le=99, description="0 removes the line.")


class ShippingAddressIn(_In):
    name: str = Field(min_length=1, max_length=200)
    line1: str = Field(min_length=1, max_length=300)
    city: str = Field(min_length=1, max_length=120)
    postal_code: str = Field(min_length=1, max_length=20)
    country: str = Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2, e.g. LT")


class CheckoutIn(_In):
    email: Email
    shipping_address: ShippingAddressIn | None = None
    shipping_method: Literal["standard", "express"] = "standard"


class ConfirmIn(_In):
    checkout_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class OrderLinePublic(BaseModel):
    sku: str
    title: str
    quantity: int
    returned_quantity: int = 0
    unit_price: Amount


class OrderPublic(BaseModel):
    order_id: str
    status: str
    placed_at: str | None
    currency: str
    items: list[OrderLinePublic]
    subtotal: Amount
    discount: Amount
    shipping: Amount
    total: Amount
    carrier: str | None = None
    tracking_number: str | None = None
    payment_status: str = ""


class PlacedOrderPublic(OrderPublic):
    payment_instructions: str = ""
    payment_url: str = ""


class OrderLookupIn(_In):
    order_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    email: Email


# -- feedback and privacy -----------------------------------------------------------------
class FeedbackIn(_In):
    rating: int = Field(ge=-1, le=5, description="+1 / -1 for thumbs up or down on a reply, or 1..5 overall.")
    message_index: int = Field(
        default=-1, ge=-1, le=100_000, description="Which reply; -1 for the conversation."
    )
    comment: str = Field(default="", max_length=2000)


class FeedbackPublic(BaseModel):
    id: int
    rating: int


class PrivacyIn(_In):
    email: Email
    order_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None = (
        Field(
            default=None,
            description="An order placed with this email; proves it is yours unless verified in chat.",
        )
    )


class PrivacyExportPublic(BaseModel):
    email: str
    customer: dict[str, Any] | None
    orders: list[OrderPublic]
    conversations: list[dict[str, Any]]
    feedback: list[dict[str, Any]]


class PrivacyDeletePublic(BaseModel):
    email: str
    customers_deleted: int
    orders_anonymized: int
    checkouts_anonymized: int
    conversations_deleted: int
    feedback_deleted: int


# -- merchant -----------------------------------------------------------------------------
class IngestJobPublic(BaseModel):
    job_id: str
    merchant_id: str
    status: Literal["queued", "running", "done", "failed"]
    files: list[str]
    progress: float = Field(ge=0, le=1, description="Share of the work done, 0..1.")
    stage: str = ""
    exit_code: int | None = Field(
        default=None, description="As the CLI: 0 all accepted, 3 some rows rejected, 1 none."
    )
    errors: list[str] = Field(
        default_factory=list, description="Rejected rows as FILE:LINE: message, as the CLI prints."
    )
    report: dict[str, Any] | None = None
    created_at: datetime
    finished_at: datetime | None = None


class ProductPublic(BaseModel):
    sku: str
    parent_sku: str | None
    title: str
    description: str
    category: str
    brand: str
    price: Amount
    currency: str
    stock: int | None
    url: str
    image_url: str
    attributes: dict[str, Any]
    active: bool
    source_file: str
    source_line: int


class DocumentPublic(BaseModel):
    doc_id: str
    title: str
    lang: str
    source_file: str
    chunks: int
    text: str | None = Field(default=None, description="Only when one document is inspected.")


class MerchantOrderPublic(OrderPublic):
    email: str
    source: str
    shipping_address: dict[str, Any]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class ConversationPublic(BaseModel):
    session_id: str
    channel: str
    lang: str
    handoff: str
    created_at: datetime
    updated_at: datetime
    messages: list[dict[str, Any]] | None = Field(
        default=None, description="Only when one conversation is inspected."
    )


class FeedbackEntryPublic(BaseModel):
    session_id: str
    message_index: int
    rating: int
    comment: str
    created_at: datetime


class StoreSettingsPublic(BaseModel):
    merchant_id: str
    name: str
    currency: str
    languages: list[str]
    persona: str
    handoff_contact: str


LangCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")]


class StoreSettingsIn(_In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")] | None = None
    languages: list[LangCode] | None = Field(default=None, min_length=1, max_length=20)
    persona: str | None = Field(default=None, max_length=4000)
    handoff_contact: str | None = Field(default=None, max_length=1000)


class StorePublic(BaseModel):
    merchant_id: str
    name: str
    currency: str
    languages: list[str]


class HealthPublic(BaseModel):
    status: Literal["ok"]
    model: str
    version: str


# -- promotions, bounded offers, wishlists ---------------------------------------------
Percent = Annotated[str, StringConstraints(pattern=r"^\d{1,3}(\.\d{1,2})?$")]


class PromotionPublic(BaseModel):
    id: str
    code: str | None = Field(description="Coupon code the shopper types; null for an automatic promotion.")
    label: str
    kind: Literal["percent", "fixed"]
    value: str
    scope: Literal["cart", "product", "category"]
    targets: list[str]
    min_spend: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    usage_limit: int | None
    per_shopper_limit: int | None
    stackable: bool
    active: bool
    uses: int = Field(description="Placed orders that redeemed it.")


class OfferLimitIn(_In):
    scope: Literal["product", "category"]
    targets: list[Annotated[str, StringConstraints(min_length=1, max_length=SKU_MAX)]] = Field(
        min_length=1, max_length=500, description="SKUs (or parent ids) or categories."
    )
    max_percent: Percent = Field(description="The largest discount the assistant may offer, e.g. '10'.")


class OfferLimitsIn(_In):
    limits: list[OfferLimitIn] = Field(max_length=200)


class OfferLimitsPublic(BaseModel):
    limits: list[dict[str, Any]]


class OfferPublic(BaseModel):
    session_id: str
    sku: str
    percent: str
    status: str = Field(description="offered, refused (over the limit) or replaced.")
    reason: str
    created_at: datetime


class WishlistItemPublic(BaseModel):
    sku: str
    title: str
    price: Amount
    currency: str
    in_stock: bool


class WishlistPublic(BaseModel):
    items: list[WishlistItemPublic]
    share_path: str | None = Field(description="Read-only link to the list, relative to the server.")


class SharedWishlistPublic(BaseModel):
    items: list[WishlistItemPublic]
