"""Property-based testing of the HTTP API against its own OpenAPI (SECURITY.md R1).

For every operation schemathesis generates valid and invalid requests (a bounded number,
derandomized so CI is repeatable) and checks: no 5xx, only documented status codes and
content types, and response bodies and headers matching the declared schemas.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from agent.service import Agent
from server import create_app
from shop.settings import Settings
from tests.conftest import MERCHANT

COVERAGE = os.environ.get("SHOPAGENT_SCHEMATHESIS_COVERAGE") == "1"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def _openapi() -> dict[str, Any]:
    """The schema as served; building the app reads settings only (no database, no agent)."""
    return create_app(Settings(_env_file=None)).openapi()  # type: ignore[call-arg]


# Fuzzing only, bounded by max_examples below; the exhaustive "coverage" phase would take minutes.
CONFIG = schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": COVERAGE}}})
schema = schemathesis.openapi.from_dict(_openapi(), config=CONFIG)


@pytest.fixture
def live_app(app_settings: Settings, agent: Agent) -> Iterator[FastAPI]:
    app = create_app(app_settings, agent)
    with TestClient(app):  # runs the lifespan: the generated calls share its state
        yield app


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("SHOPAGENT_SCHEMATHESIS_EXAMPLES", "4")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_openapi(case: Any, live_app: FastAPI, keys: dict[str, str]) -> None:
    headers = {}
    if "merchant_id" in (case.path_parameters or {}):
        # Mostly the real store with its key, so generation reaches past authentication.
        case.path_parameters["merchant_id"] = MERCHANT
        headers["Authorization"] = f"Bearer {keys[MERCHANT]}"
    case.call_and_validate(app=live_app, headers=headers, checks=CHECKS)
