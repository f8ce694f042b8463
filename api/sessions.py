"""Shopper sessions: unguessable ids the server issues, bound to one merchant.

Browsers carry the id in an HttpOnly, SameSite=Lax cookie (one per merchant); API clients
and widgets embedded on another site send ``X-Session-Id``. Only ids the server issued
are honoured: an unknown id, or one issued for another merchant, gets a fresh session, so
nobody can pick a predictable id or borrow another store's shopper.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request, Response
from sqlalchemy.exc import IntegrityError

from shop.db import Database
from shop.models import Conversation

SESSION_HEADER = "X-Session-Id"
COOKIE_PREFIX = "shopagent_session_"
COOKIE_MAX_AGE = 30 * 24 * 3600
_VALID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass(frozen=True)
class ShopperSession:
    merchant_id: str
    session_id: str
    is_new: bool


def new_session_id() -> str:
    """192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


def cookie_name(merchant_id: str) -> str:
    return COOKIE_PREFIX + merchant_id


def presented(request: Request, merchant_id: str) -> list[str]:
    """Session ids the request carries, the explicit header first."""
    found = [request.headers.get(SESSION_HEADER, ""), request.cookies.get(cookie_name(merchant_id), "")]
    return [value for value in found if value]


def resolve(
    db: Database, merchant_id: str, candidates: list[str], before_create: Callable[[], None] | None = None
) -> ShopperSession:
    """The first candidate that is a live session of this merchant, else a new session.

    ``before_create`` runs before a new session is stored and may refuse it (a rate limit on
    new sessions, so a client without cookies cannot fill the table).
    """
    valid = [c for c in candidates if _VALID.match(c)]
    if valid:
        with db.read_session() as session:
            for candidate in valid:
                row = session.get(Conversation, candidate)
                if row is not None and row.merchant_id == merchant_id:
                    return ShopperSession(merchant_id, candidate, is_new=False)
    if before_create is not None:
        before_create()
    for _ in range(3):
        session_id = new_session_id()
        try:
            with db.session() as session:
                session.add(
                    Conversation(id=session_id, merchant_id=merchant_id, channel="web", messages=[], state={})
                )
        except IntegrityError:  # a collision of 192 random bits: astronomically unlikely, but cheap
            continue
        return ShopperSession(merchant_id, session_id, is_new=True)
    raise RuntimeError("could not allocate a session id")


def attach(response: Response, request: Request, shopper: ShopperSession) -> None:
    """Tell the client its session: the cookie for browsers, a header for everyone."""
    response.headers[SESSION_HEADER] = shopper.session_id
    if shopper.is_new or request.cookies.get(cookie_name(shopper.merchant_id)) != shopper.session_id:
        response.set_cookie(
            cookie_name(shopper.merchant_id),
            shopper.session_id,
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )
