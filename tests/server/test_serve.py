"""``shopagent serve``: creates the demo store on first run, then hands the app to uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli import app as cli_app
from shop.db import Database
from shop.models import Document, Order, Product


def test_first_serve_creates_the_demo_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    import api.logs

    monkeypatch.setenv("SHOPAGENT_HOME", str(tmp_path))
    monkeypatch.setenv("SHOPAGENT_EMBEDDER", "hash")
    monkeypatch.delenv("SHOPAGENT_MERCHANT", raising=False)
    monkeypatch.setattr(api.logs, "configure_logging", lambda *_args, **_kw: None)
    runs: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: runs.append({"app": app, **options}))

    first = CliRunner().invoke(cli_app, ["serve", "--port", "8123", "--model", "offline"])
    assert first.exit_code == 0, first.output
    assert "first run: created the demo store" in first.output
    assert "http://127.0.0.1:8123/" in first.output and "model offline" in first.output
    assert isinstance(runs[0]["app"], FastAPI) and runs[0]["port"] == 8123 and runs[0]["host"] == "127.0.0.1"

    db = Database(f"sqlite:///{tmp_path / 'shopagent.db'}")
    with db.read_session() as session:
        counts = {
            model.__name__: session.scalar(
                select(func.count()).select_from(model).where(model.merchant_id == "demo")
            )
            for model in (Product, Document, Order)
        }
    db.dispose()
    assert counts["Product"] > 20 and counts["Document"] > 5 and counts["Order"] == 20

    again = CliRunner().invoke(cli_app, ["serve", "--port", "8124"])
    assert again.exit_code == 0 and "first run" not in again.output
