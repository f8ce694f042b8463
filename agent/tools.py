"""Shopping tools: find and compare products, read policies, change the cart.

Each is a typed function of the :class:`ToolContext`; :func:`agent.toolkit.tool` turns it
into a validated tool with a JSON schema. The write tools of checkout and orders live in
:mod:`agent.order_tools`; :data:`TOOLS` lists all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import select

from agent.context import ToolContext
from agent.memory_tools import forget_me, rate_conversation, remember_me
from agent.order_tools import (
    cancel_order,
    handoff_to_human,
    lookup_order,
    place_order,
    prepare_checkout,
    return_items,
)
from agent.records import brief_record, clean, in_stock, product_record
from agent.retrieval_filters import product_filters
from agent.selling_tools import (
    apply_coupon,
    find_promotions,
    make_offer,
    move_wishlist_to_cart,
    recommend,
    remove_from_wishlist,
    save_to_wishlist,
    view_wishlist,
)
from agent.toolkit import Tool, ToolError, tool
from shop import carts, recommendations
from shop.catalog import get_merchant, price_of, variants_of
from shop.catalog import get_product as store_product
from shop.errors import NotFound
from shop.models import DocChunk, Document, Product
from shop.money import Money

Quantity = Annotated[int, Field(ge=1, le=99)]
SUGGESTIONS = 3

# SQLite transactions here are write-locking (BEGIN IMMEDIATE), and the retriever may read
# the database too: so tools use short transactions and never call the retriever inside one.


def _products(ctx: ToolContext, skus: Sequence[str]) -> list[Product]:
    """Active products of this merchant in the order of ``skus`` (unknown ones skipped)."""
    if not skus:
        return []
    with ctx.transaction() as session:
        rows = session.scalars(
            select(Product).where(
                Product.merchant_id == ctx.merchant_id, Product.sku.in_(list(skus)), Product.active.is_(True)
            )
        )
        by_sku = {p.sku: p for p in rows}
    return [by_sku[s] for s in dict.fromkeys(skus) if s in by_sku]


def _search(
    ctx: ToolContext, query: str, filters: Any, limit: int, catalog_query: str | None = None
) -> list[Product]:
    if catalog_query:  # only then: simple stand-in retrievers need not know the argument
        hits = ctx.retriever.search_products(
            ctx.merchant_id, query, filters, limit, catalog_query=catalog_query
        )
    else:
        hits = ctx.retriever.search_products(ctx.merchant_id, query, filters, limit)
    return _products(ctx, [h.sku for h in hits])


@dataclass(frozen=True)
class _Wanted:
    """The shopper's constraints, re-checked on the store rows whatever the retriever did."""

    lo: Money | None
    hi: Money | None
    category: str
    brand: str
    attributes: dict[str, str]
    in_stock_only: bool

    def matches(self, product: Product) -> bool:
        price = price_of(product)
        if self.lo is not None and (price.currency != self.lo.currency or price < self.lo):
            return False
        if self.hi is not None and (price.currency != self.hi.currency or price > self.hi):
            return False
        if self.category and self.category.casefold() not in product.category.casefold():
            return False
        if self.brand and self.brand.casefold() != product.brand.casefold():
            return False
        if self.in_stock_only and not in_stock(product):
            return False
        attrs = {k.casefold(): str(v).casefold() for k, v in (product.attributes or {}).items()}
        return all(v.casefold() in attrs.get(k.casefold(), "") for k, v in self.attributes.items())


def _money(value: str | None, currency: str, what: str) -> Money | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        return Money.parse(str(value).replace(",", "."), currency)
    except ValueError:
        raise ToolError(f"{what} must be an amount like 50 or 49.90 in {currency}") from None


def _alternatives(ctx: ToolContext, best: Product, others: list[Product]) -> list[Product]:
    """In-stock stand-ins for a sold-out best match: its variants first, then similar items."""
    with ctx.transaction() as session:
        found = [v for v in variants_of(session, ctx.merchant_id, best) if v.sku != best.sku and in_stock(v)]
    found += [p for p in others if in_stock(p) and p.category == best.category]
    if len(found) < SUGGESTIONS:
        filters = product_filters(category=best.category or None, in_stock=True)
        found += [p for p in _search(ctx, best.title, filters, 8) if in_stock(p)]
    unique = {p.sku: p for p in found if p.sku != best.sku}
    return list(unique.values())[:SUGGESTIONS]


def search_products(
    ctx: ToolContext,
    query: str,
    max_price: str | None = None,
    min_price: str | None = None,
    category: str | None = None,
    brand: str | None = None,
    in_stock_only: bool = False,
    attributes: dict[str, str] | None = None,
    limit: Annotated[int, Field(ge=1, le=10)] = 5,
    query_in_catalog_language: str | None = None,
) -> dict[str, Any]:
    """Search the catalog by need or name, in any language. Returns products with store prices.

    Args:
        query: what the shopper wants, in their words, e.g. "warm sleeping bag for -5C"
        max_price: highest price, a decimal in the store currency
        min_price: lowest price
        category: restrict to a category
        brand: restrict to a brand
        in_stock_only: leave out sold-out items
        attributes: required attributes, e.g. {"color": "green", "size": "M"}
        limit: how many results
        query_in_catalog_language: the same query translated into the language the product
            titles are written in (usually English); always pass it when the shopper writes in
            another language: it finds far more
    """
    with ctx.transaction() as session:
        currency = get_merchant(session, ctx.merchant_id).currency
    lo, hi = _money(min_price, currency, "min_price"), _money(max_price, currency, "max_price")
    wanted = _Wanted(lo, hi, category or "", brand or "", attributes or {}, in_stock_only)
    filters = product_filters(lo, hi, wanted.category, wanted.brand, in_stock_only, wanted.attributes)
    said = clean(query_in_catalog_language or "", 300) or None
    products = [p for p in _search(ctx, query, filters, limit * 2, said) if wanted.matches(p)][:limit]
    ctx.state.last_results = [p.sku for p in products]
    result: dict[str, Any] = {"results": [product_record(p) for p in products]}
    if not products:
        result["note"] = "Nothing matched. Say so, and ask one question to widen the search (budget, type)."
    elif not in_stock(products[0]):
        result["alternatives"] = [brief_record(p) for p in _alternatives(ctx, products[0], products[1:])]
        result["note"] = "The best match is sold out: say so and offer the in-stock alternatives."
    return result


def get_product(ctx: ToolContext, sku: str) -> dict[str, Any]:
    """Full details of one product: description, attributes, variants (sizes/colours) and stock.

    Args:
        sku: the product id from search results
    """
    with ctx.transaction() as session:
        try:
            product = store_product(session, ctx.merchant_id, sku.strip())
        except NotFound:
            product = None
        variants = [] if product is None else variants_of(session, ctx.merchant_id, product)
    if product is None:
        raise ToolError(_unknown_sku(ctx, sku))
    record = product_record(product, detail=True)
    others = [v for v in variants if v.sku != product.sku]
    if others:
        record["variants"] = [
            {
                **brief_record(v),
                "in_stock": in_stock(v),
                "attributes": product_record(v).get("attributes", {}),
            }
            for v in others[:12]
        ]
    return record


def _unknown_sku(ctx: ToolContext, sku: str) -> str:
    near = _search(ctx, sku, None, 3)
    hint = "; ".join(f"{p.sku} ({clean(p.title, 60)})" for p in near)
    message = f"unknown product id {clean(sku, 60)!r}: use an id exactly as search_products returned it"
    return message + (f". Close matches: {hint}" if hint else "")


def compare_products(
    ctx: ToolContext, skus: Annotated[list[str], Field(min_length=2, max_length=3)]
) -> dict[str, Any]:
    """Compare 2 or 3 products side by side: price, stock and every attribute.

    Args:
        skus: product ids to compare
    """
    with ctx.transaction() as session:
        table = recommendations.compare(session, ctx.merchant_id, [s.strip() for s in skus])
    return {
        "products": [{"sku": p["sku"], "title": clean(p["title"], 100)} for p in table["products"]],
        "rows": [
            {
                "attribute": clean(r["attribute"], 40),
                "values": [v if isinstance(v, bool) else clean(v, 60) for v in r["values"]],
            }
            for r in table["rows"]
        ],
    }


def search_policies(
    ctx: ToolContext,
    query: str,
    limit: Annotated[int, Field(ge=1, le=5)] = 3,
    query_in_catalog_language: str | None = None,
) -> dict[str, Any]:
    """Search the store's policies and FAQ (shipping, returns, warranty, payment, privacy).

    Args:
        query: the shopper's question, in any language
        limit: how many passages
        query_in_catalog_language: the same question translated into the language of the
            store's own pages (usually English), when the shopper wrote in another one
    """
    said = clean(query_in_catalog_language or "", 300) or None
    if said:
        hits = ctx.retriever.search_policies(ctx.merchant_id, query, limit, catalog_query=said)
    else:
        hits = ctx.retriever.search_policies(ctx.merchant_id, query, limit)
    wanted = [h.chunk_id for h in hits]
    with ctx.transaction() as session:
        rows = session.execute(
            select(DocChunk, Document.doc_id, Document.title)
            .join(Document, DocChunk.document_id == Document.id)
            .where(DocChunk.merchant_id == ctx.merchant_id, DocChunk.chunk_id.in_(wanted))
        ).all()
    by_id = {chunk.chunk_id: (chunk, doc_id, title) for chunk, doc_id, title in rows}
    passages = [
        {
            "source": by_id[c][1],
            "section": clean(by_id[c][0].heading_path or by_id[c][2], 120),
            "text": clean(by_id[c][0].text, 900),
        }
        for c in wanted
        if c in by_id
    ]
    if not passages:
        return {"passages": [], "note": "No policy text found: say you do not know and offer a human."}
    return {"passages": passages}


def _complements(ctx: ToolContext, product: Product) -> list[dict[str, Any]]:
    """A few in-stock items that go with ``product``: same brand in another category, then
    retrieval neighbours from other categories."""
    picked: dict[str, Product] = {}
    if product.brand:
        with ctx.transaction() as session:
            same_brand = session.scalars(
                select(Product)
                .where(
                    Product.merchant_id == ctx.merchant_id,
                    Product.brand == product.brand,
                    Product.category != product.category,
                    Product.active.is_(True),
                    (Product.stock.is_(None)) | (Product.stock > 0),
                )
                .limit(SUGGESTIONS)
            )
            picked.update((p.sku, p) for p in same_brand)
    if len(picked) < SUGGESTIONS:
        for p in _search(ctx, product.title, product_filters(in_stock=True), 8):
            if p.category != product.category and in_stock(p) and p.sku not in picked:
                picked[p.sku] = p
    family = product.parent_sku or product.sku
    return [brief_record(p) for p in picked.values() if (p.parent_sku or p.sku) != family][:SUGGESTIONS]


def add_to_cart(ctx: ToolContext, sku: str, quantity: Quantity = 1) -> dict[str, Any]:
    """Add a product to the shopper's cart (adds to any quantity already there).

    Args:
        sku: the product id
        quantity: how many to add
    """
    with ctx.transaction() as session:
        cart = carts.add_item(session, ctx.merchant_id, ctx.session_id, sku.strip(), quantity)
        product = store_product(session, ctx.merchant_id, sku.strip())
    ctx.cart_changed = True
    return {
        "added": {"sku": product.sku, "quantity": quantity},
        "cart": cart.to_dict(),
        "suggestions": _complements(ctx, product),
        "note": "Suggestions are optional extras: mention them once, briefly, without pushing.",
    }


def update_cart(ctx: ToolContext, sku: str, quantity: Annotated[int, Field(ge=0, le=99)]) -> dict[str, Any]:
    """Set the quantity of a product in the cart; 0 removes it.

    Args:
        sku: the product id
        quantity: the new quantity (0 to remove)
    """
    with ctx.transaction() as session:
        cart = carts.set_quantity(session, ctx.merchant_id, ctx.session_id, sku.strip(), quantity)
    ctx.cart_changed = True
    return {"cart": cart.to_dict()}


def view_cart(ctx: ToolContext) -> dict[str, Any]:
    """The shopper's cart: lines, prices from the store and subtotal."""
    with ctx.transaction() as session:
        return {"cart": carts.view_cart(session, ctx.merchant_id, ctx.session_id).to_dict()}


TOOLS: list[Tool] = [
    tool(f)
    for f in (
        search_products,
        get_product,
        compare_products,
        search_policies,
        add_to_cart,
        update_cart,
        view_cart,
        prepare_checkout,
        place_order,
        lookup_order,
        cancel_order,
        return_items,
        handoff_to_human,
        # selling (issue 10): promotions and coupons, bounded offers, recommendations, wishlists
        find_promotions,
        apply_coupon,
        make_offer,
        recommend,
        save_to_wishlist,
        view_wishlist,
        remove_from_wishlist,
        move_wishlist_to_cart,
        # returning shoppers and ratings (issue 10)
        remember_me,
        forget_me,
        rate_conversation,
    )
]
TOOLS_BY_NAME: dict[str, Tool] = {t.name: t for t in TOOLS}
