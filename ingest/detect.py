"""Which loader reads a file: decided from its name, magic bytes, header and content.

The extension is a hint, not the truth: a Google feed saved as ``.txt`` is a catalog, a
``.csv`` that is really tab-separated is read with tabs, a PDF renamed ``.txt`` is a PDF.

Adding a JSON format (say, a platform's database export) takes one module in
``ingest/loaders/`` that registers itself; every module there is imported on first use::

    from ingest.detect import register_json_loader

    def _is_mine(doc: JsonDocument, source: SourceFile) -> bool:
        return isinstance(doc.data, dict) and {"users", "orders"} <= doc.data.keys()

    @register_json_loader("platform-db", _is_mine)
    def load(doc: JsonDocument, source: SourceFile, ctx: LoadContext) -> LoadResult:
        ...  # return LoadResult(loader="platform-db", customers=[...], orders=[...])

Loaders registered later are tried first, so a specific format wins over the generic ones.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath

from ingest import loaders as _loaders_pkg
from ingest import tau2
from ingest.context import LoadContext
from ingest.encoding import decode_bytes
from ingest.jsondata import TOO_DEEP, JsonDocument, parse_json
from ingest.loaders import catalog, documents, google_merchant, orders, promotions, shopify, store_yaml
from ingest.records import LoadResult, SourceFile, UnreadableFile
from ingest.tabular import first_line, read_table, sniff_delimiter
from ingest.validate import normalize_key

JsonMatch = Callable[[JsonDocument, SourceFile], bool]
JsonLoad = Callable[[JsonDocument, SourceFile, LoadContext], LoadResult]

DOCUMENT_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".html", ".htm", ".pdf"})
CATALOG_SUFFIXES = frozenset({".csv", ".tsv", ".json", ".jsonl", ".ndjson", ".xml"})
INGESTIBLE_SUFFIXES = DOCUMENT_SUFFIXES | CATALOG_SUFFIXES
_HTML_START = re.compile(r"<!doctype\s+html|<html[\s>]", re.IGNORECASE)


@dataclass(frozen=True)
class JsonLoader:
    name: str
    matches: JsonMatch
    load: JsonLoad


_JSON_LOADERS: list[JsonLoader] = []
_plugins_loaded = False


def register_json_loader(name: str, matches: JsonMatch) -> Callable[[JsonLoad], JsonLoad]:
    """Decorator registering a loader for JSON files recognised by ``matches`` (tried newest first)."""

    def decorator(load: JsonLoad) -> JsonLoad:
        _JSON_LOADERS[:] = [entry for entry in _JSON_LOADERS if entry.name != name]
        _JSON_LOADERS.insert(0, JsonLoader(name, matches, load))
        return load

    return decorator


def json_loaders() -> list[JsonLoader]:
    _load_plugins()
    return list(_JSON_LOADERS)


def _load_plugins() -> None:
    """Import every module of ``ingest.loaders`` so the ones that register themselves do."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for module in pkgutil.iter_modules(_loaders_pkg.__path__):
        importlib.import_module(f"{_loaders_pkg.__name__}.{module.name}")


def is_store_config(name: str) -> bool:
    return PurePath(name).name.lower() in store_yaml.NAMES


def is_orders_name(name: str) -> bool:
    return PurePath(name).name.lower().startswith("orders")


register_json_loader("catalog", lambda doc, _src: catalog.json_catalog_key(doc) is not False)(
    catalog.load_json
)
register_json_loader(
    "orders", lambda doc, src: is_orders_name(src.name) or orders.looks_like_orders(doc.data)
)(orders.load)
register_json_loader("tau2", tau2.matches)(tau2.load)


def load_file(source: SourceFile, ctx: LoadContext) -> LoadResult:
    """Read one file with the loader its name and content call for; :class:`UnreadableFile` otherwise."""
    try:
        return _load_file(source, ctx)
    except RecursionError:  # JSON, YAML or XML values nested thousands deep: refused, never a crash
        raise UnreadableFile(f"{source.name}: {TOO_DEEP}") from None


def _load_file(source: SourceFile, ctx: LoadContext) -> LoadResult:
    data = source.data
    name = source.name
    suffix = PurePath(name).suffix.lower()
    if data[:4] == b"PK\x03\x04" or data[:2] == b"\x1f\x8b":
        raise UnreadableFile(f"{name} is a compressed archive: unpack it and ingest the files inside")
    if is_store_config(name):
        return store_yaml.load(decode_bytes(data, name).text, source, ctx)
    if promotions.is_promotions_name(name):
        return promotions.load(decode_bytes(data, name).text, source, ctx)
    if data.lstrip()[:5] == b"%PDF-":
        return documents.load_pdf(source)
    if suffix == ".pdf":
        raise UnreadableFile(f"{name} has a .pdf name but is not a PDF file")
    if suffix in (".yaml", ".yml"):
        raise UnreadableFile(f"{name}: the only YAML files read are store.yaml and promotions.yaml")
    if not data.strip():
        raise UnreadableFile(f"{name} is empty")
    text = decode_bytes(data, name).text
    head = text.lstrip("\ufeff \t\r\n")
    if suffix in (".md", ".markdown"):
        return documents.load_markdown(text, source)
    if suffix in (".html", ".htm") or _HTML_START.match(head):
        return documents.load_html(text, source)
    if suffix in (".json", ".jsonl", ".ndjson") or head[:1] in ("[", "{"):
        return _load_json(text, source, ctx, jsonl=True if suffix in (".jsonl", ".ndjson") else None)
    if suffix == ".xml" or head[:1] == "<":
        if google_merchant.is_google_xml(head):
            return google_merchant.load_xml(text, source, ctx)
        raise UnreadableFile(
            f"{name}: this XML is not a Google Merchant feed (RSS 2.0 or Atom with the g: namespace)"
        )
    tabular = _load_tabular(text, source, ctx, always=suffix in (".csv", ".tsv"))
    if tabular is not None:
        return tabular
    if suffix in (".txt", ".text", ""):
        return documents.load_text(text, source)
    raise UnreadableFile(
        f"{name}: unsupported file type {suffix!r}: use CSV, TSV, JSON, JSON Lines, XML, Markdown, text, HTML or PDF"
    )


def _load_tabular(text: str, source: SourceFile, ctx: LoadContext, always: bool) -> LoadResult | None:
    header_line = first_line(text)
    delimiter = "\t" if PurePath(source.name).suffix.lower() == ".tsv" else sniff_delimiter(header_line)
    columns = [c.strip().strip('"') for c in header_line.split(delimiter)]
    keys = {normalize_key(c) for c in columns}
    if shopify.is_shopify_header(columns):
        return shopify.load(read_table(text, source.name, ctx.max_rows, delimiter), source, ctx)
    if google_merchant.is_google_header(columns):
        return google_merchant.load_tsv(read_table(text, source.name, ctx.max_rows, delimiter), source, ctx)
    if always or {"id", "title", "price"} <= keys:
        return catalog.load_table(read_table(text, source.name, ctx.max_rows, delimiter), source, ctx)
    return None


def _load_json(text: str, source: SourceFile, ctx: LoadContext, jsonl: bool | None) -> LoadResult:
    doc = parse_json(text, source.name, jsonl)
    if isinstance(doc.data, list) and not doc.data:
        raise UnreadableFile(f"{source.name}: the JSON list is empty")
    for entry in json_loaders():
        if entry.matches(doc, source):
            return entry.load(doc, source, ctx)
    raise UnreadableFile(
        f"{source.name}: JSON not recognised: expected a catalog (objects with id, title, price) "
        "or order records (objects with id, email, status, items)"
    )
