"""Payment seam. The model never sees card data: providers only get an order summary.

``manual`` places the order as ``pending`` with bank-transfer instructions; ``test`` marks
it paid at once (for tests and demos); ``stripe`` creates a Stripe Checkout session and
returns its URL (the optional adapter lives in :mod:`shop.stripe_payments`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from shop.errors import ConfigError
from shop.money import Money
from shop.settings import Settings


@dataclass(frozen=True)
class PaymentRequest:
    order_id: str
    merchant_id: str
    email: str
    total: Money
    lines: list[tuple[str, int, Money]] = field(default_factory=list)
    """(title, quantity, unit price) for providers that show line items."""


@dataclass(frozen=True)
class PaymentResult:
    order_status: str
    """Status the new order takes: ``pending`` (awaiting payment) or ``paid``."""
    payment_status: str
    reference: str = ""
    instructions: str = ""
    redirect_url: str = ""


class PaymentProvider(Protocol):
    name: str

    def start(self, request: PaymentRequest) -> PaymentResult: ...


class ManualProvider:
    """Bank transfer / invoice: the order waits as ``pending`` until the merchant sees the money."""

    name = "manual"

    def start(self, request: PaymentRequest) -> PaymentResult:
        return PaymentResult(
            order_status="pending",
            payment_status="awaiting_transfer",
            reference=request.order_id,
            instructions=(
                f"Please transfer {request.total} with the reference {request.order_id}. "
                "The order ships once the payment arrives."
            ),
        )


class TestProvider:
    """Accepts every payment at once; records what it was asked to charge."""

    name = "test"
    __test__ = False  # not a pytest class

    def __init__(self) -> None:
        self.charged: list[PaymentRequest] = []

    def start(self, request: PaymentRequest) -> PaymentResult:
        self.charged.append(request)
        return PaymentResult(
            order_status="paid", payment_status="captured", reference=f"test_{request.order_id}"
        )


def get_provider(settings: Settings) -> PaymentProvider:
    name = settings.payment_provider
    if name == "manual":
        return ManualProvider()
    if name == "test":
        return TestProvider()
    if name == "stripe":
        from shop.stripe_payments import StripeProvider

        if settings.stripe_api_key is None:
            raise ConfigError("SHOPAGENT_PAYMENT_PROVIDER=stripe needs SHOPAGENT_STRIPE_API_KEY")
        return StripeProvider(settings.stripe_api_key.get_secret_value())
    raise ConfigError(f"SHOPAGENT_PAYMENT_PROVIDER={name!r} is unknown: use manual, test or stripe")
