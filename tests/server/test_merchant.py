"""Merchant routes: API-key auth, catalog/documents/orders, handoff queue, settings, CLI key creation."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from api.keys import hash_key, merchant_of_key
from cli import app as cli_app
from shop.db import Database
from shop.models import ApiKey
from shop.settings import Settings
from tests.conftest import MERCHANT
from tests.server.conftest import bearer

BASE = f"/v1/merchants/{MERCHANT}"


def test_keys_are_stored_hashed(db: Database, keys: dict[str, str]) -> None:
    key = keys[MERCHANT]
    with db.read_session() as session:
        rows = [(r.key_hash, r.prefix, r.label) for r in session.scalars(select(ApiKey))]
    assert {r[0] for r in rows} == {hash_key(k) for k in keys.values()}
    assert all(key not in r for r in rows)
    assert merchant_of_key(db, key) == MERCHANT
    assert merchant_of_key(db, key + "x") is None


def test_auth_no_key_wrong_key_other_merchants_key(client: TestClient, keys: dict[str, str]) -> None:
    missing = client.get(f"{BASE}/products")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert client.get(f"{BASE}/products", headers=bearer("sa_deadbeef_" + "x" * 43)).status_code == 401
    assert client.get(f"{BASE}/products", headers={"X-API-Key": "nonsense"}).status_code == 401
    other = client.get(f"{BASE}/products", headers=bearer(keys["other"]))
    assert other.status_code == 403
    assert client.get(f"{BASE}/products", headers={"X-API-Key": keys[MERCHANT]}).status_code == 200
    assert client.get("/v1/merchants/other/products", headers=bearer(keys["other"])).json()["total"] == 1


def test_products_documents_orders(client: TestClient, keys: dict[str, str]) -> None:
    auth = bearer(keys[MERCHANT])
    page = client.get(f"{BASE}/products", params={"q": "tent", "limit": 2}, headers=auth).json()
    assert page["total"] == 5 and len(page["items"]) == 2 and page["limit"] == 2
    product = client.get(f"{BASE}/products/TENT-ALP2-GRN", headers=auth).json()
    assert product["price"] == "249.00" and product["parent_sku"] == "TENT-ALP2"
    assert client.get(f"{BASE}/products/TENT-OTHER", headers=auth).status_code == 404  # the other shop's

    docs = client.get(f"{BASE}/documents", headers=auth).json()
    assert [(d["doc_id"], d["chunks"]) for d in docs["items"]] == [("doc:returns", 2), ("doc:shipping", 1)]
    assert client.get(f"{BASE}/documents/doc:returns", headers=auth).json()["chunks"] == 2

    orders = client.get(f"{BASE}/orders", params={"status": "paid"}, headers=auth).json()
    assert [o["order_id"] for o in orders["items"]] == ["A1002"]
    assert client.get(f"{BASE}/orders/A1001", headers=auth).json()["email"] == "ruta@example.com"
    assert client.get(f"{BASE}/orders", params={"status": "lost"}, headers=auth).status_code == 422


def test_handoff_queue_and_mark_handled(client: TestClient, keys: dict[str, str]) -> None:
    turn = client.post("/v1/chat", json={"message": "I want to talk to a human"}).json()
    assert turn["handoff"] is True
    auth = bearer(keys[MERCHANT])
    queue = client.get(f"{BASE}/handoffs", headers=auth).json()
    assert [c["session_id"] for c in queue["items"]] == [turn["session_id"]]
    convo = client.get(f"{BASE}/conversations/{turn['session_id']}", headers=auth).json()
    assert convo["messages"][0] == {"role": "user", "content": "I want to talk to a human"}

    other = bearer(keys["other"])
    assert (
        client.post(f"/v1/merchants/other/handoffs/{turn['session_id']}/handled", headers=other).status_code
        == 404
    )
    done = client.post(f"{BASE}/handoffs/{turn['session_id']}/handled", headers=auth)
    assert done.status_code == 200 and done.json()["handoff"] == "handled"
    assert client.get(f"{BASE}/handoffs", headers=auth).json()["items"] == []


def test_feedback_listing(client: TestClient, keys: dict[str, str]) -> None:
    client.post("/v1/chat", json={"message": "hello"})
    client.post("/v1/feedback", json={"rating": 1, "message_index": 0})
    items = client.get(f"{BASE}/feedback", headers=bearer(keys[MERCHANT])).json()["items"]
    assert [(f["rating"], f["message_index"]) for f in items] == [(1, 0)]


def test_store_settings(client: TestClient, keys: dict[str, str]) -> None:
    auth = bearer(keys[MERCHANT])
    before = client.get(f"{BASE}/settings", headers=auth).json()
    assert before["merchant_id"] == MERCHANT and before["currency"] == "EUR"
    changed = client.patch(
        f"{BASE}/settings", json={"persona": "Calm and brief.", "languages": ["en", "lt", "ar"]}, headers=auth
    )
    assert changed.status_code == 200
    assert changed.json()["persona"] == "Calm and brief." and changed.json()["languages"] == [
        "en",
        "lt",
        "ar",
    ]
    refused = client.patch(f"{BASE}/settings", json={"currency": "USD"}, headers=auth)
    assert refused.status_code == 409 and "re-ingest" in refused.json()["detail"]
    assert client.patch(f"{BASE}/settings", json={"currency": "XYZ"}, headers=auth).status_code == 422
    assert client.patch(f"{BASE}/settings", json={"languages": ["<b>"]}, headers=auth).status_code == 422
    assert client.get("/v1/store").json()["languages"] == ["en", "lt", "ar"]


def test_cli_creates_a_key_shown_once(
    settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPAGENT_HOME", str(settings.home))
    result = CliRunner().invoke(cli_app, ["apikey", "create", "--merchant", MERCHANT, "--label", "ci"])
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[0]
    assert key.startswith("sa_") and merchant_of_key(db, key) == MERCHANT
    bad = CliRunner().invoke(cli_app, ["apikey", "create", "--merchant", "no/slash"])
    assert bad.exit_code == 2
