"""Optional Stripe Checkout adapter: the shopper pays on Stripe's page, never in the chat.

The order is placed as ``pending`` with the Checkout Session URL; Stripe's webhook (or the
merchant) marks it paid. Only totals and line titles are sent; no card data passes here.
"""

from __future__ import annotations

from typing import Any

import stripe

from shop.payments import PaymentRequest, PaymentResult


class StripeProvider:
    name = "stripe"

    def __init__(
        self,
        api_key: str,
        success_url: str = "http://127.0.0.1:8000/?paid={CHECKOUT_SESSION_ID}",
        cancel_url: str = "http://127.0.0.1:8000/?cancelled=1",
        http_client: stripe.HTTPClient | None = None,
    ) -> None:
        self._client = stripe.StripeClient(api_key, http_client=http_client, max_network_retries=0)
        self._success_url = success_url
        self._cancel_url = cancel_url

    def start(self, request: PaymentRequest) -> PaymentResult:
        cur = request.total.currency.lower()
        line_items: list[dict[str, Any]] = [
            {
                "quantity": qty,
                "price_data": {
                    "currency": cur,
                    "unit_amount": unit.minor,
                    "product_data": {"name": title[:250]},
                },
            }
            for title, qty, unit in request.lines
        ]
        lines_total = sum(unit.minor * qty for _, qty, unit in request.lines)
        extra = request.total.minor - lines_total
        if extra > 0:  # shipping and other charges the server added
            line_items.append(
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": cur,
                        "unit_amount": extra,
                        "product_data": {"name": "Shipping"},
                    },
                }
            )
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": line_items,
            "client_reference_id": request.order_id,
            "customer_email": request.email,
            "metadata": {"order_id": request.order_id, "merchant_id": request.merchant_id},
            "success_url": self._success_url,
            "cancel_url": self._cancel_url,
        }
        session = self._client.v1.checkout.sessions.create(params=params)  # type: ignore[arg-type]
        return PaymentResult(
            order_status="pending",
            payment_status="awaiting_payment",
            reference=str(session.id),
            redirect_url=str(session.url or ""),
            instructions="Complete the payment on the secure Stripe page.",
        )
