"""Merchant integrations: webhook endpoints and their delivery log, the signing secret, order
sync in, and human takeover of conversations.

Everything is under ``/v1/merchants/{merchant_id}`` and needs the merchant's API key, except
``POST /orders/sync``: the merchant's platform signs that push with the merchant's signing
secret (``X-Shopagent-Timestamp`` + ``X-Shopagent-Signature``), checked against a replay
window and a record of signatures already applied.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

import anyio
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from pydantic import AwareDatetime, BaseModel, Field, StringConstraints
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.channels import HubDep, channel_errors
from api.deps import DbDep, MerchantDep, SettingsDep, StateDep
from api.errors import error_responses
from api.schemas import MERCHANT_PATTERN
from channels import dedup, ordersync, takeover, webhooks
from channels.base import ChannelError
from channels.outbox import EVENT_TYPES
from channels.signing import verify
from shop.models import OutboxEvent, WebhookDelivery, WebhookEndpoint, utcnow
from shop.orders import ORDER_STATUSES

router = APIRouter(prefix="/v1/merchants/{merchant_id}", tags=["integrations"])
AUTH = error_responses(401, 403, 404, 422)
EventType = Literal["order.placed", "order.cancelled", "order.returned", "handoff.requested"]
OrderStatus = Literal["pending", "paid", "shipped", "delivered", "cancelled", "returned"]
EndpointId = Annotated[int, Path(ge=1, le=2**31 - 1)]
SessionPath = Annotated[str, Path(min_length=1, max_length=64)]
# The schema's literals must list exactly what the domain knows.
assert set(get_args(EventType)) == set(EVENT_TYPES) and set(get_args(OrderStatus)) == set(ORDER_STATUSES)


# -- schemas ------------------------------------------------------------------------------
class WebhookEndpointIn(BaseModel):
    url: str = Field(min_length=8, max_length=2000, description="Where events are POSTed (http or https).")
    events: list[EventType] = Field(default_factory=list, max_length=10, description="Empty: all events.")
    description: str = Field(default="", max_length=500)


class WebhookEndpointUpdate(BaseModel):
    url: str | None = Field(default=None, min_length=8, max_length=2000)
    events: list[EventType] | None = Field(default=None, max_length=10)
    description: str | None = Field(default=None, max_length=500)
    active: bool | None = None


class WebhookEndpointPublic(BaseModel):
    endpoint_id: int
    url: str
    events: list[str]
    description: str
    active: bool
    created_at: datetime


class SigningSecretPublic(BaseModel):
    secret: str
    """Signs webhooks to you and order sync pushes from you: HMAC-SHA256 over ``timestamp.body``."""


class DeliveryAttemptPublic(BaseModel):
    at: str
    status_code: int | None
    error: str
    duration_ms: float


class DeliveryPublic(BaseModel):
    delivery_id: str
    event_id: str
    event_type: str
    endpoint_id: int
    url: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str
    delivered_at: datetime | None
    created_at: datetime
    log: list[DeliveryAttemptPublic]


class DeliveryPage(BaseModel):
    items: list[DeliveryPublic]
    total: int
    limit: int
    offset: int


class OrderUpdateIn(BaseModel):
    order_id: str = Field(min_length=1, max_length=64)
    status: OrderStatus | None = None
    carrier: str | None = Field(default=None, max_length=100)
    tracking_number: str | None = Field(default=None, max_length=200)
    tracking_url: str | None = Field(default=None, max_length=1000, pattern=r"^https?://")
    updated_at: AwareDatetime | None = Field(
        default=None, description="When the platform changed the order; older pushes are ignored."
    )


class OrderSyncIn(BaseModel):
    orders: list[OrderUpdateIn] = Field(min_length=1, max_length=500)


class OrderSyncResult(BaseModel):
    order_id: str
    result: Literal["updated", "unchanged", "stale", "unknown"]


class OrderSyncPublic(BaseModel):
    results: list[OrderSyncResult]


class MerchantReplyIn(BaseModel):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class HandoffPublic(BaseModel):
    session_id: str
    channel: str
    handoff: str
    """'requested', 'taken' (the assistant is silent) or 'handled' (released)."""


class MerchantReplyPublic(HandoffPublic):
    delivered: bool
    """False for a web conversation: the reply is stored with the conversation."""
    message_ids: list[str]


def _endpoint(row: WebhookEndpoint) -> dict[str, Any]:
    return {
        "endpoint_id": row.id,
        "url": row.url,
        "events": list(row.events or []),
        "description": row.description,
        "active": row.active,
        "created_at": row.created_at,
    }


# -- webhook endpoints and the signing secret ----------------------------------------------
@router.get("/webhooks", response_model=list[WebhookEndpointPublic], responses=AUTH)
def list_webhooks(merchant_id: MerchantDep, db: DbDep) -> list[dict[str, Any]]:
    with db.read_session() as session:
        rows = session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.merchant_id == merchant_id)
            .order_by(WebhookEndpoint.id)
        )
        return [_endpoint(r) for r in rows]


@router.post(
    "/webhooks", response_model=WebhookEndpointPublic, status_code=status.HTTP_201_CREATED, responses=AUTH
)
def add_webhook(
    merchant_id: MerchantDep, db: DbDep, settings: SettingsDep, body: WebhookEndpointIn
) -> dict[str, Any]:
    """Send events to a URL, signed with the merchant's signing secret (see ``/signing-secret``)."""
    with db.session() as session:
        return _endpoint(
            webhooks.add_endpoint(
                session,
                merchant_id,
                body.url,
                list(body.events),
                body.description,
                settings.webhook_allow_private,
            )
        )


@router.patch("/webhooks/{endpoint_id}", response_model=WebhookEndpointPublic, responses=AUTH)
def update_webhook(
    merchant_id: MerchantDep,
    db: DbDep,
    settings: SettingsDep,
    endpoint_id: EndpointId,
    body: WebhookEndpointUpdate,
) -> dict[str, Any]:
    with db.session() as session:
        row = webhooks.get_endpoint(session, merchant_id, endpoint_id)
        if body.url is not None:
            row.url = webhooks.check_url(body.url, settings.webhook_allow_private)
        if body.events is not None:
            row.events = webhooks.check_events(list(body.events))
        if body.description is not None:
            row.description = body.description.strip()
        if body.active is not None:
            row.active = body.active
        session.flush()
        return _endpoint(row)


@router.delete("/webhooks/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT, responses=AUTH)
def remove_webhook(merchant_id: MerchantDep, db: DbDep, endpoint_id: EndpointId) -> Response:
    """Stop sending to an endpoint; its delivery log goes with it."""
    with db.session() as session:
        session.delete(webhooks.get_endpoint(session, merchant_id, endpoint_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/webhooks/{endpoint_id}/test",
    response_model=DeliveryPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=AUTH,
)
def test_webhook(merchant_id: MerchantDep, db: DbDep, endpoint_id: EndpointId) -> dict[str, Any]:
    """Queue a ``webhook.test`` event for this endpoint; the worker delivers it."""
    with db.session() as session:
        delivery = webhooks.send_test(session, merchant_id, endpoint_id, utcnow())
        return _delivery(session, delivery)


@router.get("/signing-secret", response_model=SigningSecretPublic, responses=AUTH)
def read_secret(merchant_id: MerchantDep, db: DbDep) -> dict[str, str]:
    """The secret that signs webhooks and order sync pushes (created on first request)."""
    with db.session() as session:
        return {"secret": webhooks.signing_secret(session, merchant_id)}


@router.post("/signing-secret/rotate", response_model=SigningSecretPublic, responses=AUTH)
def rotate_secret(merchant_id: MerchantDep, db: DbDep) -> dict[str, str]:
    """Replace the secret; deliveries from now on are signed with the new one."""
    with db.session() as session:
        return {"secret": webhooks.rotate_secret(session, merchant_id)}


# -- the delivery log ---------------------------------------------------------------------
def _delivery(session: Session, row: WebhookDelivery) -> dict[str, Any]:
    event = session.get(OutboxEvent, row.event_pk)
    endpoint = session.get(WebhookEndpoint, row.endpoint_id)
    assert event is not None  # deliveries are deleted with their event (foreign key cascade)
    return webhooks.delivery_public(row, event, endpoint.url if endpoint else "")


@router.get("/webhook-deliveries", response_model=DeliveryPage, responses=AUTH)
def list_deliveries(
    merchant_id: MerchantDep,
    db: DbDep,
    delivery_status: Annotated[
        Literal["pending", "delivered", "failed"] | None,
        Query(alias="status", description="Only this status."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """Every delivery, newest first, with each attempt's time, HTTP status and error."""
    query = select(WebhookDelivery).where(WebhookDelivery.merchant_id == merchant_id)
    if delivery_status:
        query = query.where(WebhookDelivery.status == delivery_status)
    with db.read_session() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit).offset(offset))
        return {
            "items": [_delivery(session, r) for r in rows],
            "total": total,
            "limit": limit,
            "offset": offset,
        }


@router.post("/webhook-deliveries/{delivery_id}/retry", response_model=DeliveryPublic, responses=AUTH)
def retry_delivery(
    merchant_id: MerchantDep, db: DbDep, delivery_id: Annotated[str, Path(max_length=40)]
) -> dict[str, Any]:
    """Send a delivery again on the worker's next pass (a failed one gets a fresh set of attempts)."""
    with db.session() as session:
        return _delivery(session, webhooks.retry_now(session, merchant_id, delivery_id, utcnow()))


# -- order sync in ------------------------------------------------------------------------
async def signed_push(
    request: Request, state: StateDep, merchant_id: Annotated[str, Path(pattern=MERCHANT_PATTERN)]
) -> str:
    """The merchant in the path, once the body is shown to be signed with its secret, recently, once."""
    body = await request.body()

    def check() -> str:
        with state.db.read_session() as session:
            secret = webhooks.existing_secret(session, merchant_id)
        if secret is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "order sync needs a signing secret: read /signing-secret"
            )
        try:
            timestamp = verify(secret, request.headers, body, utcnow(), state.settings.webhook_tolerance_s)
        except ChannelError as exc:
            raise HTTPException(exc.status_code, str(exc)) from None
        # Keyed on what was signed, so the same push with reworded headers is still a replay.
        signed = f"{merchant_id}:{timestamp}:{hashlib.sha256(body).hexdigest()}"
        if not dedup.claim(state.db, "order-sync", signed, merchant_id):
            raise HTTPException(
                status.HTTP_409_CONFLICT, "this signed push was already applied (replay refused)"
            )
        return merchant_id

    request.state.merchant_id = merchant_id
    return await anyio.to_thread.run_sync(check)


@router.post(
    "/orders/sync",
    response_model=OrderSyncPublic,
    responses=error_responses(401, 403, 409, 422),
)
def sync_orders(
    merchant_id: Annotated[str, Depends(signed_push)], db: DbDep, body: OrderSyncIn
) -> dict[str, Any]:
    """The merchant's platform pushes status and tracking changes (signed like our webhooks)."""
    updates = [
        ordersync.OrderUpdate(
            order_id=u.order_id,
            status=u.status,
            carrier=u.carrier,
            tracking_number=u.tracking_number,
            tracking_url=u.tracking_url,
            updated_at=u.updated_at,
        )
        for u in body.orders
    ]
    with db.session() as session:
        return {"results": ordersync.apply_all(session, merchant_id, updates)}


# -- human takeover -----------------------------------------------------------------------
def _handoff(handoff: takeover.Handoff) -> dict[str, Any]:
    return {"session_id": handoff.session_id, "channel": handoff.channel, "handoff": handoff.state}


@router.post("/conversations/{session_id}/takeover", response_model=HandoffPublic, responses=AUTH)
def take_over(merchant_id: MerchantDep, db: DbDep, session_id: SessionPath) -> dict[str, Any]:
    """A person takes the conversation: the assistant stays silent until it is released."""
    return _handoff(takeover.take(db, merchant_id, session_id))


@router.post(
    "/conversations/{session_id}/replies",
    response_model=MerchantReplyPublic,
    responses=error_responses(401, 403, 404, 409, 422, 502),
)
def reply(
    merchant_id: MerchantDep, hub: HubDep, session_id: SessionPath, body: MerchantReplyIn
) -> dict[str, Any]:
    """Send a person's reply to the shopper through the channel they wrote from (takes the conversation over).

    409 when the platform's reply window has closed (WhatsApp: 24 hours without a follow-up
    template; Messenger: 7 days); 502 when the platform refused the message."""
    with channel_errors():
        sent = hub.reply_as_merchant(merchant_id, session_id, body.text)
    return {
        **_handoff(takeover.status(hub.db, merchant_id, session_id)),
        "delivered": sent.delivered,
        "message_ids": sent.message_ids,
    }


@router.post("/conversations/{session_id}/release", response_model=HandoffPublic, responses=AUTH)
def release(merchant_id: MerchantDep, db: DbDep, session_id: SessionPath) -> dict[str, Any]:
    """Hand the conversation back to the assistant (the handoff is marked handled)."""
    return _handoff(takeover.release(db, merchant_id, session_id))
