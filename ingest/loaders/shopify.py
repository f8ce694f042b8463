"""Shopify's product CSV export: one product spread over several rows that share a Handle.

The first row of a handle carries the product (Title, Body (HTML), Vendor, Type, Tags,
option names); every row with a price is a variant; rows with only ``Image Src`` add
images. Variants become products sharing ``parent_sku`` = the handle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.context import LoadContext
from ingest.loaders.catalog import collect
from ingest.records import LoadResult, SourceFile, UnreadableFile
from ingest.sanitize import clean_line
from ingest.tabular import Table

SIGNATURE = {"handle", "title", "variant price"}
_SLUG = re.compile(r"[^0-9A-Za-z]+")


def is_shopify_header(header: list[str]) -> bool:
    keys = {h.strip().lower() for h in header}
    return SIGNATURE <= keys or {"handle", "variant sku", "variant price"} <= keys


@dataclass
class _Product:
    handle: str
    base: dict[str, str]
    variants: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    images: list[str] = field(default_factory=list)


def load(table: Table, source: SourceFile, ctx: LoadContext) -> LoadResult:
    keys = [h.strip().lower() for h in table.header]
    if "handle" not in keys:
        raise UnreadableFile(f"{source.name}:{table.header_line}: a Shopify export needs a Handle column")
    products: dict[str, _Product] = {}
    for line, cells in table.rows:
        row = dict(zip(keys, cells, strict=False))
        handle = row.get("handle", "").strip()
        if not handle:
            continue
        product = products.get(handle)
        if product is None:
            product = products[handle] = _Product(handle, row)
        if row.get("image src", "").strip():
            product.images.append(row["image src"].strip())
        if row.get("variant price", "").strip() or row.get("variant sku", "").strip():
            product.variants.append((line, row))
    rows: list[tuple[int, dict[str, str]]] = []
    for product in products.values():
        rows.extend(_variant_rows(product))
    rows.sort(key=lambda item: item[0])
    result = collect(rows, source, ctx, "shopify")
    for record in result.products:
        # Drafts and archived products are stored (an order may name them) but never offered.
        if "status" in record.attributes:
            record.active = False
    return result


def _variant_rows(product: _Product) -> list[tuple[int, dict[str, str]]]:
    base = product.base
    option_names = [base.get(f"option{i} name", "").strip() for i in (1, 2, 3)]
    several = len(product.variants) > 1
    status = (base.get("status") or "active").strip().lower()
    out: list[tuple[int, dict[str, str]]] = []
    for line, row in product.variants:
        values = [row.get(f"option{i} value", "").strip() for i in (1, 2, 3)]
        options = {
            clean_line(name).lower(): value
            for name, value in zip(option_names, values, strict=True)
            if name and value and value != "Default Title"
        }
        sku = row.get("variant sku", "").strip()
        if not sku:
            # Shopify allows variants without SKU; derive a stable one from handle and options.
            suffix = "-".join(_SLUG.sub("", v) for v in options.values())
            sku = f"{product.handle}-{suffix}" if suffix else product.handle
        title = base.get("title", "").strip()
        if several and options:
            title = f"{title} ({' / '.join(options.values())})"
        tracked = (
            row.get("variant inventory tracker", "").strip() or row.get("variant inventory qty", "").strip()
        )
        record = {
            "id": sku,
            "title": title,
            "price": row.get("variant price", ""),
            "description": base.get("body (html)", ""),
            "brand": base.get("vendor", ""),
            "category": base.get("type", "") or base.get("product category", "").split(">")[-1],
            "stock": row.get("variant inventory qty", "") if tracked else "",
            "url": f"/products/{product.handle}",
            "image_url": row.get("variant image", "").strip()
            or (product.images[0] if product.images else ""),
            "parent_id": product.handle if several else "",
            **options,
        }
        tags = base.get("tags", "").strip()
        if tags:
            record["tags"] = tags
        compare_at = row.get("variant compare at price", "").strip()
        if compare_at:
            record["compare_at_price"] = compare_at
        if status not in ("active", "") or base.get("published", "").strip().lower() == "false":
            record["status"] = status or "unpublished"
        out.append((line, record))
    return out
