"""Formats are recognised from content and header, not only from the file name."""

import pytest

from ingest.context import LoadContext
from ingest.detect import load_file, register_json_loader
from ingest.jsondata import JsonDocument
from ingest.records import LoadResult, SourceFile, StoreConfig, UnreadableFile

CTX = LoadContext(merchant_id="m1", default_currency="EUR")


def load(name: str, data: bytes | str):
    raw = data.encode("utf-8") if isinstance(data, str) else data
    from pathlib import Path

    return load_file(SourceFile(path=Path(name), name=name, data=raw), CTX)


def test_semicolon_csv_from_european_excel():
    result = load("export.csv", "id;title;price\nA;Tent;249,00\nB;Mug;19.90\n")
    assert [p.sku for p in result.products] == ["B"]
    assert "use a dot for decimals" in result.errors[0].message


def test_tab_separated_csv_is_read_with_tabs():
    assert [p.title for p in load("export.csv", "id\ttitle\tprice\nA\tTent, green\t249.00\n").products] == [
        "Tent, green"
    ]


def test_excel_unicode_text_export_utf16_tsv():
    data = "id\ttitle\tprice\nA\tPalapinė\t249.00\n".encode("utf-16")
    assert load("export.txt", data).products[0].title == "Palapinė"


def test_pdf_is_recognised_whatever_its_name(pdf_bytes):
    assert load("policy.txt", pdf_bytes(["Returns in 45 days"])).documents[0].doc_id == "doc:policy"


def test_html_in_a_txt_file_is_read_as_html():
    doc = load(
        "about.txt", "<!DOCTYPE html><html><body><h1>About</h1><script>x</script><p>Hi</p></body></html>"
    )
    assert doc.documents[0].text == "# About\nHi"


def test_json_catalog_without_json_extension():
    assert load("feed", '[{"id": "A", "title": "Tent", "price": "1.00"}]').products[0].sku == "A"


def test_orders_recognised_by_name_and_by_content():
    order = '{"id": "A1", "email": "a@b.co", "status": "paid", "placed_at": "2024-01-01", "currency": "EUR", "items": [{"sku": "X", "quantity": 1, "unit_price": "2.00"}]}\n'
    assert load("orders-2024.jsonl", order).loader == "orders"
    assert load("export.json", "[" + order + "]").loader == "orders"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("catalog.zip", b"PK\x03\x04rest", "compressed archive"),
        ("catalog.csv.gz", b"\x1f\x8bgz", "compressed archive"),
        ("manual.pdf", b"not a pdf", "not a PDF"),
        ("config.yaml", b"a: 1", "only YAML file"),
        ("photo.png", b"\x89PNG\r\n\x1a\nabc", "unsupported file type"),
        ("empty.csv", b"   \n", "empty"),
        ("catalog.csv", b"sku_code,name\nA,B\n", "the header has no id"),
        ("feed.xml", b"<catalog><item/></catalog>", "not a Google Merchant feed"),
        ("data.json", b'{"hello": "world"}', "JSON not recognised"),
    ],
)
def test_unusable_files_are_refused_with_the_reason(name, data, message):
    with pytest.raises(UnreadableFile, match=message):
        load(name, data)


def test_a_registered_json_loader_wins_for_its_content():
    def is_platform(doc: JsonDocument, source: SourceFile) -> bool:
        return isinstance(doc.data, dict) and doc.data.get("platform") == "acme"

    @register_json_loader("acme-test", is_platform)
    def load_acme(doc: JsonDocument, source: SourceFile, ctx: LoadContext) -> LoadResult:
        return LoadResult(loader="acme-test", store=StoreConfig(name=doc.data["shop"]))

    result = load("db.json", '{"platform": "acme", "shop": "Acme Outdoor", "products": []}')
    assert result.loader == "acme-test" and result.store is not None and result.store.name == "Acme Outdoor"
