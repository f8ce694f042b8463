"""Retrieval quality on a query set: recall@k, hit@k and MRR, overall and per language.

How a hit answers a relevant id:

- a product hit answers to its SKU, its parent id, and the SKUs of the sibling variants
  collapsed into it (the shopper sees them on the same result card);
- a policy hit answers to its document id and to the id of the document family it
  translates: ``doc:returns.lt`` answers ``doc:returns`` (a Lithuanian shopper asking about
  returns is well served by the Lithuanian page). Several chunks of one document count once.

Metrics (k = 1, 5, 10): ``recall@k`` is the share of a query's relevant ids found in the
top k, averaged over queries; ``hit@k`` is the share of queries with at least one relevant
id in the top k; ``mrr`` is the mean of 1/rank of the first relevant hit (0 beyond rank 10).
Queries whose relevant ids are all documents run policy search, all products run product
search, and mixed ones run both with the results merged by score.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from agent.retrieval_docs import doc_family

KS = (1, 5, 10)
DEPTH = max(KS)


class _Searcher(Protocol):
    def search_products(
        self, merchant_id: str, query: str, filters: Any = None, limit: int = 8
    ) -> Sequence[Any]: ...

    def search_policies(self, merchant_id: str, query: str, limit: int = 4) -> Sequence[Any]: ...


@dataclass(frozen=True)
class Query:
    query: str
    relevant: frozenset[str]
    lang: str = ""


def _as_query(item: Any) -> Query:
    if isinstance(item, Mapping):
        return Query(str(item["query"]), frozenset(item["relevant"]), str(item.get("lang") or ""))
    return Query(str(item.query), frozenset(item.relevant), str(getattr(item, "lang", "") or ""))


def ranking(retriever: _Searcher, merchant_id: str, query: Query) -> list[frozenset[str]]:
    """The ids each of the top hits answers to, best first."""
    wants_docs = any(r.startswith("doc:") for r in query.relevant)
    wants_products = any(not r.startswith("doc:") for r in query.relevant)
    scored: list[tuple[float, frozenset[str]]] = []
    if wants_products:
        for hit in retriever.search_products(merchant_id, query.query, None, DEPTH):
            ids = {hit.sku, *(v["id"] for v in getattr(hit, "variants", []))}
            if hit.parent_sku:
                ids.add(hit.parent_sku)
            scored.append((float(hit.score), frozenset(ids)))
    if wants_docs:
        seen: set[str] = set()
        for hit in retriever.search_policies(merchant_id, query.query, DEPTH * 3):
            if hit.doc_id not in seen:
                seen.add(hit.doc_id)
                scored.append((float(hit.score), frozenset({hit.doc_id, doc_family(hit.doc_id)})))
    if wants_docs and wants_products:
        scored.sort(key=lambda item: item[0], reverse=True)
    return [ids for _, ids in scored[:DEPTH]]


def _recall(ranked: list[frozenset[str]], relevant: frozenset[str], k: int) -> float:
    found = {r for r in relevant if any(r in hit for hit in ranked[:k])}
    return len(found) / len(relevant) if relevant else 0.0


def _hit(ranked: list[frozenset[str]], relevant: frozenset[str], k: int) -> float:
    return 1.0 if any(hit & relevant for hit in ranked[:k]) else 0.0


def _rr(ranked: list[frozenset[str]], relevant: frozenset[str]) -> float:
    for position, hit in enumerate(ranked[:DEPTH], start=1):
        if hit & relevant:
            return 1.0 / position
    return 0.0


def _aggregate(scored: Sequence[tuple[Query, list[frozenset[str]]]]) -> dict[str, Any]:
    n = len(scored)
    out: dict[str, Any] = {"queries": n}
    if not n:
        return out
    for k in KS:
        out[f"recall@{k}"] = round(sum(_recall(r, q.relevant, k) for q, r in scored) / n, 4)
    for k in KS:
        out[f"hit@{k}"] = round(sum(_hit(r, q.relevant, k) for q, r in scored) / n, 4)
    out["mrr"] = round(sum(_rr(r, q.relevant) for q, r in scored) / n, 4)
    return out


def evaluate_retrieval(
    retriever: _Searcher,
    merchant_id: str,
    queries: Iterable[Any],
    workers: int = 1,
    max_misses: int | None = None,
) -> dict[str, Any]:
    """Metrics for ``queries`` (dicts or objects with ``query``, ``relevant``, ``lang``).

    ``workers`` > 1 asks the retriever from that many threads; ``max_misses`` caps the
    list of queries with nothing relevant in the top 5 (a report's size)."""
    parsed = [_as_query(q) for q in queries]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        rankings = list(pool.map(lambda q: ranking(retriever, merchant_id, q), parsed))
    scored = list(zip(parsed, rankings, strict=True))
    result = _aggregate(scored)
    groups: dict[str, list[tuple[Query, list[frozenset[str]]]]] = defaultdict(list)
    for item in scored:
        groups[item[0].lang or "any"].append(item)
    result["by_lang"] = {lang: _aggregate(items) for lang, items in sorted(groups.items())}
    result["misses"] = [
        {"query": q.query, "lang": q.lang, "relevant": sorted(q.relevant), "top5": [sorted(h) for h in r[:5]]}
        for q, r in scored
        if not _hit(r, q.relevant, 5)
    ][:max_misses]
    return result
