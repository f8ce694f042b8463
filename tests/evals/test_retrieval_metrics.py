"""The eval's retrieval section is scored by agent.retrieval_metrics, as the benchmarks are."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from evals.retrieval import evaluate_suite_retrieval
from evals.suite import RetrievalQuery
from shop.settings import Settings


@dataclass
class ProductHit:
    sku: str
    score: float
    parent_sku: str | None = None
    variants: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class PolicyHit:
    doc_id: str
    chunk_id: str
    score: float


class FakeRetriever:
    def search_products(self, merchant_id: str, query: str, filters: object, limit: int) -> list[ProductHit]:
        return [
            ProductHit("TENT-ALP2-GRN", 0.9, "TENT-ALP2", [{"id": "TENT-ALP2-ORG"}]),
            ProductHit("FOOT", 0.5),
        ][:limit]

    def search_policies(self, merchant_id: str, query: str, limit: int) -> list[PolicyHit]:
        return [
            PolicyHit("doc:returns.lt", "doc:returns.lt#1", 0.7),
            PolicyHit("doc:returns.lt", "doc:returns.lt#2", 0.6),
            PolicyHit("doc:faq", "doc:faq#0", 0.4),
        ][:limit]


@dataclass
class FakeWorkspace:
    settings: Settings
    merchant_id: str = "m"

    def retriever(self, db: object) -> FakeRetriever:
        return FakeRetriever()


@pytest.fixture
def workspace(tmp_path: Path) -> FakeWorkspace:
    return FakeWorkspace(
        Settings(_env_file=None, home=tmp_path, database_url=f"sqlite:///{tmp_path / 'x.db'}")  # type: ignore[call-arg]
    )


def test_translations_variants_and_parents_count_as_hits(workspace: FakeWorkspace) -> None:
    queries = [
        RetrievalQuery(query="tent", relevant=["TENT-ALP2"], lang="en"),  # parent id: rank 1
        RetrievalQuery(query="orange tent", relevant=["TENT-ALP2-ORG"], lang="en"),  # collapsed variant
        RetrievalQuery(query="grąžinimas", relevant=["doc:returns"], lang="lt"),  # its translation, rank 1
        RetrievalQuery(
            query="DUK", relevant=["doc:faq", "doc:shipping"], lang="lt"
        ),  # rank 2 (chunks count once)
        RetrievalQuery(query="çadır", relevant=["STOVE"], lang="tr"),  # missing
    ]
    result = evaluate_suite_retrieval(workspace, queries, workers=2)  # type: ignore[arg-type]
    assert result["queries"] == 5
    assert result["recall@1"] == pytest.approx(round((1 + 1 + 1 + 0 + 0) / 5, 4))
    assert result["recall@5"] == pytest.approx(round((1 + 1 + 1 + 0.5 + 0) / 5, 4))
    assert result["mrr"] == pytest.approx(round((1 + 1 + 1 + 0.5 + 0) / 5, 4))
    assert result["by_lang"]["lt"]["recall@5"] == 0.75 and result["by_lang"]["lt"]["hit@5"] == 1.0
    assert result["by_lang"]["tr"]["recall@5"] == 0.0
    assert [m["query"] for m in result["misses"]] == ["çadır"]


def test_no_queries_gives_the_empty_section(workspace: FakeWorkspace) -> None:
    assert evaluate_suite_retrieval(workspace, [])["queries"] == 0  # type: ignore[arg-type]
