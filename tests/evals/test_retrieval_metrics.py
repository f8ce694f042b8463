"""recall@k and MRR on a hand-computed example, and how hits are ranked from a retriever."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from evals.grounding import Catalog
from evals.retrieval import rank, recall_at, reciprocal_rank, score
from evals.suite import RetrievalQuery


def ranking(*hits: str) -> list[frozenset[str]]:
    return [frozenset(h.split("|")) for h in hits]


def test_recall_and_reciprocal_rank() -> None:
    r = ranking("X", "A", "Y", "Z", "B", "W")
    assert recall_at(r, {"A", "B"}, 1) == 0.0
    assert recall_at(r, {"A", "B"}, 2) == 0.5
    assert recall_at(r, {"A", "B"}, 5) == 1.0
    assert reciprocal_rank(r, {"A", "B"}) == 0.5
    assert reciprocal_rank(r, {"Q"}) == 0.0
    # a variant hit answers to its parent id too
    assert reciprocal_rank(ranking("S1|P"), {"P"}) == 1.0


def test_score_hand_computed() -> None:
    q1 = RetrievalQuery(query="tent", relevant=["A"], lang="en")  # rank 1
    q2 = RetrievalQuery(query="palapinė", relevant=["A", "B"], lang="lt")  # A at 3, B at 7
    q3 = RetrievalQuery(query="çadır", relevant=["doc:returns"], lang="tr")  # missing
    result = score(
        [
            (q1, ranking("A", "X")),
            (q2, ranking("X", "Y", "A", "Z", "W", "V", "B")),
            (q3, ranking("doc:faq", "doc:shipping")),
        ]
    )
    assert result["queries"] == 3
    assert result["recall@1"] == pytest.approx(round((1 + 0 + 0) / 3, 4))
    assert result["recall@5"] == pytest.approx(round((1 + 0.5 + 0) / 3, 4))
    assert result["recall@10"] == pytest.approx(round((1 + 1 + 0) / 3, 4))
    assert result["mrr"] == pytest.approx(round((1 + 1 / 3 + 0) / 3, 4))
    assert result["by_lang"]["lt"] == {
        "queries": 1,
        "recall@1": 0.0,
        "recall@5": 0.5,
        "recall@10": 1.0,
        "mrr": 0.3333,
    }
    assert [m["query"] for m in result["misses"]] == ["çadır"]


@dataclass
class ProductHit:
    sku: str
    score: float


@dataclass
class PolicyHit:
    doc_id: str
    chunk_id: str
    score: float
    text: str = ""


class FakeRetriever:
    def search_products(self, merchant_id: str, query: str, filters: object, limit: int) -> list[ProductHit]:
        return [ProductHit("TENT-ALP2-GRN", 0.9), ProductHit("FOOT", 0.5)][:limit]

    def search_policies(self, merchant_id: str, query: str, limit: int) -> list[PolicyHit]:
        return [PolicyHit("doc:returns", "doc:returns#1", 0.7), PolicyHit("doc:returns", "doc:returns#2", 0.6),
                PolicyHit("doc:faq", "doc:faq#0", 0.4)][:limit]  # fmt: skip


def test_rank_by_kind_of_relevant_ids() -> None:
    catalog = Catalog(titles={}, parents={"TENT-ALP2-GRN": "TENT-ALP2"})
    products = rank(FakeRetriever(), "m", RetrievalQuery(query="q", relevant=["TENT-ALP2"]), catalog)
    assert products == [frozenset({"TENT-ALP2-GRN", "TENT-ALP2"}), frozenset({"FOOT"})]
    docs = rank(FakeRetriever(), "m", RetrievalQuery(query="q", relevant=["doc:faq"]), catalog)
    assert docs == [frozenset({"doc:returns"}), frozenset({"doc:faq"})]  # chunks of one doc count once
    mixed = rank(FakeRetriever(), "m", RetrievalQuery(query="q", relevant=["doc:faq", "FOOT"]), catalog)
    assert [sorted(h)[0] for h in mixed] == ["TENT-ALP2", "doc:returns", "FOOT", "doc:faq"]
