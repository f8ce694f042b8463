"""Customer accounts kept by the merchant's platform: lookup, profile, default address, wallets.

A customer is found by email, or by first name + last name + zip code (names compared
without case or accents, since a shopper may type "Sofia" for "Sofía"; the zip must match
exactly, it is the verifying factor). ``external_id`` is the platform's user id (a τ² user
id such as ``sara_doe_496``), which is what shoppers and agents quote.

Payment methods live in ``Customer.payment_methods`` by id; a gift card carries its
balance in minor units (``balance_minor``) of the merchant's currency.
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop.errors import InvalidRequest, NotFound
from shop.models import Customer, Order
from shop.money import Money

NO_USER = "no customer matches these details"
GIFT_CARD = "gift_card"


def fold(text: str) -> str:
    """Case- and accent-insensitive form of a name or email, for matching only."""
    decomposed = unicodedata.normalize("NFKD", text.strip())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


@dataclass(frozen=True)
class Address:
    address1: str
    address2: str
    city: str
    state: str
    country: str
    zip: str

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, str) or len(value) > 200:
                raise InvalidRequest(f"address {name} must be text of at most 200 characters")
        for name in ("address1", "city", "country", "zip"):
            if not getattr(self, name).strip():
                raise InvalidRequest(f"address {name} is missing")

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Address:
        return cls(**{name: str(data.get(name) or "") for name in cls.__dataclass_fields__})

    def one_line(self) -> str:
        parts = [self.address1, self.address2, self.city, f"{self.state} {self.zip}".strip(), self.country]
        return ", ".join(p for p in parts if p)


def find_by_email(session: Session, merchant_id: str, email: str) -> Customer:
    wanted = fold(email)
    if not wanted:
        raise NotFound(NO_USER)
    exact = session.scalar(
        select(Customer).where(
            Customer.merchant_id == merchant_id, func.lower(Customer.email) == email.strip().lower()
        )
    )
    if exact is not None:
        return exact
    # Folding (accents) cannot be done in SQL portably; a scan of two columns is cheap at
    # the sizes a merchant's own store has.
    rows = session.execute(select(Customer.id, Customer.email).where(Customer.merchant_id == merchant_id))
    for pk, stored in rows:
        if fold(stored) == wanted:
            return _by_pk(session, pk)
    raise NotFound(NO_USER)


def _by_pk(session: Session, pk: int) -> Customer:
    customer = session.get(Customer, pk)
    if customer is None:
        raise NotFound(NO_USER)
    return customer


def find_by_name_zip(
    session: Session, merchant_id: str, first_name: str, last_name: str, zip_code: str
) -> Customer:
    first, last, zip_wanted = fold(first_name), fold(last_name), zip_code.strip()
    if not (first and last and zip_wanted):
        raise NotFound(NO_USER)
    rows = session.execute(
        select(Customer.id, Customer.first_name, Customer.last_name).where(
            Customer.merchant_id == merchant_id
        )
    )
    # Names first (cheap columns); only the few namesakes have their address read.
    for pk, stored_first, stored_last in rows.all():
        if fold(stored_last) == last and fold(stored_first) == first:
            customer = _by_pk(session, pk)
            if str(customer.address.get("zip", "")).strip() == zip_wanted:
                return customer
    raise NotFound(NO_USER)


def get_customer(session: Session, merchant_id: str, user_id: str) -> Customer:
    """The customer with this platform user id, or :class:`NotFound`."""
    customer = session.scalar(
        select(Customer).where(Customer.merchant_id == merchant_id, Customer.external_id == user_id.strip())
    )
    if customer is None:
        raise NotFound(f"unknown user id {user_id.strip()[:80]!r}")
    return customer


def user_id_of(customer: Customer) -> str:
    return customer.external_id or customer.email


def order_ids(session: Session, customer: Customer) -> list[str]:
    """The customer's orders, in the platform's order when it was imported."""
    kept = customer.profile.get("order_ids")
    if isinstance(kept, list):
        return [str(o) for o in kept]
    rows = session.scalars(select(Order.order_id).where(Order.customer_id == customer.id).order_by(Order.id))
    return list(rows)


def payment_method_record(method: dict[str, Any], currency: str) -> dict[str, Any]:
    record = {k: v for k, v in method.items() if k != "balance_minor"}
    if "balance_minor" in method:
        record["balance"] = Money(int(method["balance_minor"]), currency).to_str()
    return record


def customer_details(session: Session, customer: Customer, currency: str) -> dict[str, Any]:
    return {
        "user_id": user_id_of(customer),
        "name": {"first_name": customer.first_name, "last_name": customer.last_name},
        "address": dict(customer.address),
        "email": customer.email,
        "payment_methods": {
            pm_id: payment_method_record(method, currency)
            for pm_id, method in customer.payment_methods.items()
        },
        "orders": order_ids(session, customer),
    }


def change_default_address(session: Session, merchant_id: str, user_id: str, address: Address) -> Customer:
    customer = get_customer(session, merchant_id, user_id)
    customer.address = address.to_dict()
    session.flush()
    return customer


def payment_method(customer: Customer, payment_method_id: str) -> dict[str, Any]:
    method = customer.payment_methods.get(payment_method_id)
    if not isinstance(method, dict):
        known = ", ".join(customer.payment_methods) or "none"
        raise NotFound(f"payment method {payment_method_id[:80]!r} is not one of this customer's ({known})")
    return method


def is_gift_card(method: dict[str, Any]) -> bool:
    return method.get("source") == GIFT_CARD


def gift_card_balance(method: dict[str, Any]) -> int:
    return int(method.get("balance_minor", 0))


def credit_gift_card(customer: Customer, payment_method_id: str, amount_minor: int) -> None:
    """Add ``amount_minor`` (negative to charge) to a gift card; other methods are settled outside."""
    method = payment_method(customer, payment_method_id)
    if not is_gift_card(method):
        return
    balance = gift_card_balance(method) + amount_minor
    if balance < 0:
        raise InvalidRequest(f"gift card {payment_method_id} does not have enough balance")
    # JSON columns are not mutation-tracked: assign a new mapping so the change is written.
    customer.payment_methods = {
        **customer.payment_methods,
        payment_method_id: {**method, "balance_minor": balance},
    }
