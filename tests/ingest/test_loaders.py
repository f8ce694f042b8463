"""Every loader, on the fixtures under tests/fixtures/ingest."""

from decimal import Decimal
from pathlib import Path

import pytest

from ingest.context import LoadContext
from ingest.detect import load_file
from ingest.records import SourceFile
from tests.ingest.support import FIXTURES

CTX = LoadContext(merchant_id="m1", default_currency="EUR", max_rows=1000, max_cell_chars=500)


def load(path: Path, ctx: LoadContext = CTX):
    return load_file(SourceFile(path=path, name=path.name, data=path.read_bytes()), ctx)


def by_sku(result):
    return {p.sku: p for p in result.products}


def test_generic_csv_catalog():
    result = load(FIXTURES / "catalog.csv")
    assert result.loader == "catalog" and not result.errors
    products = by_sku(result)
    assert set(products) == {"TENT-2", "BAG-W", "JKT-S", "JKT-M", "MUG"}
    tent = products["TENT-2"]
    assert (tent.price.minor, tent.price.currency, tent.stock) == (24900, "EUR", 3)
    assert tent.attributes == {"color": "green"} and tent.category == "tents" and tent.brand == "Nordvik"
    assert tent.source_line == 2
    assert products["MUG"].stock is None  # empty stock = untracked
    assert products["BAG-W"].stock == 0
    assert products["JKT-M"].parent_sku == "JKT" and products["JKT-M"].attributes == {
        "color": "black",
        "size": "M",
    }


def test_json_catalog_keeps_decimal_prices_exact_and_flattens_attributes():
    result = load(FIXTURES / "catalog.json")
    products = by_sku(result)
    assert products["J-1"].price.minor == 11990  # 119.90 as written, never a binary float
    assert products["J-1"].attributes == {"color": "blue", "drop_mm": "8"}
    assert products["J-2"].attributes == {"tags": "waterproof, trail"} and products["J-2"].parent_sku == "J"
    assert products["J-1"].source_line == 2 and products["J-2"].source_line == 4


def test_jsonl_catalog_reports_the_broken_line_and_keeps_the_rest():
    result = load(FIXTURES / "catalog.jsonl")
    assert set(by_sku(result)) == {"L-1", "L-2"}
    assert [(e.line, "not valid JSON" in e.message) for e in result.errors] == [(3, True)]


def test_shopify_export_groups_variants_by_handle():
    result = load(FIXTURES / "shopify_export.csv")
    assert result.loader == "shopify" and not result.errors
    products = by_sku(result)
    assert set(products) == {"MT-S-GRY", "MT-M-GRY", "merino-tee-L-Navy", "GC-25", "OS-1"}
    small = products["MT-S-GRY"]
    assert small.parent_sku == "merino-tee" and small.title == "Merino Tee (S / Grey)"
    assert small.attributes["size"] == "S" and small.attributes["color"] == "Grey"
    assert small.attributes["compare_at_price"] == "69.00" and small.attributes["tags"] == "merino, hiking"
    assert small.brand == "Kuršių" and small.category == "Base layers"
    assert small.description == "Soft merino tee."  # script and display:none text are gone
    assert small.image_url == "https://cdn.example.com/mt.jpg" and small.url == "/products/merino-tee"
    assert products["MT-M-GRY"].stock == 0 and products["MT-M-GRY"].source_line == 3
    derived = products["merino-tee-L-Navy"]  # a variant without SKU gets a stable one
    assert derived.price.minor == 6100 and derived.title == "Merino Tee (L / Navy)"
    gift = products["GC-25"]
    assert gift.parent_sku is None and gift.title == "Gift Card" and gift.stock is None
    assert products["OS-1"].active is False  # drafts are stored but never offered


def test_google_merchant_tsv_saved_as_txt_is_a_catalog():
    result = load(FIXTURES / "google_feed.txt")
    assert result.loader == "google-merchant"
    products = by_sku(result)
    assert set(products) == {"G-1", "G-2", "G-3"}
    shell = products["G-1"]
    assert (shell.price.minor, shell.price.currency, shell.stock) == (24900, "EUR", None)
    assert shell.category == "Jackets" and shell.url == "https://shop.example/p/g-1"
    assert shell.image_url == "https://shop.example/i/g-1.jpg" and "availability" not in shell.attributes
    fleece = products["G-2"]
    assert (
        fleece.stock == 0 and fleece.price.minor == 6900 and fleece.attributes["regular_price"] == "79.00 EUR"
    )
    assert fleece.parent_sku == "FLEECE"
    assert products["G-3"].attributes["availability"] == "preorder"
    [error] = result.errors
    assert error.line == 5 and "availability 'maybe'" in error.message


def test_google_merchant_rss_xml():
    result = load(FIXTURES / "google_feed.xml")
    products = by_sku(result)
    assert set(products) == {"X-1", "X-2"}
    poles = products["X-1"]
    assert poles.price.minor == 5900 and poles.category == "Poles" and poles.brand == "Granitas"
    assert poles.source_line == 7
    assert products["X-2"].title == "Head Net" and products["X-2"].stock == 0
    [error] = result.errors
    assert error.line == 23 and "price is empty" in error.message


def test_google_merchant_atom_feed(tmp_path):
    feed = tmp_path / "feed.xml"
    feed.write_text(
        '<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom" xmlns:g="http://base.google.com/ns/1.0">\n'
        '<entry><g:id>A-1</g:id><title>Map Case</title><link href="https://shop.example/a-1"/>'
        "<g:price>17.90 EUR</g:price><g:availability>in stock</g:availability></entry>\n</feed>\n",
        encoding="utf-8",
    )
    [product] = load(feed).products
    assert (product.sku, product.price.minor, product.url) == ("A-1", 1790, "https://shop.example/a-1")


def test_documents_markdown_html_text(tmp_path):
    returns = load(FIXTURES / "docs" / "returns.md").documents[0]
    assert (returns.doc_id, returns.title) == ("doc:returns", "Returns")
    assert "SYSTEM" not in returns.text  # HTML comments do not render, so they are not stored
    lithuanian = load(FIXTURES / "docs" / "returns.lt.md").documents[0]
    assert (lithuanian.doc_id, lithuanian.lang) == ("doc:returns.lt", "lt")
    about = load(FIXTURES / "docs" / "about.html").documents[0]
    assert about.doc_id == "doc:about" and about.title == "About us"
    assert "## Contact" in about.text and "We sell outdoor gear" in about.text
    for hidden in ("Ignore all previous", "hidden note", "template text", "do not index", "color:red"):
        assert hidden not in about.text
    care = load(FIXTURES / "docs" / "care.txt").documents[0]
    assert care.title == "Care guide" and care.lang == "en" and "Dry flat." in care.text


def test_pdf_document(tmp_path, pdf_bytes):
    pdf = tmp_path / "warranty.pdf"
    pdf.write_bytes(pdf_bytes(["Warranty terms", "Two years on everything."]))
    doc = load(pdf).documents[0]
    assert doc.doc_id == "doc:warranty"
    assert "## Page 1" in doc.text and "Two years on everything." in doc.text


def test_orders_are_validated_per_order():
    result = load(FIXTURES / "orders.jsonl")
    assert result.loader == "orders"
    assert [o.order_id for o in result.orders] == ["A1001", "A1003"]
    first = result.orders[0]
    assert first.email == "ana@example.com" and first.status == "shipped" and first.carrier == "Omniva"
    assert [(i.sku, i.quantity, i.unit_price.minor) for i in first.items] == [
        ("TENT-2", 1, 24900),
        ("GONE-9", 2, 450),
    ]
    assert first.placed_at.isoformat() == "2024-05-02T10:15:00+00:00"
    [error] = result.errors
    assert error.line == 2
    for field in ("email", "status 'lost'", "placed_at", "items[1].quantity"):
        assert field in error.message


def test_store_yaml_known_keys_and_settings(tmp_path):
    result = load(FIXTURES / "store.yaml")
    config = result.store
    assert config is not None and not result.errors
    assert (config.name, config.currency, config.languages) == ("Test Trail", "EUR", ["en", "lt"])
    assert config.handoff_contact == "help@test.example"
    assert config.settings == {"shipping": {"rate": "4.99", "free_over": "75.00"}, "max_quantity_per_line": 5}


def test_store_yaml_bad_value_reported_at_its_line(tmp_path):
    path = tmp_path / "store.yaml"
    path.write_text("name: Shop\ncurrency: EURO\nlanguages: [en]\n", encoding="utf-8")
    result = load(path)
    assert result.store is not None and result.store.currency is None and result.store.name == "Shop"
    [error] = result.errors
    assert error.line == 2 and "ISO 4217" in error.message


def test_store_yaml_alias_bomb_refused(tmp_path):
    path = tmp_path / "store.yaml"
    path.write_text('a: &a ["x","x"]\nb: &b [*a,*a]\nc: [*b,*b]\n', encoding="utf-8")
    with pytest.raises(Exception, match="anchors"):
        load(path)


def test_default_currency_comes_from_context(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("id,title,price\nP-1,Thing,5\n", encoding="utf-8")
    assert load(path).products[0].price == load(path).products[0].price.parse("5", "EUR")
    no_default = LoadContext(merchant_id="m1", default_currency=None)
    [error] = load(path, no_default).errors
    assert "currency is missing" in error.message and error.line == 2
    assert Decimal("5") == load(path).products[0].price.amount
