"""The Stripe adapter against canned HTTP: never the network."""

import json
from urllib.parse import parse_qs

import httpx
import stripe

from shop.money import Money
from shop.payments import PaymentRequest
from shop.stripe_payments import StripeProvider


def test_creates_checkout_session_with_server_totals():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "id": "cs_test_123",
                "object": "checkout.session",
                "url": "https://checkout.stripe.test/cs_test_123",
            },
        )

    client = stripe.HTTPXClient(allow_sync_methods=True)
    client._client = httpx.Client(transport=httpx.MockTransport(handler))
    provider = StripeProvider("sk_test_x", http_client=client)
    result = provider.start(
        PaymentRequest(
            order_id="SA-1",
            merchant_id="m1",
            email="a@example.com",
            total=Money(26399, "EUR"),
            lines=[("Trail Tent", 1, Money(24900, "EUR")), ("Mug", 1, Money(1000, "EUR"))],
        )
    )
    assert result.order_status == "pending"
    assert result.reference == "cs_test_123"
    assert result.redirect_url.endswith("cs_test_123")
    assert len(seen) == 1 and seen[0].url.path == "/v1/checkout/sessions"
    form = parse_qs(seen[0].content.decode())
    assert form["line_items[0][price_data][unit_amount]"] == ["24900"]
    assert form["line_items[2][price_data][unit_amount]"] == ["499"]  # shipping the server added
    assert form["client_reference_id"] == ["SA-1"]
    assert "card" not in json.dumps(form)
