"""Platform webhooks: Telegram, WhatsApp Cloud API and Messenger post shopper messages here.

A delivery is verified against the platform's secret before anything is read (401 without a
signature, 403 with a wrong one), its messages are claimed by update id (a retried delivery
is acknowledged and dropped), and the 200 goes back at once: the agent's turn and the reply
run afterwards, so a slow model never makes a platform retry. A channel whose settings are
missing answers 404.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, BackgroundTasks, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from api.deps import AppState, StateDep
from api.errors import error_responses
from channels import outbox
from channels.base import ChannelError, InboundMessage, make_client
from channels.hub import ChannelHub


@asynccontextmanager
async def hub_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Build the channel hub once the app state exists; tests may set ``app.state.channel_http``."""
    state: AppState = app.state.shop
    given = getattr(app.state, "channel_http", None)
    client = given or make_client(state.settings.webhook_timeout_s)
    outbox.install()
    app.state.channel_hub = ChannelHub(state.settings, state.db, state.agent, client)
    try:
        yield
    finally:
        if given is None:
            client.close()


router = APIRouter(prefix="/v1/channels", tags=["channels"], lifespan=hub_lifespan)


def get_hub(request: Request) -> ChannelHub:
    hub: ChannelHub = request.app.state.channel_hub
    return hub


HubDep = Annotated[ChannelHub, Depends(get_hub)]


@contextmanager
def channel_errors() -> Iterator[None]:
    """Channel refusals as HTTP answers with the status each error names."""
    try:
        yield
    except ChannelError as exc:
        raise HTTPException(exc.status_code, str(exc)) from None


class AckPublic(BaseModel):
    ok: bool
    accepted: int
    """Messages taken for processing (0 for a retried delivery or a status update)."""


async def _receive(
    hub: ChannelHub, state: AppState, name: str, request: Request, background: BackgroundTasks
) -> dict[str, Any]:
    body = await request.body()
    with channel_errors():
        channel = hub.channel(name)
        channel.verify(request.headers, body)
        messages = channel.parse(body)
    fresh = await anyio.to_thread.run_sync(hub.accept, channel, messages)
    if fresh:
        background.add_task(_process, hub, state, name, fresh)
    return {"ok": True, "accepted": len(fresh)}


async def _process(hub: ChannelHub, state: AppState, name: str, messages: list[InboundMessage]) -> None:
    # Agent turns share the server's cap on concurrent turns with the web chat.
    await anyio.to_thread.run_sync(hub.process, hub.channel(name), messages, limiter=state.turns)


WEBHOOK_ERRORS = error_responses(400, 401, 403, 404)


@router.post("/telegram", response_model=AckPublic, responses=WEBHOOK_ERRORS)
async def telegram_update(
    request: Request, background: BackgroundTasks, hub: HubDep, state: StateDep
) -> dict[str, Any]:
    """A Bot API update; Telegram must send the secret token given to ``setWebhook``."""
    return await _receive(hub, state, "telegram", request, background)


@router.post("/whatsapp", response_model=AckPublic, responses=WEBHOOK_ERRORS)
async def whatsapp_update(
    request: Request, background: BackgroundTasks, hub: HubDep, state: StateDep
) -> dict[str, Any]:
    """A Cloud API webhook, signed with the app secret (``X-Hub-Signature-256``)."""
    return await _receive(hub, state, "whatsapp", request, background)


@router.post("/messenger", response_model=AckPublic, responses=WEBHOOK_ERRORS)
async def messenger_update(
    request: Request, background: BackgroundTasks, hub: HubDep, state: StateDep
) -> dict[str, Any]:
    """A page webhook, signed with the app secret (``X-Hub-Signature-256``)."""
    return await _receive(hub, state, "messenger", request, background)


Mode = Annotated[str, Query(alias="hub.mode", max_length=32)]
VerifyToken = Annotated[str, Query(alias="hub.verify_token", max_length=500)]
Challenge = Annotated[str, Query(alias="hub.challenge", max_length=500)]
HANDSHAKE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The challenge, as text.",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    },
    **error_responses(403, 404),
}


@router.get("/whatsapp", responses=HANDSHAKE_RESPONSES)
def whatsapp_subscribe(
    hub: HubDep, mode: Mode = "", token: VerifyToken = "", challenge: Challenge = ""
) -> PlainTextResponse:
    """Meta's subscription handshake: echoes ``hub.challenge`` when ``hub.verify_token`` matches."""
    with channel_errors():
        return PlainTextResponse(hub.handshake("whatsapp", mode, token, challenge))


@router.get("/messenger", responses=HANDSHAKE_RESPONSES)
def messenger_subscribe(
    hub: HubDep, mode: Mode = "", token: VerifyToken = "", challenge: Challenge = ""
) -> PlainTextResponse:
    """Meta's subscription handshake: echoes ``hub.challenge`` when ``hub.verify_token`` matches."""
    with channel_errors():
        return PlainTextResponse(hub.handshake("messenger", mode, token, challenge))
