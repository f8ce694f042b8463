"""Order sync in: the merchant's platform pushes signed status and tracking updates."""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from channels.signing import SIGNATURE_HEADER, signed_headers
from shop import orders
from shop.db import Database
from shop.models import Order, OrderEvent, OutboxEvent
from tests.conftest import MERCHANT

URL = f"/v1/merchants/{MERCHANT}/orders/sync"


def push(
    client: TestClient, secret: str, payload: dict[str, Any], at: float | None = None, url: str = URL
) -> Any:
    raw = json.dumps(payload).encode()
    headers = {**signed_headers(secret, int(at or time.time()), raw), "Content-Type": "application/json"}
    return client.post(url, content=raw, headers=headers)


def secret_of(client: TestClient, auth: dict[str, str]) -> str:
    return str(client.get(f"/v1/merchants/{MERCHANT}/signing-secret", headers=auth).json()["secret"])


def test_a_signed_push_updates_what_order_lookups_answer(
    client: TestClient, db: Database, auth: dict[str, str]
) -> None:
    secret = secret_of(client, auth)
    update = {"order_id": "A1002", "status": "shipped", "carrier": "DPD", "tracking_number": "05212345678",
              "tracking_url": "https://tracking.dpd.lt/05212345678", "updated_at": "2026-09-22T08:00:00+00:00"}  # fmt: skip
    response = push(client, secret, {"orders": [update, {"order_id": "Z9999", "status": "shipped"}]})
    assert response.status_code == 200
    assert response.json() == {
        "results": [{"order_id": "A1002", "result": "updated"}, {"order_id": "Z9999", "result": "unknown"}]
    }
    with db.read_session() as s:
        found = orders.lookup(s, MERCHANT, "A1002", "mehmet@example.org")
        assert (found["status"], found["carrier"], found["tracking_number"]) == (
            "shipped",
            "DPD",
            "05212345678",
        )
        order = s.scalars(select(Order).where(Order.order_id == "A1002")).one()
        assert order.extra["tracking_url"] == "https://tracking.dpd.lt/05212345678"
        [event] = s.scalars(select(OrderEvent).where(OrderEvent.order_pk == order.id)).all()
        assert event.kind == "synced" and event.data["changes"]["status"] == ["paid", "shipped"]
        assert s.scalars(select(OutboxEvent)).all() == []  # the platform is not told about its own change


def test_out_of_order_pushes_do_not_undo_newer_ones(
    client: TestClient, db: Database, auth: dict[str, str]
) -> None:
    secret = secret_of(client, auth)
    newer = {"order_id": "A1003", "status": "delivered", "updated_at": "2026-09-23T10:00:00Z"}
    older = {
        "order_id": "A1003",
        "status": "shipped",
        "tracking_number": "NEW",
        "updated_at": "2026-09-22T10:00:00Z",
    }
    assert push(client, secret, {"orders": [newer]}).json()["results"][0]["result"] == "updated"
    assert push(client, secret, {"orders": [older]}).json()["results"][0]["result"] == "stale"
    assert (
        push(client, secret, {"orders": [newer | {"updated_at": "2026-09-23T11:00:00Z"}]}).json()["results"][
            0
        ]["result"]
        == "unchanged"
    )
    with db.read_session() as s:
        assert orders.lookup(s, MERCHANT, "A1003", "li@example.cn")["status"] == "delivered"


def test_unsigned_forged_stale_and_replayed_pushes_are_refused(
    client: TestClient, db: Database, auth: dict[str, str]
) -> None:
    body = {"orders": [{"order_id": "A1002", "status": "cancelled"}]}
    assert push(client, "whsec_none_yet", body).status_code == 401  # no secret exists yet: sync is off
    secret = secret_of(client, auth)
    assert client.post(URL, json=body).status_code == 401
    assert push(client, "whsec_guess", body).status_code == 403
    stale = push(client, secret, body, at=time.time() - 600)
    assert stale.status_code == 403 and "replay window" in stale.json()["detail"]
    raw = json.dumps(body).encode()
    headers = {**signed_headers(secret, int(time.time()), raw), "Content-Type": "application/json"}
    assert client.post(URL, content=raw, headers=headers).status_code == 200
    replay = client.post(URL, content=raw, headers=headers)
    assert replay.status_code == 409 and "replay" in replay.json()["detail"]
    reworded = {**headers, SIGNATURE_HEADER: "v1=00, " + headers[SIGNATURE_HEADER]}
    assert client.post(URL, content=raw, headers=reworded).status_code == 409
    other_url = "/v1/merchants/other/orders/sync"  # this merchant's secret does not work for another store
    with db.session() as s:
        from channels.webhooks import signing_secret

        signing_secret(s, "other")
    assert push(client, secret, body, url=other_url).status_code == 403


def test_signed_but_invalid_updates_are_rejected_with_the_field(
    client: TestClient, auth: dict[str, str]
) -> None:
    secret = secret_of(client, auth)
    bad = push(client, secret, {"orders": [{"order_id": "A1002", "status": "teleported"}]})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "status"
    naive = push(client, secret, {"orders": [{"order_id": "A1002", "updated_at": "2026-09-22T08:00:00"}]})
    assert naive.status_code == 422
    assert push(client, secret, {"orders": []}).status_code == 422
