"""Retrieval quality on ``retrieval.jsonl``: recall@1/5/10 and MRR, overall and per language.

A query's ``relevant`` list names products (SKU, or the parent id of variants) and
documents (``doc:NAME``). Product-only queries are scored on product search, document-only
queries on policy search, and mixed ones on both result lists merged by score.
recall@k is the share of a query's relevant ids found in the top k; MRR is the mean of
1 / rank of the first relevant hit (0 when none is in the top 10).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from evals.grounding import Catalog
from evals.suite import RetrievalQuery

if TYPE_CHECKING:
    from evals.workspace import Workspace

KS = (1, 5, 10)
DEPTH = max(KS)

Ranking = list[frozenset[str]]
"""Hits in rank order, each as the ids it answers to (a variant answers to its SKU and parent)."""


def recall_at(ranking: Ranking, relevant: set[str], k: int) -> float:
    if not relevant:
        return 0.0
    found = {r for r in relevant if any(r in hit for hit in ranking[:k])}
    return len(found) / len(relevant)


def reciprocal_rank(ranking: Ranking, relevant: set[str]) -> float:
    for position, hit in enumerate(ranking[:DEPTH], start=1):
        if hit & relevant:
            return 1.0 / position
    return 0.0


def _aggregate(scored: Sequence[tuple[RetrievalQuery, Ranking]]) -> dict[str, Any]:
    n = len(scored)
    result: dict[str, Any] = {"queries": n}
    for k in KS:
        result[f"recall@{k}"] = (
            round(sum(recall_at(r, set(q.relevant), k) for q, r in scored) / n, 4) if n else None
        )
    result["mrr"] = round(sum(reciprocal_rank(r, set(q.relevant)) for q, r in scored) / n, 4) if n else None
    return result


def score(scored: Sequence[tuple[RetrievalQuery, Ranking]]) -> dict[str, Any]:
    """The report's ``retrieval`` section: overall metrics, ``by_lang``, and the misses."""
    result = _aggregate(scored)
    groups: dict[str, list[tuple[RetrievalQuery, Ranking]]] = defaultdict(list)
    for item in scored:
        groups[item[0].lang or "any"].append(item)
    result["by_lang"] = {lang: _aggregate(items) for lang, items in sorted(groups.items())}
    result["misses"] = [
        {"query": q.query, "lang": q.lang, "relevant": q.relevant, "top5": [sorted(h) for h in r[:5]]}
        for q, r in scored
        if recall_at(r, set(q.relevant), 5) == 0.0
    ][:100]
    return result


def rank(retriever: Any, merchant_id: str, query: RetrievalQuery, catalog: Catalog) -> Ranking:
    """Ask the retriever the way the agent's tools do and rank the hits."""
    wants_docs = any(r.startswith("doc:") for r in query.relevant)
    wants_products = any(not r.startswith("doc:") for r in query.relevant)
    scored_hits: list[tuple[float, frozenset[str]]] = []
    if wants_products:
        for hit in retriever.search_products(merchant_id, query.query, None, DEPTH):
            ids = {hit.sku}
            if parent := catalog.parents.get(hit.sku):
                ids.add(parent)
            scored_hits.append((float(hit.score), frozenset(ids)))
    if wants_docs:
        seen: set[str] = set()
        for hit in retriever.search_policies(merchant_id, query.query, DEPTH):
            if hit.doc_id not in seen:  # several chunks of one document count as one hit
                seen.add(hit.doc_id)
                scored_hits.append((float(hit.score), frozenset({hit.doc_id})))
    if wants_docs and wants_products:
        scored_hits.sort(key=lambda item: item[0], reverse=True)
    return [ids for _, ids in scored_hits[:DEPTH]]


def evaluate_suite_retrieval(
    workspace: Workspace, queries: Sequence[RetrievalQuery], workers: int = 1
) -> dict[str, Any]:
    """Score ``queries`` against the workspace's ingested store (empty section without queries)."""
    from evals.report import empty_retrieval

    if not queries:
        return empty_retrieval()
    from shop.db import Database

    db = Database(workspace.settings.resolved_database_url)
    try:
        retriever = workspace.retriever(db)
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            rankings = list(
                pool.map(lambda q: rank(retriever, workspace.merchant_id, q, workspace.catalog), queries)
            )
    finally:
        db.dispose()
    return score(list(zip(queries, rankings, strict=True)))
