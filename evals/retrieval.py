"""Retrieval quality on ``retrieval.jsonl``: recall@1/5/10, hit@k and MRR, overall and per language.

Scored by :func:`agent.retrieval_metrics.evaluate_retrieval`, the same code the cross-lingual
benchmark uses, so an eval report and BENCHMARKS.md count hits the same way: a product hit
answers to its SKU, its parent id and the variants collapsed into it; a policy hit answers to
its document and to the document it translates (``doc:returns.lt`` answers ``doc:returns``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from agent.retrieval_metrics import evaluate_retrieval
from evals.suite import RetrievalQuery

if TYPE_CHECKING:
    from evals.workspace import Workspace

MAX_MISSES = 100
"""Queries with nothing relevant in the top 5 listed in a report, at most."""


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
        return evaluate_retrieval(retriever, workspace.merchant_id, queries, workers, MAX_MISSES)
    finally:
        db.dispose()
