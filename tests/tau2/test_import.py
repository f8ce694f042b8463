import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli import app
from evals.tau2.state import snapshot
from ingest.context import LoadContext
from ingest.detect import load_file
from ingest.records import SourceFile, UnreadableFile
from ingest.tau2 import DEFAULT_MERCHANT, import_database, read_database
from shop.db import Database
from shop.models import Customer, Merchant, Order, OrderLine, Product

M = DEFAULT_MERCHANT


def cents(value: float) -> int:
    return int(Decimal(str(value)) * 100)


def tau2_in_cents(data):
    """db.json as the snapshot renders it: every amount in integer cents."""
    products = {
        pid: {
            **p,
            "variants": {iid: {**v, "price": cents(v["price"])} for iid, v in p["variants"].items()},
        }
        for pid, p in data["products"].items()
    }
    users = {}
    for uid, u in data["users"].items():
        methods = {}
        for pm, m in u["payment_methods"].items():
            methods[pm] = {**m, "balance": cents(m["balance"])} if "balance" in m else dict(m)
        users[uid] = {**u, "payment_methods": methods}
    orders = {
        oid: {
            **o,
            "items": [{**i, "price": cents(i["price"])} for i in o["items"]],
            "payment_history": [{**p, "amount": cents(p["amount"])} for p in o["payment_history"]],
        }
        for oid, o in data["orders"].items()
    }
    return {"products": products, "users": users, "orders": orders}


def test_import_counts_and_totals(fresh, tau2_dir):
    data = json.loads((tau2_dir / "db.json").read_text())
    with fresh.read_session() as s:
        assert (
            s.scalar(select(func.count(func.distinct(Product.parent_sku))).where(Product.merchant_id == M))
            == 50
        )
        assert s.scalar(select(func.count()).select_from(Product).where(Product.merchant_id == M)) == 591
        assert s.scalar(select(func.count()).select_from(Customer).where(Customer.merchant_id == M)) == 500
        assert s.scalar(select(func.count()).select_from(Order).where(Order.merchant_id == M)) == 1000
        assert s.scalar(select(func.count()).select_from(OrderLine)) == 2978
        statuses = Counter(s.scalars(select(Order.status).where(Order.merchant_id == M)))
        assert statuses == {"pending": 423, "delivered": 373, "processed": 102, "cancelled": 102}
        # Order totals: exact sums of the item prices, in cents, over the whole store.
        assert s.scalar(select(func.sum(Order.total_minor)).where(Order.merchant_id == M)) == 167682106
        unavailable = s.scalar(select(func.count()).select_from(Product).where(Product.stock == 0))
        assert unavailable == 212
        merchant = s.get(Merchant, M)
        assert merchant.currency == "USD" and merchant.settings["platform"] == "tau2"
        assert "Retail agent policy" in merchant.settings["policy"]
        methods = s.scalars(select(Customer.payment_methods).where(Customer.merchant_id == M)).all()
    balances = sum(m["balance_minor"] for pm in methods for m in pm.values() if m["source"] == "gift_card")
    assert balances == 1234800
    # Every order total equals the payments on it minus the refunds, as in the file.
    paid = {
        o["order_id"]: sum(
            cents(p["amount"]) * (1 if p["transaction_type"] == "payment" else 0)
            for p in o["payment_history"]
        )
        for o in data["orders"].values()
    }
    with fresh.read_session() as s:
        totals = dict(
            s.execute(select(Order.order_id, Order.total_minor).where(Order.merchant_id == M)).all()
        )
    assert totals == paid


def test_snapshot_of_the_import_is_the_file_in_cents(fresh, tau2_dir):
    data = json.loads((tau2_dir / "db.json").read_text())
    assert snapshot(fresh, M) == tau2_in_cents(data)


def test_float_prices_become_exact_cents(fresh):
    with fresh.read_session() as s:
        price = s.scalar(select(Product.price_minor).where(Product.sku == "2768401027"))
    # 2346.49 * 100 is 234648.99999999997 as a binary float; the import keeps the decimal.
    assert int(2346.49 * 100) == 234648
    assert price == 234649


def test_detected_by_content_as_an_ingest_loader(tau2_dir):
    source = SourceFile(tau2_dir / "db.json", "export.json", (tau2_dir / "db.json").read_bytes())
    result = load_file(source, LoadContext(merchant_id=M, default_currency=None))
    assert result.loader == "tau2"
    assert (len(result.products), len(result.customers), len(result.orders)) == (591, 500, 1000)
    assert result.store is not None and result.store.settings["platform"] == "tau2"
    assert not result.errors


def _small_db(tmp_path: Path, **changes) -> Path:
    data = {
        "products": {
            "100": {
                "name": "Mug",
                "product_id": "100",
                "variants": {
                    "1001": {
                        "item_id": "1001",
                        "options": {"color": "red"},
                        "available": True,
                        "price": 9.99,
                    },
                    "1002": {
                        "item_id": "1002",
                        "options": {"color": "blue"},
                        "available": False,
                        "price": 10.5,
                    },
                },
            },
            "200": {
                "name": "Broken",
                "product_id": "200",
                "variants": {"2001": {"item_id": "2001", "price": "x"}},
            },
        },
        "users": {
            "ann_1": {
                "user_id": "ann_1",
                "name": {"first_name": "Ann", "last_name": "Lee"},
                "address": {
                    "address1": "1 Main St",
                    "address2": "",
                    "city": "Austin",
                    "country": "USA",
                    "state": "TX",
                    "zip": "73301",
                },
                "email": "ann@example.com",
                "payment_methods": {
                    "gift_card_1": {"source": "gift_card", "id": "gift_card_1", "balance": 20}
                },
                "orders": ["#W1"],
            }
        },
        "orders": {
            "#W1": {
                "order_id": "#W1",
                "user_id": "ann_1",
                "address": {
                    "address1": "1 Main St",
                    "address2": "",
                    "city": "Austin",
                    "country": "USA",
                    "state": "TX",
                    "zip": "73301",
                },
                "items": [
                    {
                        "name": "Mug",
                        "product_id": "100",
                        "item_id": "1001",
                        "price": 9.99,
                        "options": {"color": "red"},
                    }
                ],
                "status": "pending",
                "fulfillments": [],
                "payment_history": [
                    {"transaction_type": "payment", "amount": 9.99, "payment_method_id": "gift_card_1"}
                ],
            },
            "#W2": {"order_id": "#W2", "user_id": "nobody", "items": [], "status": "pending"},
        },
    }
    data.update(changes)
    path = tmp_path / "db.json"
    path.write_text(json.dumps(data, indent=2))
    return path


def test_malformed_rows_are_reported_with_their_line_and_the_rest_imported(tmp_path):
    path = _small_db(tmp_path)
    db = Database(f"sqlite:///{tmp_path / 's.db'}")
    db.migrate()
    summary = import_database(db, path, "small")
    assert (summary.products, summary.variants, summary.customers, summary.orders) == (1, 2, 1, 1)
    lines = path.read_text().splitlines()
    assert len(summary.errors) == 2
    broken = next(e for e in summary.errors if "2001" in e.message)
    assert "available must be true or false" in broken.message
    assert lines[broken.line - 1].strip() == '"200": {'
    orphan = next(e for e in summary.errors if "nobody" in e.message)
    assert lines[orphan.line - 1].strip() == '"#W2": {' and "not in the file's users" in orphan.message
    with db.read_session() as s:
        blue = s.execute(select(Product.stock, Product.price_minor).where(Product.sku == "1002")).one()
        assert tuple(blue) == (0, 1050)
    # Importing again replaces rather than duplicates.
    again = import_database(db, path, "small")
    assert again.orders == 1
    with db.read_session() as s:
        assert s.scalar(select(func.count()).select_from(Order).where(Order.merchant_id == "small")) == 1
    db.dispose()


def test_a_file_that_is_not_a_tau2_database_is_refused_whole(tmp_path):
    path = tmp_path / "db.json"
    path.write_text(json.dumps([{"id": "A", "title": "x", "price": "1.00"}]))
    with pytest.raises(UnreadableFile, match="not a τ²-bench retail database"):
        read_database(path)
    path.write_text("{not json")
    with pytest.raises(UnreadableFile, match="not valid JSON"):
        read_database(path)


def test_shopagent_ingest_puts_a_tau2_database_in_its_own_merchant(tmp_path, monkeypatch):
    path = _small_db(tmp_path)
    monkeypatch.setenv("SHOPAGENT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHOPAGENT_EMBEDDER", "hash")
    result = CliRunner().invoke(app, ["ingest", str(path)])
    assert result.exit_code == 3, result.output  # the two malformed rows are reported, the rest stored
    assert "db.json:" in result.output and "available must be true or false" in result.output
    ingested = Database(f"sqlite:///{tmp_path / 'home' / 'shopagent.db'}")
    direct = Database(f"sqlite:///{tmp_path / 'direct.db'}")
    direct.migrate()
    import_database(direct, path)
    assert snapshot(ingested, M) == snapshot(direct, M)
    assert snapshot(ingested, M)["orders"]["#W1"]["payment_history"][0]["amount"] == 999
    ingested.dispose()
    direct.dispose()
