"""Google Merchant Center feeds: tab-separated text and RSS 2.0 / Atom XML with ``g:`` fields.

Prices come as ``15.00 EUR``; ``availability`` says whether the item can be bought;
``item_group_id`` groups variants; ``product_type`` is the merchant's own category path.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ingest.context import LoadContext
from ingest.loaders.catalog import collect
from ingest.records import LoadResult, RowError, SourceFile, UnreadableFile
from ingest.tabular import Table
from ingest.validate import normalize_key
from ingest.xmlsafe import parse_xml

G_NS = "http://base.google.com/ns/1.0"
_AVAILABLE = {"in stock", "in_stock", "preorder", "backorder"}
_SOLD_OUT = {"out of stock", "out_of_stock"}
_DROPPED = {
    "additional_image_link",
    "shipping",
    "tax",
    "identifier_exists",
    "mobile_link",
    "sale_price_effective_date",
}


def is_google_header(header: list[str]) -> bool:
    keys = {_strip_prefix(h.strip().lower()) for h in header}
    return {"id", "title", "price"} <= keys and bool(
        keys & {"availability", "link", "image_link", "condition"}
    )


def _strip_prefix(key: str) -> str:
    return key[2:] if key.startswith("g:") else key


def to_catalog_row(item: dict[str, str]) -> tuple[dict[str, Any], str | None]:
    """One feed item as a generic catalog row, or the availability problem to report."""
    row: dict[str, Any] = {}
    for key, value in item.items():
        key = _strip_prefix(key.strip().lower())
        if key in _DROPPED or not value.strip():
            continue
        row[normalize_key(key)] = value.strip()  # link -> url, item_group_id -> parent_id, ...
    if "category" in row:
        row["category"] = row["category"].split(">")[-1].strip()
    if row.get("sale_price"):
        row["regular_price"] = row.get("price", "")
        row["price"] = row.pop("sale_price")
    availability = str(row.get("availability", "in stock")).lower()
    quantity = row.pop("quantity", "") or row.pop("sell_on_google_quantity", "")
    if availability in _SOLD_OUT:
        row["stock"] = "0"
    elif availability in _AVAILABLE:
        row["stock"] = quantity
    else:
        return row, (
            f"availability {row.get('availability')!r} is not one of: in stock, out of stock, preorder, backorder"
        )
    if availability in _SOLD_OUT or availability.replace("_", " ") == "in stock":
        row.pop("availability", None)  # said by stock already; preorder/backorder stay visible
    return row, None


def _load_items(
    items: Iterable[tuple[int, dict[str, str]]], source: SourceFile, ctx: LoadContext
) -> LoadResult:
    rows: list[tuple[int, dict[str, Any]]] = []
    availability_errors: list[RowError] = []
    for count, (line, item) in enumerate(items, start=1):
        if count > ctx.max_rows:
            raise UnreadableFile(
                f"{source.name} has more than {ctx.max_rows:,} items: split the feed or raise SHOPAGENT_MAX_ROWS"
            )
        row, problem = to_catalog_row(item)
        if problem:
            availability_errors.append(RowError(source.name, line, problem))
        else:
            rows.append((line, row))
    result = collect(rows, source, ctx, "google-merchant")
    result.errors = sorted(result.errors + availability_errors, key=lambda e: e.line)
    return result


def load_tsv(table: Table, source: SourceFile, ctx: LoadContext) -> LoadResult:
    header = [h.strip() for h in table.header]
    return _load_items(
        ((line, dict(zip(header, cells, strict=False))) for line, cells in table.rows), source, ctx
    )


def is_google_xml(text: str) -> bool:
    head = text[:4000]
    return G_NS in head and ("<rss" in head or "<feed" in head)


def load_xml(text: str, source: SourceFile, ctx: LoadContext) -> LoadResult:
    tree = parse_xml(text, source.name)
    root = tree.root
    local = root.tag.rsplit("}", 1)[-1]
    if local == "rss":
        entries = root.findall("./channel/item")
    elif local == "feed":
        entries = [e for e in root if e.tag.rsplit("}", 1)[-1] == "entry"]
    else:
        raise UnreadableFile(
            f"{source.name}: XML root <{local}> is not a Google Merchant feed (expected <rss> or <feed> with g: fields)"
        )

    def items() -> Iterable[tuple[int, dict[str, str]]]:
        for entry in entries:
            fields: dict[str, str] = {}
            for child in entry:
                key = child.tag.rsplit("}", 1)[-1]
                value = "".join(child.itertext()).strip()
                if key == "link" and not value:
                    value = child.get("href", "")  # Atom links carry the address in href
                # g:-namespaced fields win over plain RSS ones (g:title over title).
                if child.tag.startswith("{" + G_NS + "}") or key not in fields:
                    fields[key] = value
            yield tree.line_of(entry), fields

    return _load_items(items(), source, ctx)
