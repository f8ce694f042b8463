"""Generic catalogs (DESIGN.md columns) from CSV/TSV or JSON/JSON Lines."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ingest.context import LoadContext
from ingest.jsondata import JsonDocument
from ingest.records import LoadResult, ProductRecord, RowError, SourceFile, UnreadableFile
from ingest.sanitize import clean_line
from ingest.tabular import Table
from ingest.validate import ProductValidator, as_text, normalize_key

REQUIRED = ("id", "title", "price")


def collect(
    rows: Iterable[tuple[int, Mapping[str, Any]]], source: SourceFile, ctx: LoadContext, loader: str
) -> LoadResult:
    """Validate normalized rows; good ones become products, bad ones errors naming their line."""
    result = LoadResult(loader=loader)
    validator = ProductValidator(ctx, source.name)
    for line, row in rows:
        outcome = validator.validate(row, line)
        if isinstance(outcome, ProductRecord):
            result.products.append(outcome)
        else:
            result.errors.append(outcome)
            sku = clean_line(as_text(row.get("id")))
            if sku:
                result.rejected_skus.add(sku)
    return result


def load_table(table: Table, source: SourceFile, ctx: LoadContext) -> LoadResult:
    keys = [normalize_key(h) for h in table.header]
    missing = [k for k in REQUIRED if k not in keys]
    if missing:
        raise UnreadableFile(
            f"{source.name}:{table.header_line}: the header has no {', '.join(missing)} column "
            f"(found: {', '.join(h.strip() for h in table.header[:12])}); a catalog needs id, title and price"
        )
    duplicates = sorted({k for k in keys if k and keys.count(k) > 1})
    if duplicates:
        raise UnreadableFile(
            f"{source.name}:{table.header_line}: column {duplicates[0]!r} appears twice in the header: rename one"
        )
    width = len(keys)
    bad_width: list[RowError] = []

    def rows() -> Iterable[tuple[int, dict[str, str]]]:
        for line, cells in table.rows:
            extra = [c for c in cells[width:] if c.strip()]
            if extra:
                bad_width.append(
                    RowError(
                        source.name,
                        line,
                        f"this row has {len(cells)} cells but the header has {width} columns: "
                        "put quotes around cells that contain the delimiter",
                    )
                )
                continue
            yield line, dict(zip(keys, cells, strict=False))

    result = collect(rows(), source, ctx, "catalog")
    result.errors = sorted(result.errors + bad_width, key=lambda e: e.line)
    return result


def looks_like_catalog_rows(items: Any) -> bool:
    if not isinstance(items, list) or not items:
        return False
    first = next((item for item in items if isinstance(item, dict)), None)
    if first is None:
        return False
    keys = {normalize_key(k) for k in first}
    return "id" in keys and ("title" in keys or "price" in keys)


def json_catalog_key(doc: JsonDocument) -> str | None | bool:
    """Where the product list is: ``None`` for a top-level list, a key such as ``products``, or False."""
    if isinstance(doc.data, list):
        return None if looks_like_catalog_rows(doc.data) else False
    if isinstance(doc.data, dict):
        for key in ("products", "items", "catalog", "entries"):
            if looks_like_catalog_rows(doc.data.get(key)):
                return key
    return False


def load_json(doc: JsonDocument, source: SourceFile, ctx: LoadContext) -> LoadResult:
    key = json_catalog_key(doc)
    if key is False:
        raise UnreadableFile(
            f"{source.name}: JSON is not a catalog: expected a list of objects with id, title and price"
        )
    raw_rows = doc.rows(key if isinstance(key, str) else None)
    if len(raw_rows) > ctx.max_rows:
        raise UnreadableFile(
            f"{source.name} has more than {ctx.max_rows:,} rows: split it into smaller files or raise SHOPAGENT_MAX_ROWS"
        )
    not_objects = [
        RowError(source.name, line, "this entry is not a JSON object: write one product per {...}")
        for line, item in raw_rows
        if not isinstance(item, dict)
    ]
    rows = [(line, flatten(item)) for line, item in raw_rows if isinstance(item, dict)]
    result = collect(rows, source, ctx, "catalog")
    result.errors = doc.line_errors + not_objects + result.errors
    return result


def flatten(item: Mapping[str, Any]) -> dict[str, Any]:
    """Normalized keys; a nested ``attributes`` object contributes its keys as attributes."""
    out: dict[str, Any] = {}
    for key, value in item.items():
        if key in ("attributes", "attrs") and isinstance(value, dict):
            for sub, subval in value.items():
                out.setdefault(normalize_key(str(sub)), subval)
        elif isinstance(value, dict):
            continue  # nested objects other than attributes carry no searchable field
        else:
            out[normalize_key(str(key))] = value
    return out
