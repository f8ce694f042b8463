"""Shopper routes: chat (JSON and SSE), cart, checkout, order lookup, feedback, privacy.

Every route works on the caller's session for one merchant (``?merchant=``, default the
configured one); nothing here can reach another session's cart, checkout or conversation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from api import chat, privacy, retention, sessions
from api.deps import (
    ChatQuota,
    DbDep,
    LookupQuota,
    SessionDep,
    SettingsDep,
    ShopperMerchantDep,
    StateDep,
    client_address,
)
from api.errors import error_responses
from api.logs import fingerprint
from api.schemas import (
    CartItemIn,
    CartPublic,
    CartQuantityIn,
    ChatIn,
    ChatPublic,
    CheckoutIn,
    CheckoutPublic,
    ConfirmIn,
    ConversationMessagesPublic,
    FeedbackIn,
    FeedbackPublic,
    OrderLookupIn,
    OrderPublic,
    PlacedOrderPublic,
    PrivacyDeletePublic,
    PrivacyExportPublic,
    PrivacyIn,
    StorePublic,
)
from ingest.sanitize import clean_text
from shop import carts, checkout, orders
from shop.catalog import get_merchant
from shop.models import Feedback
from shop.settings import Settings

router = APIRouter(prefix="/v1", tags=["shopper"])
SkuPath = Annotated[str, Path(min_length=1, max_length=128)]
SSE_EVENT = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {
            "type": "string",
            "enum": ["session", "token", "tool_started", "tool_finished", "cart", "error", "done"],
        },
        "data": {"type": "string", "contentMediaType": "application/json"},
    },
}
READ = error_responses(404, 422, 429)
BODY = error_responses(400, 404, 422, 429)
WRITE = error_responses(400, 404, 409, 422, 429)
PRIVATE = error_responses(400, 403, 404, 422, 429)


def _check_message(message: str, settings: Settings) -> str:
    text = clean_text(message).strip()  # what is left once control and invisible characters go
    if not text:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the message is empty")
    if len(text) > settings.max_message_chars:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"the message is longer than {settings.max_message_chars} characters: shorten it",
        )
    return text


def _chat_session(
    request: Request, state: StateDep, merchant_id: str, body: ChatIn
) -> sessions.ShopperSession:
    """The body's session id wins over header and cookie (the DESIGN contract's field)."""
    address = client_address(request)
    candidates = [body.session_id or "", *sessions.presented(request, merchant_id)]
    shopper = sessions.resolve(
        state.db, merchant_id, [c for c in candidates if c], lambda: state.limits.new_session(address)
    )
    request.state.session_tag = fingerprint(shopper.session_id)
    # A new session has just paid the address's share; the turn still counts for the session.
    state.limits.chat.check(shopper.session_id, "" if shopper.is_new else address)
    return shopper


@router.get("/store", response_model=StorePublic, responses=error_responses(404, 422))
def store(db: DbDep, merchant_id: ShopperMerchantDep) -> dict[str, Any]:
    """The store's public face: name, currency, languages (for the widget's header)."""
    with db.read_session() as session:
        merchant = get_merchant(session, merchant_id)
        return {
            "merchant_id": merchant.id,
            "name": merchant.name,
            "currency": merchant.currency,
            "languages": list(merchant.languages or []),
        }


@router.post("/chat", response_model=ChatPublic, responses=BODY)
async def chat_turn(
    body: ChatIn,
    request: Request,
    response: Response,
    state: StateDep,
    settings: SettingsDep,
    merchant_id: ShopperMerchantDep,
) -> dict[str, Any]:
    """One shopper turn: the reply, the cart after it, the tool calls made, product cards."""
    message = _check_message(body.message, settings)
    shopper = await anyio.to_thread.run_sync(_chat_session, request, state, merchant_id, body)
    sessions.attach(response, request, shopper)
    await anyio.to_thread.run_sync(retention.recognize, request, response, state.db, state.settings, shopper)
    return await chat.answer(state, shopper, message, address=client_address(request))


@router.post(
    "/chat/stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {"schema": SSE_EVENT}},
            "description": "Events `session`, `token`, `tool_started`, `tool_finished`, `cart`, `error`, "
            "then `done` carrying the same JSON as POST /v1/chat.",
        },
        **BODY,
    },
)
async def chat_stream(
    body: ChatIn, request: Request, state: StateDep, settings: SettingsDep, merchant_id: ShopperMerchantDep
) -> StreamingResponse:
    """The same turn as server-sent events, so replies appear as they are written."""
    message = _check_message(body.message, settings)
    shopper = await anyio.to_thread.run_sync(_chat_session, request, state, merchant_id, body)
    response = StreamingResponse(
        chat.stream(state, shopper, message, client_address(request)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
    sessions.attach(response, request, shopper)
    await anyio.to_thread.run_sync(retention.recognize, request, response, state.db, state.settings, shopper)
    return response


@router.get("/chat/messages", response_model=ConversationMessagesPublic, responses=READ)
def chat_messages(
    db: DbDep, shopper: SessionDep, after: Annotated[int, Query(ge=0, le=1_000_000)] = 0
) -> dict[str, Any]:
    """The conversation as the shopper sees it, from message ``after`` on: the widget polls this
    while a person from the store handles the conversation, to show their replies."""
    return chat.visible_messages(db, shopper.merchant_id, shopper.session_id, after)


@router.get("/cart", response_model=CartPublic, responses=READ)
def get_cart(db: DbDep, shopper: SessionDep) -> dict[str, Any]:
    return chat.cart_public(db, shopper.merchant_id, shopper.session_id)


@router.post(
    "/cart/items",
    response_model=CartPublic,
    responses=WRITE,
    dependencies=[ChatQuota],
)
def add_cart_item(body: CartItemIn, db: DbDep, shopper: SessionDep) -> dict[str, Any]:
    """Add units of a product (the widget's "Add to cart" button)."""
    with db.session() as session:
        carts.add_item(session, shopper.merchant_id, shopper.session_id, body.sku, body.quantity)
    return chat.cart_public(db, shopper.merchant_id, shopper.session_id)


@router.put(
    "/cart/items/{sku}",
    response_model=CartPublic,
    responses=WRITE,
    dependencies=[ChatQuota],
)
def set_cart_item(sku: SkuPath, body: CartQuantityIn, db: DbDep, shopper: SessionDep) -> dict[str, Any]:
    """Set a line's quantity; 0 removes it."""
    with db.session() as session:
        carts.set_quantity(session, shopper.merchant_id, shopper.session_id, sku, body.quantity)
    return chat.cart_public(db, shopper.merchant_id, shopper.session_id)


@router.delete("/cart/items/{sku}", response_model=CartPublic, responses=READ, dependencies=[ChatQuota])
def remove_cart_item(sku: SkuPath, db: DbDep, shopper: SessionDep) -> dict[str, Any]:
    with db.session() as session:
        carts.remove_item(session, shopper.merchant_id, shopper.session_id, sku)
    return chat.cart_public(db, shopper.merchant_id, shopper.session_id)


@router.post(
    "/checkout",
    response_model=CheckoutPublic,
    responses=WRITE,
    dependencies=[ChatQuota],
)
def prepare_checkout(body: CheckoutIn, db: DbDep, shopper: SessionDep) -> dict[str, Any]:
    """Freeze the cart into a summary (items, shipping, total) for the shopper to confirm."""
    address = body.shipping_address.model_dump() if body.shipping_address else None
    with db.session() as session:
        summary = checkout.prepare(
            session, shopper.merchant_id, shopper.session_id, body.email, address, body.shipping_method
        )
    return summary.to_dict()


@router.post(
    "/checkout/confirm",
    response_model=PlacedOrderPublic,
    status_code=status.HTTP_201_CREATED,
    responses=WRITE,
    dependencies=[ChatQuota],
)
def confirm_checkout(
    body: ConfirmIn,
    state: StateDep,
    shopper: SessionDep,
    idempotency_key: Annotated[
        str,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            description="A fresh random key per confirmation: a retry with it returns the same order.",
        ),
    ],
) -> dict[str, Any]:
    """Place the order of a prepared checkout, exactly once: pressing Confirm is the shopper's yes.

    A replay with the same key returns the same order; the same key with another checkout
    answers 422; a duplicate sent while the first is still running answers 409.
    """
    order = checkout.confirm(
        state.db, shopper.merchant_id, shopper.session_id, body.checkout_id, idempotency_key, state.payment
    )
    with state.db.read_session() as session:  # a replay hands back a detached row: read it afresh
        stored = orders.find_order(session, shopper.merchant_id, order.order_id, order.email)
        placed = orders.order_to_dict(stored)
        placed["payment_instructions"] = str(stored.extra.get("payment_instructions") or "")
        placed["payment_url"] = str(stored.extra.get("payment_url") or "")
    return placed


@router.post("/orders/lookup", response_model=OrderPublic, responses=BODY, dependencies=[LookupQuota])
def lookup_order(body: OrderLookupIn, db: DbDep, shopper: SessionDep) -> dict[str, Any]:
    """An order by its id and the email on it; a wrong pair answers exactly like an unknown id."""
    with db.read_session() as session:
        return orders.lookup(session, shopper.merchant_id, body.order_id, body.email)


@router.post(
    "/feedback",
    response_model=FeedbackPublic,
    status_code=status.HTTP_201_CREATED,
    responses=BODY,
    dependencies=[ChatQuota],
)
def give_feedback(body: FeedbackIn, db: DbDep, shopper: SessionDep) -> dict[str, Any]:
    """Thumbs up (+1) or down (-1) on a reply, or a 1..5 rating of the conversation."""
    if body.rating == 0:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "rating must be -1, +1, or 1 to 5")
    with db.session() as session:
        row = Feedback(
            merchant_id=shopper.merchant_id,
            session_id=shopper.session_id,
            message_index=body.message_index,
            rating=body.rating,
            comment=body.comment.strip(),
        )
        session.add(row)
        session.flush()
        return {"id": row.id, "rating": row.rating}


def _for_verified_email(
    session: Session,
    shopper: sessions.ShopperSession,
    body: PrivacyIn,
    action: Callable[[Session, str, str, str], dict[str, Any]],
) -> dict[str, Any]:
    """Holds what both privacy routes do: check that the shopper owns ``body.email`` (see
    :func:`api.privacy.verify`), then run ``action`` (export or erase) for that email."""
    email = privacy.verify(session, shopper.merchant_id, shopper.session_id, body.email, body.order_id)
    return action(session, shopper.merchant_id, shopper.session_id, email)


@router.post(
    "/privacy/export",
    response_model=PrivacyExportPublic,
    responses=PRIVATE,
    dependencies=[LookupQuota],
)
def export_data(body: PrivacyIn, db: DbDep, shopper: SessionDep) -> dict[str, Any]:
    """Everything the store holds about a verified email: customer record, orders, conversations."""
    with db.read_session() as session:
        return _for_verified_email(session, shopper, body, privacy.export)


@router.post(
    "/privacy/delete",
    response_model=PrivacyDeletePublic,
    responses=PRIVATE,
    dependencies=[LookupQuota],
)
def delete_data(body: PrivacyIn, db: DbDep, shopper: SessionDep) -> dict[str, Any]:
    """Erase a verified email's personal data (orders stay, anonymized, for the merchant's books)."""
    with db.session() as session:
        return _for_verified_email(session, shopper, body, privacy.erase)
