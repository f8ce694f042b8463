"""``shopagent ingest`` as a merchant runs it: exit codes, printed rejections, the JSON report."""

import json

import pytest
from typer.testing import CliRunner

from cli import app
from shop.vectors import forget_vector_stores
from tests.ingest.support import FIXTURES, write


@pytest.fixture
def shopagent(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPAGENT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHOPAGENT_EMBEDDER", "hash")
    monkeypatch.delenv("SHOPAGENT_DATABASE_URL", raising=False)
    monkeypatch.delenv("SHOPAGENT_CHROMA_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, ["ingest", *map(str, args)])
    forget_vector_stores()


def test_clean_catalog_exits_0(shopagent):
    result = shopagent(FIXTURES / "catalog.csv", "--merchant", "m1")
    assert result.exit_code == 0, result.output
    assert "5 added" in result.stdout and "nothing rejected" in result.stdout


def test_bad_rows_exit_3_and_print_file_line_message(shopagent, tmp_path):
    report = tmp_path / "report.json"
    result = shopagent(FIXTURES / "bad_rows.csv", "--merchant", "m1", "--report", report)
    assert result.exit_code == 3
    path = FIXTURES / "bad_rows.csv"
    assert f"{path}:3: id is empty: give every row a unique product id (SKU)" in result.stderr
    assert f"{path}:4: price '12;50' is not a decimal number" in result.stderr
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["exit_code"] == 3 and data["counts"]["products_added"] == 2 and data["rejected"] == 5
    assert data["errors"][0] == {
        "file": str(path),
        "line": 3,
        "message": "id is empty: give every row a unique product id (SKU)",
    }


def test_unreadable_file_exits_1_and_changes_nothing(shopagent, tmp_path):
    assert shopagent(FIXTURES / "catalog.csv", "--merchant", "m1").exit_code == 0
    junk = write(tmp_path / "export.csv", "id,title\n", encoding="utf-8")
    junk.write_bytes(b"PK\x03\x04zipped")
    result = shopagent(junk, "--merchant", "m1")
    assert result.exit_code == 1
    assert "compressed archive" in result.stderr and "nothing stored was changed" in result.stderr
    again = shopagent(FIXTURES / "catalog.csv", "--merchant", "m1")
    assert "5 unchanged" in again.stdout and "embedded 0 texts" in again.stdout


def test_shopify_and_google_feeds_through_the_cli(shopagent, tmp_path):
    folder = tmp_path / "shopify"
    folder.mkdir()
    (folder / "store.yaml").write_text(
        "name: S\ncurrency: EUR\n", encoding="utf-8"
    )  # Shopify exports carry no currency
    (folder / "products_export.csv").write_bytes((FIXTURES / "shopify_export.csv").read_bytes())
    assert shopagent(folder, "--merchant", "s").exit_code == 0
    result = shopagent(FIXTURES / "google_feed.xml", "--merchant", "g")
    assert result.exit_code == 3 and "google_feed.xml:23: price is empty" in result.stderr
