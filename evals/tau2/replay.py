"""Replay τ² reference actions (tool name + arguments) through the shop's own operations.

This is how the expected end state of a task is made: its reference actions applied to a
fresh copy of the store, each in its own transaction, exactly as τ²-bench replays them on
a fresh database. An action the rules refuse changes nothing and is reported, as τ² logs
it (a few reference trajectories contain such calls on purpose, e.g. a wrong email tried
before the right one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from shop import customers, post_purchase, product_types
from shop.catalog import get_merchant
from shop.customers import Address
from shop.db import Database
from shop.errors import ShopError

Handler = Callable[[Session, str, Mapping[str, Any]], Any]
WRITE_ACTIONS = frozenset(
    {
        "cancel_pending_order",
        "modify_pending_order_address",
        "modify_pending_order_items",
        "modify_pending_order_payment",
        "modify_user_address",
        "return_delivered_order_items",
        "exchange_delivered_order_items",
    }
)


@dataclass(frozen=True)
class Refused:
    index: int
    name: str
    arguments: dict[str, Any]
    error: str

    @property
    def is_write(self) -> bool:
        return self.name in WRITE_ACTIONS


def _address(a: Mapping[str, Any]) -> Address:
    return Address(a["address1"], a["address2"], a["city"], a["state"], a["country"], a["zip"])


def _user_details(s: Session, m: str, a: Mapping[str, Any]) -> Any:
    currency = get_merchant(s, m).currency
    return customers.customer_details(s, customers.get_customer(s, m, a["user_id"]), currency)


HANDLERS: dict[str, Handler] = {
    "find_user_id_by_email": lambda s, m, a: customers.user_id_of(customers.find_by_email(s, m, a["email"])),
    "find_user_id_by_name_zip": lambda s, m, a: customers.user_id_of(
        customers.find_by_name_zip(s, m, a["first_name"], a["last_name"], a["zip"])
    ),
    "get_user_details": _user_details,
    "get_order_details": lambda s, m, a: post_purchase.order_details(s, m, a["order_id"]),
    "get_product_details": lambda s, m, a: product_types.product_details(s, m, a["product_id"]),
    "get_item_details": lambda s, m, a: product_types.item_details(s, m, a["item_id"]),
    "list_all_product_types": lambda s, m, a: product_types.list_product_types(s, m),
    "calculate": lambda s, m, a: None,
    "transfer_to_human_agents": lambda s, m, a: None,
    "cancel_pending_order": lambda s, m, a: post_purchase.cancel_pending_order(
        s, m, a["order_id"], a["reason"]
    ),
    "modify_pending_order_address": lambda s, m, a: post_purchase.modify_pending_order_address(
        s, m, a["order_id"], _address(a)
    ),
    "modify_pending_order_items": lambda s, m, a: post_purchase.modify_pending_order_items(
        s, m, a["order_id"], list(a["item_ids"]), list(a["new_item_ids"]), a["payment_method_id"]
    ),
    "modify_pending_order_payment": lambda s, m, a: post_purchase.modify_pending_order_payment(
        s, m, a["order_id"], a["payment_method_id"]
    ),
    "modify_user_address": lambda s, m, a: customers.change_default_address(s, m, a["user_id"], _address(a)),
    "return_delivered_order_items": lambda s, m, a: post_purchase.return_delivered_order_items(
        s, m, a["order_id"], list(a["item_ids"]), a["payment_method_id"]
    ),
    "exchange_delivered_order_items": lambda s, m, a: post_purchase.exchange_delivered_order_items(
        s, m, a["order_id"], list(a["item_ids"]), list(a["new_item_ids"]), a["payment_method_id"]
    ),
}


class UnknownAction(ValueError):
    """A task names a tool τ²'s retail domain does not have: the task file is wrong."""


def apply_action(session: Session, merchant_id: str, name: str, arguments: Mapping[str, Any]) -> Any:
    handler = HANDLERS.get(name)
    if handler is None:
        raise UnknownAction(f"unknown τ² retail action {name!r}")
    return handler(session, merchant_id, arguments)


def replay(db: Database, merchant_id: str, actions: list[tuple[str, dict[str, Any]]]) -> list[Refused]:
    """Apply each action in its own transaction; the ones the rules refuse are returned."""
    refused: list[Refused] = []
    for index, (name, arguments) in enumerate(actions):
        try:
            with db.session() as session:
                apply_action(session, merchant_id, name, arguments)
        except ShopError as exc:
            refused.append(Refused(index, name, dict(arguments), str(exc)))
    return refused
