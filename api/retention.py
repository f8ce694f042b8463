"""Returning shoppers, cart links and ratings over HTTP (docs/retention.md).

Shopper routes: the remembered shopper of the session (``GET /v1/shopper``), consent to be
remembered and to get one cart reminder (``POST /v1/consent``), being forgotten
(``POST /v1/forget``), the link back to a reminded cart (``GET /v1/cart/restore/{token}``)
and the end-of-conversation rating (``POST /v1/rating``). Merchant route: rating aggregates
per day and per language (``GET /v1/merchants/{merchant_id}/ratings``).

A remembered browser carries a long-lived HttpOnly cookie with a random token (stored
hashed); :func:`recognize` links the session to the profile when it comes back, and hands
out the cookie to a session that opted in through the chat.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import privacy, sessions
from api.deps import ChatQuota, DbDep, LookupQuota, MerchantDep, SessionDep, SettingsDep
from api.errors import error_responses
from api.schemas import Email, _In
from shop import ratings, reminders, shoppers
from shop.db import Database
from shop.errors import InvalidRequest, NotFound
from shop.forget import forget
from shop.models import Checkout, Conversation, utcnow
from shop.orders import normalize_email
from shop.settings import Settings

router = APIRouter(prefix="/v1", tags=["shopper"])
merchant_router = APIRouter(prefix="/v1/merchants/{merchant_id}", tags=["merchant"])
COOKIE_PREFIX = "shopagent_shopper_"
OrderId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
PRIVATE = error_responses(400, 403, 404, 422, 429)


# -- schemas ----------------------------------------------------------------------------------
class ConsentIn(_In):
    remember: bool = Field(default=False, description="Remember me next time (needs a verified email).")
    reminders: bool | None = Field(
        default=None, description="true: one reminder if I leave items in my cart; false: withdraw it."
    )
    email: Email | None = Field(
        default=None, description="Verified in the chat, or proven with an order id placed with it."
    )
    order_id: OrderId | None = None


class ForgetIn(_In):
    email: Email | None = Field(
        default=None, description="Also erase this email (needs an order id or chat proof)."
    )
    order_id: OrderId | None = None


class ShopperPublic(BaseModel):
    remembered: bool
    name: str = ""
    lang: str = ""
    reminders: bool = Field(description="This conversation (or profile) allows one cart reminder.")
    past_orders: int = 0


class ForgetPublic(BaseModel):
    forgotten: bool
    counts: dict[str, int]


class RatingIn(_In):
    rating: int = Field(ge=1, le=5, description="1 (poor) to 5 (excellent).")
    comment: str = Field(default="", max_length=2000)


class RatingPublic(BaseModel):
    rating: int
    lang: str


class RatingSummaryPublic(BaseModel):
    count: int
    mean: float | None = Field(description="Average rating, two decimals; null without ratings.")
    distribution: dict[str, int] = Field(description="Number of ratings per star, '1' to '5'.")


class RatingDayPublic(RatingSummaryPublic):
    day: str = Field(description="UTC date, YYYY-MM-DD.")


class RatingLangPublic(RatingSummaryPublic):
    lang: str


class RatingsPublic(BaseModel):
    since: datetime
    until: datetime
    overall: RatingSummaryPublic
    by_day: list[RatingDayPublic]
    by_lang: list[RatingLangPublic]


# -- the remember-me cookie -------------------------------------------------------------------
def cookie_name(merchant_id: str) -> str:
    return COOKIE_PREFIX + merchant_id


def _set_cookie(response: Response, request: Request, merchant_id: str, token: str, days: int) -> None:
    response.set_cookie(
        cookie_name(merchant_id),
        token,
        max_age=days * 24 * 3600,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def _linked_by_cookie(request: Request, session: Session, shopper: sessions.ShopperSession) -> str:
    """Link the session to the profile of the browser's remember-me cookie; returns the cookie's
    state: ``valid``, ``invalid`` (unknown, expired or forgotten) or ``none``."""
    token = request.cookies.get(cookie_name(shopper.merchant_id), "")
    if not token:
        return "none"
    customer = shoppers.customer_of_token(session, shopper.merchant_id, token)
    if customer is None:
        return "invalid"
    shoppers.link(session, shopper.merchant_id, shopper.session_id, customer)
    return "valid"


def recognize(
    request: Request, response: Response, db: Database, settings: Settings, shopper: sessions.ShopperSession
) -> None:
    """Link a returning browser's session to its profile; give a session that opted in its cookie.

    The cookie goes only to a client that keeps cookies (it sent the session cookie): an API
    client or a widget embedded on another site would drop it and ask again on every request."""
    has_token = bool(request.cookies.get(cookie_name(shopper.merchant_id)))
    keeps_cookies = request.cookies.get(sessions.cookie_name(shopper.merchant_id)) == shopper.session_id
    if not has_token and not keeps_cookies:
        return
    if not has_token:
        with db.read_session() as session:
            if shoppers.linked_customer(session, shopper.merchant_id, shopper.session_id) is None:
                return
    with db.session() as session:
        cookie = _linked_by_cookie(request, session, shopper)
        if cookie == "valid":
            return
        if cookie == "invalid":
            response.delete_cookie(cookie_name(shopper.merchant_id), path="/")
        linked = shoppers.linked_customer(session, shopper.merchant_id, shopper.session_id)
        if linked is not None and keeps_cookies:
            fresh = shoppers.issue_token(session, shopper.merchant_id, linked.id, settings.remember_days)
            _set_cookie(response, request, shopper.merchant_id, fresh, settings.remember_days)


def _status(session: Session, merchant_id: str, session_id: str) -> dict[str, Any]:
    customer = shoppers.linked_customer(session, merchant_id, session_id)
    contact = shoppers.contact_consent(session, merchant_id, session_id) is not None
    if customer is None:
        return {"remembered": False, "reminders": contact}
    known = shoppers.describe(session, merchant_id, customer)
    return {
        "remembered": True,
        "name": known.name,
        "lang": known.lang,
        "reminders": contact or known.reminders,
        "past_orders": len(known.orders),
    }


# -- shopper routes -----------------------------------------------------------------------------
@router.get("/shopper", response_model=ShopperPublic, responses=error_responses(404, 422, 429))
def who_am_i(
    request: Request, response: Response, db: DbDep, settings: SettingsDep, shopper: SessionDep
) -> dict[str, Any]:
    """Whether this browser is a remembered shopper (the widget greets them by name)."""
    recognize(request, response, db, settings, shopper)
    with db.read_session() as session:
        return _status(session, shopper.merchant_id, shopper.session_id)


def _checkout_email(session: Session, merchant_id: str, session_id: str, email: str) -> bool:
    """The shopper typed this email for a checkout in this very session."""
    rows = session.scalars(
        select(Checkout.email).where(Checkout.merchant_id == merchant_id, Checkout.session_id == session_id)
    )
    return normalize_email(email) in {normalize_email(e) for e in rows}


@router.post("/consent", response_model=ShopperPublic, responses=PRIVATE, dependencies=[LookupQuota])
def give_consent(
    body: ConsentIn,
    request: Request,
    response: Response,
    db: DbDep,
    settings: SettingsDep,
    shopper: SessionDep,
) -> dict[str, Any]:
    """Opt in to be remembered (greeted by name, past orders and sizes known) and/or to get one
    reminder of a cart left with items; ``reminders: false`` withdraws the reminder consent.
    To stop being remembered, use POST /v1/forget."""
    merchant_id, session_id = shopper.merchant_id, shopper.session_id
    with db.session() as session:
        conversation = session.get(Conversation, session_id)
        lang = conversation.lang if conversation is not None else ""
        email = ""
        if body.remember or body.reminders:
            if body.email is None:
                raise InvalidRequest(
                    "give the email to use (verified in the chat, or with an order id placed with it)"
                )
            if body.remember or not _checkout_email(session, merchant_id, session_id, body.email):
                email = privacy.verify(session, merchant_id, session_id, body.email, body.order_id)
            else:
                email = normalize_email(body.email)
        if body.remember:
            customer = shoppers.remember(
                session, merchant_id, session_id, email, lang, contact=bool(body.reminders)
            )
            token = shoppers.issue_token(session, merchant_id, customer.id, settings.remember_days)
            _set_cookie(response, request, merchant_id, token, settings.remember_days)
        elif body.reminders:
            shoppers.allow_contact(session, merchant_id, session_id, "web", email, lang)
        if body.reminders is False:
            shoppers.withdraw_contact(session, merchant_id, session_id)
        session.flush()
        return _status(session, merchant_id, session_id)


@router.post("/forget", response_model=ForgetPublic, responses=PRIVATE, dependencies=[LookupQuota])
def forget_me(
    request: Request, response: Response, db: DbDep, shopper: SessionDep, body: ForgetIn | None = None
) -> dict[str, Any]:
    """Forget the remembered shopper of this browser (and a verified email, if given): profile,
    consents, conversations, carts, wishlists and ratings are deleted; orders stay anonymised."""
    merchant_id, session_id = shopper.merchant_id, shopper.session_id
    with db.session() as session:
        _linked_by_cookie(request, session, shopper)
        customer = shoppers.linked_customer(session, merchant_id, session_id)
        emails = [customer.email] if customer is not None else []
        if body is not None and body.email is not None:
            emails.append(privacy.verify(session, merchant_id, session_id, body.email, body.order_id))
        if not emails:
            raise NotFound(
                "nothing is remembered for this browser: give an email and an order id placed with it"
            )
        counts = forget(
            session,
            merchant_id,
            emails=emails,
            customer_ids=[customer.id] if customer is not None else [],
            session_ids=[session_id],
        )
    response.delete_cookie(cookie_name(merchant_id), path="/")
    response.delete_cookie(sessions.cookie_name(merchant_id), path="/")
    return {"forgotten": True, "counts": counts}


@router.get(
    "/cart/restore/{token}",
    status_code=status.HTTP_303_SEE_OTHER,
    response_class=RedirectResponse,
    responses={
        303: {"description": "The cart is restored into this browser's session; on to the shop."},
        **error_responses(404, 422, 429),
    },
)
def restore_cart(
    request: Request,
    db: DbDep,
    shopper: SessionDep,
    token: Annotated[str, Path(min_length=16, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")],
) -> RedirectResponse:
    """The link of a cart reminder: puts the reminded items into this browser's cart."""
    with db.session() as session:
        reminders.restore(session, shopper.merchant_id, token, shopper.session_id, utcnow())
    redirect = RedirectResponse(f"/?merchant={shopper.merchant_id}", status_code=status.HTTP_303_SEE_OTHER)
    sessions.attach(redirect, request, shopper)
    return redirect


@router.post(
    "/rating",
    response_model=RatingPublic,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(400, 404, 422, 429),
    dependencies=[ChatQuota],
)
def rate(body: RatingIn, db: DbDep, shopper: SessionDep) -> dict[str, Any]:
    """Rate this conversation from 1 to 5 (again to change the rating), with an optional comment."""
    with db.session() as session:
        row = ratings.rate(session, shopper.merchant_id, shopper.session_id, body.rating, body.comment)
        return {"rating": row.rating, "lang": row.lang}


# -- merchant route -------------------------------------------------------------------------------
@merchant_router.get("/ratings", response_model=RatingsPublic, responses=error_responses(401, 403, 404, 422))
def rating_aggregates(
    merchant_id: MerchantDep,
    db: DbDep,
    days: Annotated[int, Query(ge=1, le=366, description="The last N days (UTC), today included.")] = 30,
) -> dict[str, Any]:
    """Conversation ratings per day and per language: count, mean and distribution over 1..5."""
    now = utcnow()
    until = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    with db.read_session() as session:
        return ratings.aggregate(session, merchant_id, until - timedelta(days=days), until)
