"""Merchant webhooks: outbox in the same transaction, signed delivery, retries with backoff on a fake
clock, the delivery log, replay protection at the receiver, and the endpoints API."""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from channels import outbox, webhooks
from channels.receiver import WebhookReceiver
from channels.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from channels.worker import Worker, build_worker
from shop import orders
from shop.db import Database
from shop.models import OutboxEvent, WebhookDelivery
from shop.settings import Settings
from tests.channels.conftest import Clock
from tests.conftest import MERCHANT

BASE = f"/v1/merchants/{MERCHANT}"
T0 = datetime(2026, 9, 21, 12, 0, tzinfo=UTC)
PUBLIC_IP = "93.184.215.14"
"""A global address for the example hosts (no DNS in tests): deliveries are pinned to it."""


def public(host: str, port: int) -> list[str]:
    return [PUBLIC_IP]


@pytest.fixture(autouse=True)
def _recording() -> None:
    outbox.install()


@pytest.fixture
def secret(db: Database) -> str:
    with db.session() as s:
        return webhooks.signing_secret(s, MERCHANT)


def endpoint(db: Database, url: str = "https://erp.example/hooks", events: list[str] | None = None) -> int:
    with db.session() as s:
        return webhooks.add_endpoint(s, MERCHANT, url, events or []).id


def worker(
    db: Database,
    receiver: Any,
    clock: Callable[[], datetime],
    max_attempts: int = 8,
    resolve: webhooks.Resolver = public,
    allow_private: bool = False,
    follow_redirects: bool = False,
) -> Worker:
    handler = receiver.handle if isinstance(receiver, WebhookReceiver) else receiver
    client = httpx.Client(transport=httpx.MockTransport(handler), follow_redirects=follow_redirects)
    policy = webhooks.RetryPolicy(
        max_attempts=max_attempts, backoff_s=10, allow_private=allow_private, resolve=resolve
    )
    return Worker(db, client, policy, clock=clock)


def cancel_a1002(db: Database) -> None:
    with db.session() as s:
        orders.cancel(s, MERCHANT, "A1002", "mehmet@example.org", "changed my mind")


def deliveries(db: Database) -> list[WebhookDelivery]:
    with db.session() as s:  # committed (not rolled back), so the rows stay readable afterwards
        return list(s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_events_are_written_with_the_change_or_not_at_all(db: Database) -> None:
    with pytest.raises(RuntimeError), db.session() as s:
        orders.cancel(s, MERCHANT, "A1002", "mehmet@example.org")
        raise RuntimeError("the transaction fails after the cancel")
    with db.read_session() as s:
        assert s.scalars(select(OutboxEvent)).all() == []
    cancel_a1002(db)
    with db.session() as s:
        orders.return_items(s, MERCHANT, "A1001", "ruta@example.com", {"FOOT-ALP2": 1})
    with db.read_session() as s:
        events = s.scalars(select(OutboxEvent).order_by(OutboxEvent.id)).all()
        assert [e.type for e in events] == ["order.cancelled", "order.returned"]
        cancelled = events[0].payload
        assert cancelled["order"]["order_id"] == "A1002" and cancelled["order"]["status"] == "cancelled"
        assert cancelled["change"] == {"kind": "cancelled", "reason": "changed my mind"}
        assert events[1].payload["change"]["refund_minor"] == 3900


def test_signed_delivery_reaches_the_receiver(db: Database, secret: str) -> None:
    endpoint(db)
    cancel_a1002(db)
    receiver = WebhookReceiver(secret, clock=lambda: T0)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return receiver.handle(request)

    counts = worker(db, handler, Clock(T0)).run_once()
    assert counts["dispatched"] == 1 and counts["delivered"] == 1
    [event] = receiver.events
    assert event["type"] == "order.cancelled" and event["merchant_id"] == MERCHANT
    assert event["data"]["order"]["order_id"] == "A1002" and event["id"].startswith("evt_")
    request = seen[0]
    assert request.url == f"https://{PUBLIC_IP}/hooks" and request.headers["host"] == "erp.example"
    assert request.headers[TIMESTAMP_HEADER] == str(int(T0.timestamp()))
    assert request.headers[SIGNATURE_HEADER].startswith("v1=")
    assert request.headers[EVENT_HEADER] == "order.cancelled"
    [delivery] = deliveries(db)
    assert delivery.status == "delivered" and delivery.attempts == 1 and delivery.last_status_code == 200
    assert request.headers[DELIVERY_HEADER] == delivery.delivery_id
    # Nothing left to do: a second pass sends nothing.
    assert worker(db, handler, Clock(T0 + timedelta(minutes=5))).run_once()["delivered"] == 0


def test_failures_are_retried_with_exponential_backoff(db: Database, secret: str) -> None:
    endpoint(db)
    cancel_a1002(db)
    clock = Clock(T0)
    receiver = WebhookReceiver(secret, clock=clock, fail_next=3)
    w = worker(db, receiver, clock)
    schedule = []
    for _ in range(4):
        w.run_once()
        [row] = deliveries(db)
        schedule.append((row.status, row.attempts, row.next_attempt_at.replace(tzinfo=UTC) - clock.now))
        clock.advance(seconds=5)
        assert (
            w.run_once().get("delivered", 0) == 0 and deliveries(db)[0].attempts == row.attempts
        )  # not due yet
        clock.now = row.next_attempt_at.replace(tzinfo=UTC)
    assert [s[:2] for s in schedule] == [("pending", 1), ("pending", 2), ("pending", 3), ("delivered", 4)]
    assert [s[2] for s in schedule[:3]] == [
        timedelta(seconds=10),
        timedelta(seconds=20),
        timedelta(seconds=40),
    ]
    assert len(receiver.events) == 1
    [row] = deliveries(db)
    assert [entry["status_code"] for entry in row.log] == [503, 503, 503, 200]


def test_backoff_is_capped_and_attempts_run_out(db: Database, secret: str) -> None:
    policy = webhooks.RetryPolicy(max_attempts=20, backoff_s=10)
    assert policy.delay(1) == timedelta(seconds=10) and policy.delay(9) == timedelta(seconds=2560)
    assert policy.delay(15) == timedelta(hours=1)
    endpoint(db)
    cancel_a1002(db)
    clock = Clock(T0)

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    w = worker(db, down, clock, max_attempts=3)
    for _ in range(3):
        w.run_once()
        clock.advance(hours=2)
    [row] = deliveries(db)
    assert (row.status, row.attempts) == ("failed", 3)
    assert "ConnectError" in row.last_error and row.last_status_code is None
    w.run_once()
    assert deliveries(db)[0].attempts == 3  # a failed delivery is not tried again by itself


def test_the_receiver_refuses_replays_and_forgeries(db: Database, secret: str) -> None:
    endpoint(db)
    cancel_a1002(db)
    captured: list[httpx.Request] = []
    receiver = WebhookReceiver(secret, clock=lambda: T0)

    def handler(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return receiver.handle(request)

    worker(db, handler, Clock(T0)).run_once()
    original = captured[0]
    headers = dict(original.headers)
    # The same request again, soon: valid signature, but the delivery id was already applied.
    again = receiver.receive({k.title(): v for k, v in headers.items()}, original.content)
    assert again == (200, "duplicate") and len(receiver.events) == 1
    # Ten minutes later, the captured request is outside the replay window.
    later = WebhookReceiver(secret, clock=lambda: T0 + timedelta(minutes=10))
    status, text = later.receive({k.title(): v for k, v in headers.items()}, original.content)
    assert status == 403 and "replay window" in text
    # A changed body or a wrong secret is refused.
    assert (
        WebhookReceiver(secret, clock=lambda: T0).receive(
            {k.title(): v for k, v in headers.items()}, original.content.replace(b"A1002", b"A1003")
        )[0]
        == 403
    )
    assert (
        WebhookReceiver("whsec_other", clock=lambda: T0).receive(
            {k.title(): v for k, v in headers.items()}, original.content
        )[0]
        == 403
    )


def test_endpoints_only_get_the_events_they_subscribed_to(db: Database, secret: str) -> None:
    endpoint(db, "https://a.example/placed", ["order.placed"])
    endpoint(db, "https://b.example/all")
    cancel_a1002(db)
    assert worker(db, WebhookReceiver(secret, clock=lambda: T0), Clock(T0)).run_once()["dispatched"] == 1


def test_endpoints_api_delivery_log_test_ping_and_secret(
    client: TestClient, db: Database, auth: dict[str, str]
) -> None:
    bad = client.post(f"{BASE}/webhooks", headers=auth, json={"url": "ftp://erp.example/x"})
    assert bad.status_code == 422 and "http" in bad.json()["detail"]
    assert (
        client.post(
            f"{BASE}/webhooks", headers=auth, json={"url": "https://x.example", "events": ["order.lost"]}
        ).status_code
        == 422
    )
    created = client.post(f"{BASE}/webhooks", headers=auth,
                          json={"url": "https://erp.example/hooks", "events": ["order.cancelled", "handoff.requested"]})  # fmt: skip
    assert created.status_code == 201
    endpoint_id = created.json()["endpoint_id"]
    assert [e["url"] for e in client.get(f"{BASE}/webhooks", headers=auth).json()] == [
        "https://erp.example/hooks"
    ]
    secret = client.get(f"{BASE}/signing-secret", headers=auth).json()["secret"]
    assert (
        secret.startswith("whsec_")
        and client.get(f"{BASE}/signing-secret", headers=auth).json()["secret"] == secret
    )

    ping = client.post(f"{BASE}/webhooks/{endpoint_id}/test", headers=auth)
    assert (
        ping.status_code == 202
        and ping.json()["event_type"] == "webhook.test"
        and ping.json()["status"] == "pending"
    )
    cancel_a1002(db)
    receiver = WebhookReceiver(secret, fail_next=1)
    w = worker(db, receiver, lambda: datetime.now(UTC))
    w.run_once()
    log = client.get(f"{BASE}/webhook-deliveries", headers=auth).json()
    assert log["total"] == 2
    by_type = {d["event_type"]: d for d in log["items"]}
    assert (
        by_type["webhook.test"]["status"] == "pending"
        and by_type["webhook.test"]["log"][0]["status_code"] == 503
    )
    assert by_type["order.cancelled"]["status"] == "delivered" and by_type["order.cancelled"]["attempts"] == 1
    assert [
        d["event_type"]
        for d in client.get(f"{BASE}/webhook-deliveries?status=delivered", headers=auth).json()["items"]
    ] == ["order.cancelled"]

    retried = client.post(
        f"{BASE}/webhook-deliveries/{by_type['webhook.test']['delivery_id']}/retry", headers=auth
    )
    assert retried.status_code == 200
    w.run_once()
    assert [e["type"] for e in receiver.events] == ["order.cancelled", "webhook.test"]

    rotated = client.post(f"{BASE}/signing-secret/rotate", headers=auth).json()["secret"]
    assert rotated != secret and rotated.startswith("whsec_")
    assert (
        client.patch(f"{BASE}/webhooks/{endpoint_id}", headers=auth, json={"active": False}).json()["active"]
        is False
    )
    assert client.delete(f"{BASE}/webhooks/{endpoint_id}", headers=auth).status_code == 204
    assert client.get(f"{BASE}/webhooks", headers=auth).json() == []
    assert client.get(f"{BASE}/webhook-deliveries", headers=auth).json()["total"] == 0

    from api.keys import create_api_key

    other = {"Authorization": f"Bearer {create_api_key(db, 'other').key}"}
    assert client.get(f"{BASE}/webhooks", headers=other).status_code == 403
    assert client.get(f"{BASE}/signing-secret", headers=other).status_code == 403
    assert client.get(f"{BASE}/webhook-deliveries").status_code == 401


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:5432/", "http://localhost/hook", "http://[::1]/x", "http://10.0.0.7/x",
     "http://169.254.169.254/latest/meta-data", "http://192.168.1.1/", "https://redis.internal/x",
     "http://0.0.0.0:6379/"],
)  # fmt: skip
def test_webhook_urls_into_the_servers_own_network_are_refused(
    client: TestClient, auth: dict[str, str], url: str
) -> None:
    refused = client.post(f"{BASE}/webhooks", headers=auth, json={"url": url})
    assert refused.status_code == 422 and "SHOPAGENT_WEBHOOK_ALLOW_PRIVATE" in refused.json()["detail"]
    assert client.get(f"{BASE}/webhooks", headers=auth).json() == []
    created = client.post(f"{BASE}/webhooks", headers=auth, json={"url": "https://erp.example/hooks"})
    moved = client.patch(f"{BASE}/webhooks/{created.json()['endpoint_id']}", headers=auth, json={"url": url})
    assert moved.status_code == 422


def test_private_webhook_urls_when_the_operator_allows_them() -> None:
    from channels.webhooks import check_url

    assert check_url("http://10.0.0.7/hook", allow_private=True) == "http://10.0.0.7/hook"
    assert check_url("https://8.8.8.8/hook") == "https://8.8.8.8/hook"


def answers(*addresses: str) -> webhooks.Resolver:
    def resolve(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return list(addresses)

    asked: list[tuple[str, int]] = []
    resolve.asked = asked  # type: ignore[attr-defined]
    return resolve


@pytest.mark.parametrize("addresses", [["127.0.0.1"], ["10.0.0.5"], ["::1"], [PUBLIC_IP, "169.254.169.254"]])
def test_a_name_resolving_into_the_servers_own_network_is_not_posted_to(
    db: Database, secret: str, addresses: list[str]
) -> None:
    endpoint(db)
    cancel_a1002(db)
    clock = Clock(T0)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    w = worker(db, handler, clock, max_attempts=2, resolve=answers(*addresses))
    assert w.run_once()["retrying"] == 1
    [row] = deliveries(db)
    bad = next(a for a in addresses if a != PUBLIC_IP)
    assert row.last_error.startswith(f"refused: erp.example resolves to {bad}, a local or private address")
    assert "SHOPAGENT_WEBHOOK_ALLOW_PRIVATE" in row.last_error
    assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, None)
    assert row.log[0]["error"] == row.last_error
    clock.now = row.next_attempt_at.replace(tzinfo=UTC)
    assert w.run_once()["failed"] == 1
    assert (deliveries(db)[0].status, deliveries(db)[0].attempts) == ("failed", 2)
    assert seen == []


def test_a_name_that_does_not_resolve_is_not_posted_to(db: Database, secret: str) -> None:
    endpoint(db)
    cancel_a1002(db)

    def nxdomain(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing may be sent")

    assert worker(db, handler, Clock(T0), resolve=nxdomain).run_once()["retrying"] == 1
    assert deliveries(db)[0].last_error.startswith("refused: erp.example does not resolve")
    assert (
        worker(db, handler, Clock(T0 + timedelta(minutes=1)), resolve=answers()).run_once()["retrying"] == 1
    )
    assert deliveries(db)[0].last_error == "refused: erp.example does not resolve"


@pytest.mark.parametrize(
    ("url", "address", "pinned", "host", "sni"),
    [
        ("https://erp.example:8443/hooks?x=1", PUBLIC_IP, f"https://{PUBLIC_IP}:8443/hooks?x=1",
         "erp.example:8443", "erp.example"),
        ("https://erp.example/hooks", "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
         "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/hooks", "erp.example", "erp.example"),
        ("http://erp.example/hooks", PUBLIC_IP, f"http://{PUBLIC_IP}/hooks", "erp.example", None),
    ],
)  # fmt: skip
def test_a_public_name_is_pinned_to_the_vetted_address(
    db: Database, secret: str, url: str, address: str, pinned: str, host: str, sni: str | None
) -> None:
    endpoint(db, url)
    cancel_a1002(db)
    receiver = WebhookReceiver(secret, clock=lambda: T0)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return receiver.handle(request)

    resolve = answers(address, "2606:4700::6810:84e5")
    assert worker(db, handler, Clock(T0), resolve=resolve).run_once()["delivered"] == 1
    [request] = seen
    assert str(request.url) == pinned and request.url.host == address
    assert request.headers["host"] == host
    assert request.extensions.get("sni_hostname") == sni
    # Closed after the response: the pool is keyed by IP, so another name must not reuse it.
    assert request.headers["connection"] == "close"
    assert resolve.asked == [("erp.example", 8443 if ":8443" in url else 443 if sni else 80)]  # type: ignore[attr-defined]
    assert len(receiver.events) == 1


def test_a_redirect_is_not_followed_past_the_vetting(db: Database, secret: str) -> None:
    endpoint(db)
    cancel_a1002(db)
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(307, headers={"Location": "http://127.0.0.1:6379/"})

    assert worker(db, handler, Clock(T0), follow_redirects=True).run_once()["retrying"] == 1
    assert seen == [f"https://{PUBLIC_IP}/hooks"] and deliveries(db)[0].last_error.startswith("HTTP 307")


def test_with_private_targets_allowed_nothing_is_resolved(db: Database, secret: str) -> None:
    with db.session() as s:
        webhooks.add_endpoint(s, MERCHANT, "http://127.0.0.1:9000/hook", [], allow_private=True)
    cancel_a1002(db)
    receiver = WebhookReceiver(secret, clock=lambda: T0)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return receiver.handle(request)

    def no_dns(host: str, port: int) -> list[str]:
        raise AssertionError("allow-private sends as registered, without resolving")

    w = worker(db, handler, Clock(T0), resolve=no_dns, allow_private=True)
    assert w.run_once()["delivered"] == 1
    [request] = seen
    assert request.url == "http://127.0.0.1:9000/hook" and request.headers["host"] == "127.0.0.1:9000"
    assert "sni_hostname" not in request.extensions


def test_the_worker_vets_targets_unless_the_operator_allows_private_ones(
    settings: Settings, db: Database, secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = build_worker(settings, db, httpx.Client()).policy
    assert policy.allow_private is False and policy.resolve is webhooks.resolve_host
    allowed = settings.model_copy(update={"webhook_allow_private": True})
    assert webhooks.RetryPolicy.from_settings(allowed).allow_private is True
    assert webhooks.RetryPolicy().allow_private is False

    # The production resolver asks the system (getaddrinfo) at send time.
    def rebound(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        assert (host, port) == ("erp.example", 443)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebound)
    endpoint(db)
    cancel_a1002(db)

    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing may be sent")

    client = httpx.Client(transport=httpx.MockTransport(handler))
    assert Worker(db, client, policy, clock=Clock(T0)).run_once()["retrying"] == 1
    assert deliveries(db)[0].last_error.startswith("refused: erp.example resolves to 127.0.0.1")
