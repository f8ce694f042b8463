"""Offline-engine fixtures: the real Agent over the seeded test store, driven by ``offline``.

The engine is built once per test session with the fast ``hash`` embedder; it keeps no
state between calls (it is a function of the messages), so sharing it is safe. The store
gets translated return policies, and the keyword retriever a small glossary standing in
for a multilingual embedder, so that dialogues in every language find something.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from agent.events import TurnResult
from agent.offline import OfflineModel
from agent.resilience import RetryPolicy
from agent.service import Agent
from shop.db import Database
from shop.embedders import HashEmbedder
from shop.models import DocChunk, Document
from shop.payments import TestProvider
from shop.settings import Settings
from tests.conftest import MERCHANT, KeywordRetriever

Chat = Callable[[str], TurnResult]

GLOSSARY = {
    "palapin": "tent", "çadır": "tent", "خيمة": "tent", "帐篷": "tent",
    "miegmaiš": "sleeping bag", "uyku tulum": "sleeping bag", "كيس نوم": "sleeping bag", "睡袋": "sleeping bag",
    "kojin": "socks", "çorap": "socks", "جوارب": "socks", "袜": "socks",
    "退货": "return days", "运费": "shipping", "grąžin": "return", "iade": "return", "إرجاع": "return",
}  # fmt: skip
TRANSLATED_POLICIES = {
    "lt": ("Grąžinimas", "Grąžinimo terminas", "Prekę galite grąžinti per 45 dienas nuo pristatymo. Prekės turi būti nenaudotos ir su etiketėmis."),
    "tr": ("İade", "İade süresi", "Ürünü teslimattan itibaren 45 gün içinde iade edebilirsiniz. Ürünler kullanılmamış ve etiketli olmalıdır."),
    "ar": ("الإرجاع", "مدة الإرجاع", "يمكنك إرجاع المنتج خلال 45 يوما من التوصيل. يجب أن تكون المنتجات غير مستعملة ومع الملصقات."),
}  # fmt: skip


class GlossaryRetriever(KeywordRetriever):
    """Keyword search that also looks for the English words of a few foreign ones."""

    def _gloss(self, query: str) -> str:
        lowered = query.casefold()
        return " ".join([query] + [en for word, en in GLOSSARY.items() if word in lowered])

    def search_products(
        self, merchant_id: str, query: str, filters: Any | None = None, limit: int = 10
    ) -> Any:
        return super().search_products(merchant_id, self._gloss(query), filters, limit)

    def search_policies(self, merchant_id: str, query: str, limit: int = 5) -> Any:
        return super().search_policies(merchant_id, self._gloss(query), limit)


@pytest.fixture(scope="session")
def offline_model() -> OfflineModel:
    return OfflineModel(embedder=HashEmbedder())


@pytest.fixture
def offline_db(db: Database) -> Database:
    with db.session() as s:
        for lang, (title, heading, text) in TRANSLATED_POLICIES.items():
            doc = Document(
                merchant_id=MERCHANT, doc_id=f"doc:returns.{lang}", title=title, lang=lang, text=text
            )
            doc.chunks.append(
                DocChunk(
                    merchant_id=MERCHANT,
                    chunk_id=f"doc:returns.{lang}#0",
                    ordinal=0,
                    heading_path=heading,
                    text=text,
                )
            )
            s.add(doc)
    return db


@pytest.fixture
def offline_agent(settings: Settings, offline_db: Database, offline_model: OfflineModel) -> Agent:
    retry = RetryPolicy(retries=0, sleep=lambda _: None)
    return Agent(
        settings, offline_db, GlossaryRetriever(offline_db), offline_model, TestProvider(), retry=retry
    )


@pytest.fixture
def chat(offline_agent: Agent) -> Chat:
    """Send shopper messages in one session; returns each turn's result."""
    session: dict[str, str] = {}

    def send(message: str) -> TurnResult:
        result = offline_agent.turn(MERCHANT, session.get("id"), message)
        session["id"] = result.session_id
        return result

    return send
