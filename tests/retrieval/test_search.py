"""Product and policy search over stores built by the real ingest pipeline (hash embedder)."""

from decimal import Decimal

import pytest
from sqlalchemy import update

from agent.retrieval import ProductFilters, Retriever
from ingest.pipeline import ingest_paths
from shop.models import Product
from tests.ingest.support import FIXTURES, write

CATALOG = """id,title,price,currency,description,category,brand,stock,parent_id,color,size
TENT-2-GRN,Ridge 2 Trekking Tent (Forest Green),249.00,EUR,Freestanding two-person tent for trekking.,tents,Nordvik,3,TENT-2,Forest Green,
TENT-2-ORG,Ridge 2 Trekking Tent (Signal Orange),249.00,EUR,Freestanding two-person tent for trekking.,tents,Nordvik,0,TENT-2,Signal Orange,
TENT-FAM,Family Tunnel Tent 6,429.00,EUR,Six-person family tent with three bedrooms.,tents,Taiga Fox,2,,,
TENT-UL,Featherlight UL1 Tent,389.00,EUR,One-person ultralight shelter.,tents,Amber Peak,,,,
BAG-WIN,Polar Winter Sleeping Bag,189.00,EUR,Warm synthetic mummy bag for winter.,sleeping-bags,Taiga Fox,5,,,
BAG-SUM,Summer Sleeping Bag,39.90,EUR,Light bag for warm festival nights.,sleeping-bags,Taiga Fox,0,,,
MUG-GRN,Camp Mug (Moss Green),19.90,EUR,Insulated steel camp mug.,camp-kitchen,Emberfield,6,MUG,Moss Green,
MUG-BLU,Camp Mug (Lake Blue),19.90,EUR,Insulated steel camp mug.,camp-kitchen,Emberfield,4,MUG,Lake Blue,
JKT-S,Storm Shell Jacket (S),279.00,EUR,Waterproof jacket for mountain rain.,jackets,Amber Peak,2,JKT,Black,S
JKT-M,Storm Shell Jacket (M),279.00,EUR,Waterproof jacket for mountain rain.,jackets,Amber Peak,0,JKT,Black,M
USD-KNIFE,Folding Knife,25.00,USD,Locking folding knife.,camp-kitchen,Granitas,9,,,
"""


@pytest.fixture
def store(settings, db, embedder, vectors, tmp_path):
    catalog = write(tmp_path / "shop" / "products.csv", CATALOG)
    report = ingest_paths(
        settings, db, [catalog, FIXTURES / "docs"], "m1", embedder=embedder, vectors=vectors
    )
    assert report.exit_code == 0, report.errors
    return Retriever(db, vectors, embedder)


def skus(hits):
    return [h.sku for h in hits]


def test_hits_are_compact_records_with_live_prices(store):
    hits = store.search_products("m1", "polar winter sleeping bag", limit=3)
    top = hits[0]
    assert top.sku == "BAG-WIN" and top.price.minor == 18900 and top.price.currency == "EUR"
    assert top.in_stock and top.stock == 5 and top.category == "sleeping-bags" and top.brand == "Taiga Fox"
    assert top.snippet == "Warm synthetic mummy bag for winter."
    record = top.to_record()
    assert record["id"] == "BAG-WIN" and record["price"] == "189.00" and record["in_stock"] is True


def test_variants_collapse_into_one_hit_listing_siblings(store):
    hits = store.search_products("m1", "ridge trekking tent", limit=5)
    tents = [h for h in hits if h.parent_sku == "TENT-2"]
    assert len(tents) == 1
    assert [v["id"] for v in tents[0].variants] == [
        s for s in ("TENT-2-GRN", "TENT-2-ORG") if s != tents[0].sku
    ]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (ProductFilters(max_price=Decimal("50")), {"BAG-SUM", "MUG-BLU", "MUG-GRN", "USD-KNIFE"}),
        (
            ProductFilters(min_price=Decimal("250"), max_price=Decimal("400"), currency="EUR"),
            {"JKT-S", "JKT-M", "TENT-UL"},
        ),
        (ProductFilters(currency="usd"), {"USD-KNIFE"}),
        (ProductFilters(category="Tents", in_stock=True), {"TENT-2-GRN", "TENT-FAM", "TENT-UL"}),
        (ProductFilters(in_stock=False), {"TENT-2-ORG", "BAG-SUM", "JKT-M"}),
        (ProductFilters(brand="taiga fox"), {"TENT-FAM", "BAG-WIN", "BAG-SUM"}),
        (ProductFilters(attributes={"color": "green"}), {"TENT-2-GRN", "MUG-GRN"}),
        (ProductFilters(attributes={"size": "M"}, in_stock=True), set()),
        (ProductFilters(attributes={"fabric": "silk"}), set()),
    ],
)
def test_filters(store, filters, expected):
    hits = store.search_products("m1", "outdoor gear", filters, limit=20)
    found = {h.sku for h in hits} | {v["id"] for h in hits for v in h.variants}
    assert found == expected


def test_filtered_variants_only_list_matching_siblings(store):
    [jacket] = [
        h
        for h in store.search_products("m1", "rain jacket", ProductFilters(in_stock=True), limit=5)
        if h.parent_sku == "JKT"
    ]
    assert jacket.sku == "JKT-S" and jacket.variants == []


def test_empty_query_with_filters_lists_cheapest_first(store):
    hits = store.search_products("m1", "", ProductFilters(category="tents"), limit=3)
    assert [h.price.minor for h in hits] == sorted(h.price.minor for h in hits)


def test_lexical_match_lifts_exact_names(store):
    assert store.search_products("m1", "Featherlight UL1", limit=1)[0].sku == "TENT-UL"


def test_stock_changes_apply_without_reingest(store, db):
    store.refresh_every_s = 0  # look at every query (the default looks at most once a second)
    assert "BAG-WIN" in skus(
        store.search_products("m1", "winter sleeping bag", ProductFilters(in_stock=True))
    )
    with db.session() as s:  # an order elsewhere sells the last units
        s.execute(update(Product).where(Product.sku == "BAG-WIN").values(stock=0))
    hits = store.search_products("m1", "winter sleeping bag", ProductFilters(in_stock=True))
    assert "BAG-WIN" not in skus(hits)
    with db.session() as s:
        s.execute(update(Product).where(Product.sku == "BAG-SUM").values(stock=3, price_minor=2990))
    hits = store.search_products(
        "m1",
        "summer sleeping bag",
        ProductFilters(in_stock=True, max_price=Decimal("30"), category="sleeping-bags"),
    )
    assert skus(hits) == ["BAG-SUM"] and hits[0].price.minor == 2990


def test_reingest_invalidates_the_cache(store, settings, db, embedder, vectors, tmp_path):
    assert store.search_products("m1", "gas canister stove", limit=1)[0].sku != "STOVE"
    write(
        tmp_path / "more" / "stove.csv",
        "id,title,price,currency,category\nSTOVE,Gas Canister Stove,39.90,EUR,camp-kitchen\n",
    )
    ingest_paths(settings, db, [tmp_path / "more" / "stove.csv"], "m1", embedder=embedder, vectors=vectors)
    assert store.search_products("m1", "gas canister stove", limit=1)[0].sku == "STOVE"
    write(tmp_path / "shop" / "products.csv", CATALOG.replace("BAG-WIN,Polar", "BAG-WIN,Arctic"))
    ingest_paths(settings, db, [tmp_path / "shop" / "products.csv"], "m1", embedder=embedder, vectors=vectors)
    assert (
        store.search_products("m1", "arctic sleeping bag", limit=1)[0].title == "Arctic Winter Sleeping Bag"
    )


def test_merchants_never_see_each_other(store, settings, db, embedder, vectors, tmp_path):
    other = write(
        tmp_path / "other" / "products.csv",
        "id,title,price,currency\nSECRET,Secret Tent of Other Shop,1.00,EUR\n",
    )
    ingest_paths(settings, db, [other], "m2", embedder=embedder, vectors=vectors)
    assert "SECRET" not in skus(store.search_products("m1", "secret tent of other shop", limit=50))
    assert skus(store.search_products("m2", "tent", limit=50)) == ["SECRET"]
    assert store.search_policies("m2", "return window") == []
    assert store.search_products("nobody", "tent") == []


def test_policy_search_returns_cited_chunks(store):
    hits = store.search_policies("m1", "how many days do I have to return", limit=3)
    top = hits[0]
    assert top.doc_id in ("doc:returns", "doc:returns.lt") and "45" in top.text
    assert top.chunk_id.startswith(top.doc_id + "#") and top.heading_path
    assert top.to_record()["section"] == top.heading_path


def test_policy_search_prefers_the_shoppers_language(store):
    top = store.search_policies("m1", "grąžinimo terminas dienų", limit=1)[0]
    assert top.doc_id == "doc:returns.lt" and top.lang == "lt"


def test_query_embeddings_are_cached(store, embedder):
    store.search_products("m1", "warm bag")
    before = embedder.queries
    store.search_products("m1", "Warm  bag")
    store.search_policies("m1", "warm bag")
    assert embedder.queries == before


@pytest.mark.parametrize(
    "query",
    ["šiltas žieminis miegmaišis", "kışlık sıcak uyku tulumu", "كيس نوم دافئ للشتاء", "冬天保暖的睡袋"],
)
def test_a_need_in_another_language_finds_the_english_product(store, query):
    assert skus(store.search_products("m1", query, limit=1)) == ["BAG-WIN"]


def test_without_the_rewrite_the_same_queries_miss(store, monkeypatch):
    # The hash embedder shares no character n-grams between these words and the catalog's:
    # it is the rewrite into the catalog's language that finds the bag above.
    monkeypatch.setattr("agent.retrieval.rewrite", lambda *args, **kwargs: "")
    for query in ("šiltas žieminis miegmaišis", "冬天保暖的睡袋"):
        assert skus(store.search_products("m1", query, limit=1)) != ["BAG-WIN"]


def test_a_callers_translation_is_used_for_languages_without_a_lexicon(store):
    greek = "ζεστός υπνόσακος για τον χειμώνα"
    assert skus(store.search_products("m1", greek, limit=1)) != ["BAG-WIN"]
    assert skus(store.search_products("m1", greek, limit=1, catalog_query="warm winter sleeping bag")) == [
        "BAG-WIN"
    ]
    top = store.search_policies("m1", "πόσες μέρες για επιστροφή", 1, "how many days do I have to return")
    assert top[0].doc_id in ("doc:returns", "doc:returns.lt") and "45" in top[0].text


def test_the_search_tools_pass_the_models_translation_on(store, settings, db):
    from agent.context import ToolContext
    from agent.state import ConversationState
    from agent.tools import TOOLS_BY_NAME

    tool = TOOLS_BY_NAME["search_products"]
    described = tool.spec.parameters["properties"]["query_in_catalog_language"]["description"]
    assert "language the product" in described and "another language" in described
    assert "query_in_catalog_language" in TOOLS_BY_NAME["search_policies"].spec.parameters["properties"]
    ctx = ToolContext(settings, db, store, None, "m1", "sess-search-00000000001", ConversationState(turn=1))  # type: ignore[arg-type]
    greek = {"query": "ζεστός υπνόσακος για τον χειμώνα", "limit": 1}
    alone = tool.run(ctx, greek).result
    translated = tool.run(ctx, {**greek, "query_in_catalog_language": "warm winter sleeping bag"}).result
    assert [r["sku"] for r in translated["results"]] == ["BAG-WIN"]
    assert [r["sku"] for r in alone["results"]] != ["BAG-WIN"]


def test_search_runs_numpy_blas_single_threaded(store):
    from threadpoolctl import threadpool_info

    # numpy's own BLAS (search scores with numpy); SciPy may bring another, loaded later.
    blas = [p for p in threadpool_info() if p["user_api"] == "blas" and "numpy" in p["filepath"]]
    assert blas and all(pool["num_threads"] == 1 for pool in blas)
