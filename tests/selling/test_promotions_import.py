"""``promotions.yaml|json`` beside the catalog, through ``shopagent ingest``: good files are
stored, bad promotions are printed as ``FILE:LINE: message`` (exit 3) and skipped."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import select
from typer.testing import CliRunner

from cli import app
from shop.db import Database
from shop.models import Merchant, Promotion
from shop.promotions import PromotionRules, check_code
from shop.vectors import forget_vector_stores
from tests.ingest.support import FIXTURES, write

DEMO = Path(__file__).resolve().parents[2] / "shop" / "demo_store"
GOOD = """\
promotions:
  - id: welcome
    code: welcome10
    label: "10% off orders from 50 EUR"
    kind: percent
    value: 10
    min_spend: 50.00
    per_shopper_limit: 1
  - id: mugs
    label: "Mug week"
    kind: fixed
    value: 2.50
    scope: product
    targets: [MUG]
    starts_at: 2026-01-01
    ends_at: 2030-01-01T00:00:00+02:00
"""
BAD = """\
promotions:
  - id: ok
    kind: fixed
    value: "1.00"
  - id: too-much
    kind: percent
    value: 120
  - id: typo
    kind: fixed
    value: "2"
    colour: red
  - id: cents
    kind: fixed
    value: 1.005
  - id: ok
    kind: percent
    value: 3
  - id: ghost
    kind: percent
    value: 3
    scope: product
    targets: [NOPE-1]
  - id: family
    kind: percent
    value: 3
    scope: product
    targets: [JKT]
  - just a line
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SHOPAGENT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHOPAGENT_EMBEDDER", "hash")
    monkeypatch.delenv("SHOPAGENT_DATABASE_URL", raising=False)
    monkeypatch.delenv("SHOPAGENT_CHROMA_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    yield tmp_path / "home"
    forget_vector_stores()


@pytest.fixture
def ingest(home: Path) -> Callable[..., Result]:
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["ingest", *map(str, args), "--merchant", "m1"])


def stored(home: Path, merchant: str = "m1") -> dict[str, dict[str, Any]]:
    db = Database(f"sqlite:///{home / 'shopagent.db'}")
    try:
        with db.read_session() as s:
            rows = s.scalars(select(Promotion).where(Promotion.merchant_id == merchant))
            return {r.promo_id: {**r.rules, "active": r.active} for r in rows}
    finally:
        db.dispose()


def folder(tmp_path: Path, name: str, text: str) -> Path:
    shop = tmp_path / "shop"
    (shop / "products.csv").parent.mkdir(exist_ok=True)
    (shop / "products.csv").write_bytes((FIXTURES / "catalog.csv").read_bytes())
    write(shop / name, text)
    return shop


def test_a_good_file_beside_the_catalog_is_stored(
    ingest: Callable[..., Result], home: Path, tmp_path: Path
) -> None:
    result = ingest(folder(tmp_path, "promotions.yaml", GOOD))
    assert result.exit_code == 0, result.output
    assert "promotions: 2 added, 0 updated, 0 unchanged" in result.stdout
    rules = stored(home)
    assert rules["welcome"]["code"] == "WELCOME10" and rules["welcome"]["value"] == "10"
    assert rules["welcome"]["min_spend"] == "50.00"  # as written, never through a float
    assert rules["mugs"]["value"] == "2.50" and rules["mugs"]["targets"] == ["MUG"]
    assert rules["mugs"]["ends_at"] == "2030-01-01T00:00:00+02:00"
    assert rules["mugs"]["starts_at"] == "2026-01-01T00:00:00Z"  # a date is read as UTC midnight

    again = ingest(tmp_path / "shop")
    assert again.exit_code == 0 and "promotions: 0 added, 0 updated, 2 unchanged" in again.stdout
    write(tmp_path / "shop" / "promotions.yaml", GOOD.replace("value: 2.50", "value: 3.00"))
    changed = ingest(tmp_path / "shop")
    assert "promotions: 0 added, 1 updated, 1 unchanged" in changed.stdout
    assert stored(home)["mugs"]["value"] == "3.00"


def test_bad_rows_are_reported_at_their_line_and_the_rest_stored(
    ingest: Callable[..., Result], home: Path, tmp_path: Path
) -> None:
    shop = folder(tmp_path, "promotions.yaml", BAD)
    report = tmp_path / "report.json"
    result = ingest(shop, "--report", report)
    assert result.exit_code == 3, result.output
    path = shop / "promotions.yaml"
    for line, message in [
        (5, "a percentage cannot exceed 100"),
        (11, "colour: unknown key"),
        (14, "value: '1.005' has more than 2 decimal places"),
        (15, "id 'ok' is already used at line 2"),
        (28, "each promotion must be a mapping"),
        (18, "targets: unknown product id(s) NOPE-1"),
        (23, "targets: 'JKT' is a product family (parent_id): list the SKUs of its variants"),
    ]:
        assert f"{path}:{line}: {message}" in result.stderr, (line, result.stderr)
    assert list(stored(home)) == ["ok"]
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["exit_code"] == 3 and data["rejected"] == 7 and data["counts"]["promotions_added"] == 1


def test_json_files_and_line_numbers(ingest: Callable[..., Result], home: Path, tmp_path: Path) -> None:
    text = '{"promotions": [\n  {"id": "j1", "kind": "fixed", "value": 2.50},\n  {"id": "j2", "kind": "percent"}\n]}\n'
    path = write(tmp_path / "promotions-autumn.json", text)
    assert ingest(FIXTURES / "catalog.csv").exit_code == 0
    result = ingest(path)
    assert result.exit_code == 3
    assert f"{path}:3: value: missing" in result.stderr
    assert stored(home)["j1"]["value"] == "2.50"


def test_an_unreadable_file_changes_nothing(
    ingest: Callable[..., Result], home: Path, tmp_path: Path
) -> None:
    assert ingest(folder(tmp_path, "promotions.yaml", GOOD)).exit_code == 0
    for text in ("promotions: {id: x}\n", "offers: []\n", "a: &a [1]\nb: *a\n", "promotions: [\n"):
        result = ingest(write(tmp_path / "other" / "promotions.yaml", text))
        assert result.exit_code == 1, (text, result.output)
        assert "promotions.yaml" in result.stderr
    assert set(stored(home)) == {"welcome", "mugs"}


def test_the_demo_store_has_a_coupon_and_an_automatic_promotion(
    ingest: Callable[..., Result], home: Path
) -> None:
    result = ingest(DEMO)
    assert result.exit_code == 0, result.output
    rules = {
        k: PromotionRules.model_validate({k2: v for k2, v in r.items() if k2 != "active"})
        for k, r in stored(home).items()
    }
    assert any(r.code and r.ends_at is None for r in rules.values())  # a coupon valid now
    assert any(r.code is None for r in rules.values())  # an automatic promotion
    db = Database(f"sqlite:///{home / 'shopagent.db'}")
    try:
        with db.read_session() as s:
            assert check_code(s, "m1", "welcome10").id == "welcome10"
            offers = s.get(Merchant, "m1").settings["offers"]  # type: ignore[union-attr]
            assert {"scope": "category", "targets": ["tents"], "max_percent": "10"} in offers
    finally:
        db.dispose()
