"""Shopper routes for wishlists: the session's own list, and a shared list by its link.

Saving, removing and moving items happen through the assistant's tools; these routes show
the list. A shared link shows the items read-only: no session, owner or cart is exposed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from api.deps import DbDep, SessionDep, ShopperMerchantDep
from api.errors import error_responses
from api.schemas import SharedWishlistPublic, WishlistPublic
from shop import wishlists

router = APIRouter(prefix="/v1", tags=["shopper"])
READ = error_responses(404, 422, 429)
Token = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{16,64}$", description="The token of a shared link.")]


@router.get("/wishlist", response_model=WishlistPublic, responses=READ)
def my_wishlist(db: DbDep, shopper: SessionDep) -> dict[str, Any]:
    """The caller's wishlist, with the link to share it."""
    with db.read_session() as session:
        view = wishlists.list_items(session, shopper.merchant_id, wishlists.session_owner(shopper.session_id))
    token = view.get("share_token")
    path = wishlists.share_path(token, shopper.merchant_id) if token else None
    return {"items": view["items"], "share_path": path}


@router.get("/wishlists/{token}", response_model=SharedWishlistPublic, responses=READ)
def shared_wishlist(db: DbDep, merchant_id: ShopperMerchantDep, token: Token) -> dict[str, Any]:
    """A wishlist someone shared: its items with today's store prices, read-only."""
    with db.read_session() as session:
        return wishlists.shared(session, merchant_id, token)
