"""The demo store, created on the first ``shopagent serve`` with an empty home."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from sqlalchemy import select

from shop.db import Database
from shop.models import Merchant
from shop.settings import Settings

DEMO_STORE = Path(str(resources.files("shop") / "demo_store"))


def seed_demo_if_empty(settings: Settings, db: Database, merchant_id: str = "demo") -> str | None:
    """Ingest the demo store when no merchant exists yet; returns the ingest summary, or None."""
    with db.read_session() as session:
        if session.scalar(select(Merchant.id).limit(1)) is not None:
            return None
    from ingest.pipeline import ingest_paths

    report = ingest_paths(settings, db, [DEMO_STORE], merchant_id, replace=True, progress=True)
    return report.summary()
