from dataclasses import dataclass, field

from agent.retrieval_metrics import evaluate_retrieval


@dataclass
class Hit:
    sku: str = ""
    parent_sku: str | None = None
    score: float = 0.0
    variants: list = field(default_factory=list)
    doc_id: str = ""


class FakeRetriever:
    def search_products(self, merchant_id, query, filters=None, limit=8):
        return [
            Hit("MUG-GRN", "MUG", 0.9, [{"id": "MUG-BLU"}]),
            Hit("TENT-1", None, 0.8),
            Hit("BAG-1", None, 0.7),
        ]

    def search_policies(self, merchant_id, query, limit=4):
        return [
            Hit(doc_id="doc:returns.lt", score=0.6),
            Hit(doc_id="doc:returns.lt", score=0.5),
            Hit(doc_id="doc:faq", score=0.4),
        ]


def test_variants_parents_and_translations_count_as_hits():
    queries = [
        {"query": "mug", "relevant": ["MUG"], "lang": "en"},
        {"query": "blue mug", "relevant": ["MUG-BLU"], "lang": "en"},
        {"query": "bag or tent", "relevant": ["BAG-1", "TENT-1"], "lang": "lt"},
        {"query": "grąžinimas", "relevant": ["doc:returns", "doc:faq"], "lang": "lt"},
        {"query": "stove", "relevant": ["STOVE"], "lang": "lt"},
    ]
    result = evaluate_retrieval(FakeRetriever(), "m1", queries)
    assert result["queries"] == 5
    assert result["by_lang"]["en"]["recall@1"] == 1.0
    lt = result["by_lang"]["lt"]
    assert lt["recall@1"] == round((0 + 0.5 + 0) / 3, 4) and lt["recall@5"] == round(2 / 3, 4)
    assert lt["hit@1"] == round(1 / 3, 4) and lt["mrr"] == round((1 / 2 + 1) / 3, 4)
    assert [m["query"] for m in result["misses"]] == ["stove"]
