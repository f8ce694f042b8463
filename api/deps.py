"""Dependencies of the routes, as ``Annotated`` aliases, and the state built once per app.

``AppState`` holds the heavy objects (settings, database, agent, payment provider, rate
limits, ingest jobs); ``server.create_app`` builds it in the lifespan and routes reach it
through :data:`StateDep`. Tests hand ``create_app`` their own settings and agent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated

import anyio
from fastapi import Depends, HTTPException, Path, Query, Request, Response, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from agent.service import Agent
from api import sessions
from api.jobs import IngestJobs
from api.keys import merchant_of_key
from api.limits import RateLimits
from api.logs import fingerprint
from api.schemas import MERCHANT_PATTERN
from shop.db import Database
from shop.models import Merchant
from shop.payments import PaymentProvider
from shop.settings import Settings


@dataclass
class AppState:
    settings: Settings
    db: Database
    agent: Agent
    payment: PaymentProvider
    limits: RateLimits
    jobs: IngestJobs
    turns: anyio.CapacityLimiter
    """Agent turns run in worker threads; this caps how many at once."""
    known_merchants: set[str] = field(default_factory=set)


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.shop
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_db(state: StateDep) -> Database:
    return state.db


def get_settings(state: StateDep) -> Settings:
    return state.settings


DbDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


# -- shoppers -----------------------------------------------------------------------------
def shopper_merchant(
    request: Request,
    state: StateDep,
    merchant: Annotated[
        str | None,
        Query(pattern=MERCHANT_PATTERN, description="The store; default: the server's configured merchant."),
    ] = None,
) -> str:
    merchant_id = merchant or state.settings.merchant
    if merchant_id not in state.known_merchants:
        with state.db.read_session() as session:
            if session.get(Merchant, merchant_id) is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"unknown merchant {merchant_id!r}")
        state.known_merchants.add(merchant_id)  # stores are never deleted while the server runs
    request.state.merchant_id = merchant_id
    return merchant_id


ShopperMerchantDep = Annotated[str, Depends(shopper_merchant)]


def shopper_session(
    request: Request, response: Response, state: StateDep, merchant_id: ShopperMerchantDep
) -> sessions.ShopperSession:
    """The caller's session for this merchant (header, then cookie), or a new one."""
    address = client_address(request)
    shopper = sessions.resolve(
        state.db,
        merchant_id,
        sessions.presented(request, merchant_id),
        lambda: state.limits.new_session(address),
    )
    sessions.attach(response, request, shopper)
    request.state.session_tag = fingerprint(shopper.session_id)
    return shopper


SessionDep = Annotated[sessions.ShopperSession, Depends(shopper_session)]


def chat_quota(request: Request, state: StateDep, shopper: SessionDep) -> None:
    state.limits.chat.check(shopper.session_id, client_address(request))


def lookup_quota(request: Request, state: StateDep, shopper: SessionDep) -> None:
    state.limits.lookup.check(shopper.session_id, client_address(request))


ChatQuota = Depends(chat_quota)
LookupQuota = Depends(lookup_quota)


# -- merchants ----------------------------------------------------------------------------
_bearer = HTTPBearer(auto_error=False, description="A merchant API key: `Authorization: Bearer sa_...`")
_api_key = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="A merchant API key (alternative header)."
)
_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}
_KEY_SHAPE = re.compile(r"^[\x21-\x7e]{1,200}$")


def authorized_merchant(
    request: Request,
    state: StateDep,
    merchant_id: Annotated[str, Path(pattern=MERCHANT_PATTERN)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> str:
    """The merchant in the path, once the presented key is shown to be one of its keys."""
    key = bearer.credentials if bearer else (api_key or "")
    if not key:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "an API key is required", headers=_UNAUTHORIZED)
    owner = merchant_of_key(state.db, key) if _KEY_SHAPE.match(key) else None
    if owner is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown API key", headers=_UNAUTHORIZED)
    if owner != merchant_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this API key belongs to another merchant")
    request.state.merchant_id = merchant_id
    return merchant_id


MerchantDep = Annotated[str, Depends(authorized_merchant)]
