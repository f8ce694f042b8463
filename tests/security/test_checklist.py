"""Checklist items not shown elsewhere (the map of every item to its tests is SECURITY.md).

S3  the shopper-facing tools take no price, total, session or merchant: a model cannot name them.
S7  order lookups are limited per client address, across new sessions.
C1  money columns are integers in minor units: no float column anywhere in the schema.
R4  session ids are unguessable (192 random bits, never repeated).
R6  every dependency is pinned, with hashes, in requirements.lock.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import BigInteger, Float, Integer, Numeric

from agent import state as conversation
from agent.tools import TOOLS
from api import sessions
from server import create_app
from shop.db import Database
from shop.models import Base
from shop.settings import Settings
from tests.conftest import KeywordRetriever
from tests.server.conftest import make_agent, server_settings

ROOT = Path(__file__).resolve().parents[2]
SERVER_DECIDES = {
    "price",
    "unit_price",
    "total",
    "amount",
    "subtotal",
    "discount",
    "session_id",
    "merchant_id",
    "stock",
}


def _argument_names(schema: object) -> set[str]:
    if isinstance(schema, dict):
        found = set(schema.get("properties", {}))
        return found.union(*(_argument_names(v) for v in schema.values()))
    if isinstance(schema, list):
        return set().union(*(_argument_names(v) for v in schema))
    return set()


def test_no_tool_lets_the_model_name_a_price_a_session_or_a_merchant() -> None:
    for tool in TOOLS:
        named = _argument_names(tool.spec.parameters)
        assert not named & SERVER_DECIDES, (tool.name, named & SERVER_DECIDES)
        assert tool.arguments.model_config.get("extra") == "forbid", tool.name  # no smuggled arguments


def test_order_lookups_are_limited_per_address_across_new_sessions(
    settings: Settings, db: Database, retriever: KeywordRetriever
) -> None:
    limited = server_settings(settings, lookup_limit_per_session=100, lookup_limit_per_address=2)
    body = {"order_id": "A1002", "email": "guess@example.com"}
    with TestClient(create_app(limited, make_agent(limited, db, retriever))) as client:
        answers = []
        for _ in range(3):
            client.cookies.clear()  # a new session each time, from the same address
            answers.append(client.post("/v1/orders/lookup", json=body))
        assert [a.status_code for a in answers] == [404, 404, 429]
        assert int(answers[-1].headers["retry-after"]) >= 1


def test_money_is_never_stored_as_a_float() -> None:
    for table in Base.metadata.tables.values():
        for column in table.columns:
            assert not isinstance(column.type, Float), f"{table.name}.{column.name} is a float"
            if column.name.endswith("_minor"):
                assert isinstance(column.type, Integer | BigInteger), f"{table.name}.{column.name}"
                assert not isinstance(column.type, Numeric)


def test_session_ids_are_unguessable_and_never_repeat() -> None:
    for new_id in (sessions.new_session_id, conversation.new_session_id):
        ids = {new_id() for _ in range(2000)}
        assert len(ids) == 2000
        assert all(re.fullmatch(r"[A-Za-z0-9_-]{32}", i) for i in ids)  # 24 random bytes, base64url


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def test_every_dependency_is_pinned_with_hashes_in_the_lock_file() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    wanted |= {_name(r) for group in project.get("optional-dependencies", {}).values() for r in group}
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    pinned: dict[str, str] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", lock):
        match = re.match(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s\\]+)", block)
        if match:
            assert "--hash=sha256:" in block, f"{match.group(1)} has no hash"
            pinned[match.group(1).lower().replace("_", "-")] = match.group(2)
    missing = {name for name in wanted if name not in pinned and name.replace(".", "-") not in pinned}
    assert not missing, f"not pinned in requirements.lock: {sorted(missing)}"
    assert not re.search(r"^[A-Za-z0-9_.\-]+(?:>=|<=|~=|>|<)", lock, re.MULTILINE)
