"""The ingest pipeline end to end: both stores, incremental upserts, replace/append, crashes."""

import shutil

import pytest
from sqlalchemy import func, select

from ingest.pipeline import ingest_paths
from shop.models import DocChunk, Document, IngestState, Merchant, Order, Product
from tests.ingest.support import FIXTURES, write


@pytest.fixture
def run(settings, db, embedder, vectors):
    def _run(*paths, merchant="m1", replace=True):
        return ingest_paths(
            settings, db, list(paths), merchant, replace=replace, embedder=embedder, vectors=vectors
        )

    return _run


def products(db, merchant="m1"):
    with db.session() as s:
        return {p.sku: p for p in s.scalars(select(Product).where(Product.merchant_id == merchant))}


def vector_skus(vectors, merchant="m1"):
    return set(vectors.stamps(merchant, "products", "hash"))


def catalog(tmp_path, rows, name="products.csv"):
    header = "id,title,price,currency,stock,description\n"
    return write(tmp_path / "shop" / name, header + "".join(r + "\n" for r in rows))


def test_first_ingest_fills_both_stores_with_provenance(run, db, vectors, embedder):
    report = run(FIXTURES / "catalog.csv")
    assert report.exit_code == 0 and report.counts["products_added"] == 5
    assert embedder.documents == 5 and report.counts["embedded"] == 5
    stored = products(db)
    assert stored["TENT-2"].source_file == "catalog.csv" and stored["TENT-2"].source_line == 2
    stamps = vectors.stamps("m1", "products", "hash")
    assert set(stamps) == set(stored)
    meta = stamps["JKT-M"]
    assert (meta["merchant_id"], meta["source_file"], meta["source_line"]) == ("m1", "catalog.csv", 5)
    assert meta["content_hash"] == stored["JKT-M"].content_hash and meta["price_minor"] == 27900


def test_reingest_unchanged_embeds_nothing(run, embedder):
    run(FIXTURES / "catalog.csv", FIXTURES / "docs")
    first = embedder.documents
    report = run(FIXTURES / "catalog.csv", FIXTURES / "docs")
    assert embedder.documents == first
    assert report.counts["embedded"] == 0 and report.counts["vectors_upserted"] == 0
    assert report.counts["products_unchanged"] == 5 and report.counts["documents_unchanged"] == 4


def test_changed_text_reembeds_only_that_row_and_price_change_embeds_nothing(
    run, tmp_path, db, vectors, embedder
):
    rows = ["A,Alpha Tent,10.00,EUR,1,green", "B,Beta Bag,20.00,EUR,2,warm"]
    path = catalog(tmp_path, rows)
    run(path)
    before = embedder.documents
    catalog(tmp_path, ["A,Alpha Tent,12.50,EUR,0,green", "B,Beta Bag XL,20.00,EUR,2,warm"])
    report = run(path)
    assert embedder.documents == before + 1  # only B's text changed
    assert report.counts["products_updated"] == 2 and report.counts["vectors_metadata_updated"] == 1
    stamps = vectors.stamps("m1", "products", "hash")
    assert stamps["A"]["price_minor"] == 1250 and stamps["A"]["in_stock"] is False
    assert products(db)["B"].title == "Beta Bag XL"


def test_reupload_keeps_live_stock_unless_the_file_changes_the_stock_figure(run, tmp_path, db):
    path = catalog(
        tmp_path, ["A,Alpha Tent,10.00,EUR,5,green", "B,Beta Bag,20.00,EUR,5,warm", "C,Cap,5.00,EUR,,red"]
    )
    run(path)
    with db.session() as s:  # orders since the import sold 2 of A, 1 of B
        for sku, sold in (("A", 2), ("B", 1)):
            s.scalars(select(Product).where(Product.sku == sku)).one().stock -= sold
    # A: only the price changed; B: the merchant restocked to 9; C: untracked, text changed.
    catalog(
        tmp_path, ["A,Alpha Tent,11.00,EUR,5,green", "B,Beta Bag,20.00,EUR,9,warm", "C,Cap,5.00,EUR,,blue"]
    )
    report = run(path)
    assert report.counts["products_updated"] == 3
    stored = products(db)
    assert (stored["A"].stock, stored["A"].price_minor) == (3, 1100)  # 5 - 2 sold: the file said 5 again
    assert stored["B"].stock == 9  # a new figure from the merchant
    assert stored["C"].stock is None and stored["C"].description == "blue"
    assert {sku: p.imported_stock for sku, p in stored.items()} == {"A": 5, "B": 9, "C": -1}
    run(path)  # unchanged file: nothing moves
    assert products(db)["A"].stock == 3
    with db.session() as s:  # a row from before imported stock was recorded: the file's figure wins
        s.scalars(select(Product).where(Product.sku == "A")).one().imported_stock = None
    catalog(
        tmp_path, ["A,Alpha Tent,12.00,EUR,5,green", "B,Beta Bag,20.00,EUR,9,warm", "C,Cap,5.00,EUR,,blue"]
    )
    run(path)
    assert products(db)["A"].stock == 5


def test_replace_removes_rows_missing_from_the_reuploaded_file(run, tmp_path, db, vectors):
    path = catalog(tmp_path, ["A,Alpha,1.00,EUR,1,x", "B,Beta,2.00,EUR,1,y", "C,Gamma,3.00,EUR,1,z"])
    other = catalog(tmp_path, ["Z,Zeta,9.00,EUR,1,other file"], name="more.csv")
    run(path, other)
    catalog(tmp_path, ["A,Alpha,1.00,EUR,1,x"])
    report = run(path)
    assert report.counts["products_removed"] == 2
    assert set(products(db)) == {"A", "Z"}  # rows of another file are not touched
    assert vector_skus(vectors) == {"A", "Z"}


def test_append_keeps_rows_missing_from_the_file(run, tmp_path, db, vectors):
    path = catalog(tmp_path, ["A,Alpha,1.00,EUR,1,x", "B,Beta,2.00,EUR,1,y"])
    run(path)
    catalog(tmp_path, ["A,Alpha,1.00,EUR,1,x"])
    report = run(path, replace=False)
    assert report.counts["products_removed"] == 0
    assert set(products(db)) == {"A", "B"} and vector_skus(vectors) == {"A", "B"}


def test_rejected_row_keeps_its_stored_version(run, tmp_path, db):
    path = catalog(tmp_path, ["A,Alpha,1.00,EUR,1,x", "B,Beta,2.00,EUR,1,y"])
    run(path)
    catalog(tmp_path, ["A,Alpha,1.00,EUR,1,x", "B,Beta,two euros,EUR,1,y"])
    report = run(path)
    assert report.exit_code == 3 and report.counts["products_removed"] == 0
    assert products(db)["B"].price_minor == 200


def test_bad_rows_are_reported_and_good_rows_stored(run, db):
    report = run(FIXTURES / "bad_rows.csv")
    assert report.exit_code == 3
    assert set(products(db)) == {"OK-1", "OK-2"}
    lines = {e.line: e.message for e in report.errors}
    assert sorted(lines) == [3, 4, 7, 8, 9]
    assert "id is empty" in lines[3] and "price '12;50'" in lines[4] and "stock '2.5'" in lines[7]
    assert "already used on line 2" in lines[8] and "negative" in lines[9]
    assert all(str(e).startswith(f"{FIXTURES / 'bad_rows.csv'}:") for e in report.errors)
    assert products(db)["OK-2"].title == "Lantern with a two-line title"


def test_unreadable_file_exits_1_and_changes_nothing(run, tmp_path, db, vectors):
    run(FIXTURES / "catalog.csv")
    before = {sku: p.content_hash for sku, p in products(db).items()}
    broken = write(tmp_path / "catalog.csv", "\x00\x01binary" * 50)
    report = run(broken)
    assert report.exit_code == 1 and "binary" in report.errors[0].message
    assert {sku: p.content_hash for sku, p in products(db).items()} == before
    assert vector_skus(vectors) == set(before)


def test_all_rows_rejected_exits_1_and_keeps_everything(run, tmp_path, db):
    path = catalog(tmp_path, ["A,Alpha,1.00,EUR,1,x"])
    run(path)
    catalog(tmp_path, ["A,Alpha,free,EUR,1,x"])
    report = run(path)
    assert report.exit_code == 1 and set(products(db)) == {"A"}
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(IngestState)) == 1


def test_limits_are_enforced_with_clear_errors(run, tmp_path, settings):
    big = write(tmp_path / "big.csv", "id,title,price\n" + "X,Y,1\n" * 40_000)
    long_cell = catalog(tmp_path, ["A,Alpha,1.00,EUR,1," + "d" * 600], name="long.csv")
    many = write(
        tmp_path / "many.csv", "id,title,price,currency\n" + "".join(f"S{i},T,1,EUR\n" for i in range(1001))
    )
    report = run(big, long_cell, many)
    messages = {e.file.rsplit("/", 1)[-1]: e.message for e in report.errors}
    assert "SHOPAGENT_MAX_UPLOAD_BYTES" in messages["big.csv"]
    assert "description is 600 characters long; the limit is 500" in messages["long.csv"]
    assert "more than 1,000 rows" in messages["many.csv"]
    assert report.exit_code == 1


def test_billion_laughs_xml_is_refused(run, tmp_path):
    bomb = write(
        tmp_path / "feed.xml",
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>\n'
        '<rss xmlns:g="http://base.google.com/ns/1.0"><channel><item><g:id>&lol2;</g:id></item></channel></rss>\n',
    )
    report = run(bomb)
    assert report.exit_code == 1 and "unsafe XML" in report.errors[0].message


def test_documents_are_chunked_with_ids_headings_and_provenance(run, db, vectors):
    run(FIXTURES / "docs")
    with db.session() as s:
        docs = {d.doc_id: d for d in s.scalars(select(Document))}
        chunks = {c.chunk_id: c for c in s.scalars(select(DocChunk))}
    assert set(docs) == {"doc:returns", "doc:returns.lt", "doc:about", "doc:care"}
    assert docs["doc:returns"].source_file == "returns.md" and docs["doc:returns.lt"].lang == "lt"
    window = next(c for c in chunks.values() if c.heading_path == "Return window")
    assert "45 days" in window.text and window.source_line == 7
    stamps = vectors.stamps("m1", "chunks", "hash")
    assert set(stamps) == set(chunks)
    assert stamps[window.chunk_id]["doc_id"] == "doc:returns" and stamps[window.chunk_id]["source_line"] == 7


def test_edited_document_replaces_its_chunks(run, tmp_path, db, vectors):
    doc = write(tmp_path / "docs" / "faq.md", "# FAQ\n\n## Hours\n\nOpen 9-18.\n\n## Phone\n\nCall us.\n")
    run(doc)
    write(doc, "# FAQ\n\n## Hours\n\nOpen 8-20.\n")
    run(doc)
    with db.session() as s:
        texts = [c.text for c in s.scalars(select(DocChunk).order_by(DocChunk.ordinal))]
    assert texts == ["Open 8-20."]
    assert set(vectors.stamps("m1", "chunks", "hash")) == {"doc:faq#0"}


def test_orders_store_title_snapshots_minor_units_and_events(run, db):
    report = run(FIXTURES / "catalog.csv", FIXTURES / "orders.jsonl")
    assert report.exit_code == 3 and report.counts["orders_added"] == 2
    with db.session() as s:
        order = s.scalar(select(Order).where(Order.order_id == "A1001"))
        lines = [(line.sku, line.title, line.unit_price_minor, line.quantity) for line in order.lines]
        events = [e.kind for e in order.events]
        assert (order.status, order.source, order.total_minor, order.email) == (
            "shipped",
            "import",
            25800,
            "ana@example.com",
        )
        assert order.extra["source_file"] == "orders.jsonl" and order.extra["source_line"] == 1
    assert lines == [("TENT-2", "Ridge 2 Trekking Tent", 24900, 1), ("GONE-9", "Old Pegs", 450, 2)]
    assert events == ["imported"]
    again = run(FIXTURES / "catalog.csv", FIXTURES / "orders.jsonl")
    assert again.counts["orders_unchanged"] == 2 and again.counts["orders_added"] == 0


def test_store_yaml_updates_the_merchant(run, db, tmp_path):
    folder = tmp_path / "store"
    shutil.copy(FIXTURES / "store.yaml", folder / "store.yaml") if folder.exists() else None
    folder.mkdir(exist_ok=True)
    shutil.copy(FIXTURES / "store.yaml", folder / "store.yaml")
    write(folder / "products.csv", "id,title,price\nP,Thing,3.50\n")  # no currency column: store.yaml's
    assert run(folder).exit_code == 0
    with db.session() as s:
        merchant = s.get(Merchant, "m1")
        assert (merchant.name, merchant.currency, merchant.languages) == ("Test Trail", "EUR", ["en", "lt"])
        assert (
            merchant.settings["max_quantity_per_line"] == 5
            and merchant.handoff_contact == "help@test.example"
        )
    assert products(db)["P"].currency == "EUR"


def test_merchants_are_isolated(run, db, vectors):
    run(FIXTURES / "catalog.csv", merchant="m1")
    run(FIXTURES / "catalog.json", merchant="m2")
    assert set(products(db, "m2")) == {"J-1", "J-2"}
    assert vector_skus(vectors, "m1") == {"TENT-2", "BAG-W", "JKT-S", "JKT-M", "MUG"}
    assert vector_skus(vectors, "m2") == {"J-1", "J-2"}
    assert all(m["merchant_id"] == "m2" for m in vectors.stamps("m2", "products", "hash").values())


class Crash(RuntimeError):
    pass


def test_crash_after_database_commit_is_repaired_by_the_next_run(run, tmp_path, db, vectors, monkeypatch):
    path = catalog(tmp_path, ["A,Alpha,1.00,EUR,1,x", "B,Beta,2.00,EUR,1,y"])
    run(path)
    catalog(tmp_path, ["A,Alpha renamed,1.00,EUR,1,x", "C,Gamma,3.00,EUR,1,z"])

    def boom(*args, **kwargs):
        raise Crash("vector store went away")

    with monkeypatch.context() as patch:
        patch.setattr(type(vectors), "upsert", boom)
        failed = run(path)
    assert failed.exit_code == 1 and "run the same ingest again" in failed.failure
    assert set(products(db)) == {"A", "C"}  # the database moved on ...
    assert vector_skus(vectors) == {"A", "B"}  # ... the vector store did not
    repaired = run(path)
    assert repaired.exit_code == 0 and repaired.counts["products_unchanged"] == 2
    assert repaired.counts["vectors_repaired"] == 3  # A re-embedded, C added, B deleted
    assert vector_skus(vectors) == {"A", "C"}
    stamps = vectors.stamps("m1", "products", "hash")
    assert all(stamps[sku]["content_hash"] == p.content_hash for sku, p in products(db).items())


def test_vector_store_down_before_writing_changes_nothing(run, tmp_path, db, vectors, monkeypatch):
    path = catalog(tmp_path, ["A,Alpha,1.00,EUR,1,x"])

    def down(*args, **kwargs):
        raise Crash("connection refused")

    monkeypatch.setattr(type(vectors), "stamps", down)
    with pytest.raises(Crash):
        run(path)
    assert products(db) == {}
