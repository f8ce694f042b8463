"""The one typed object tools receive: who is asking, and the stores they may touch.

Tools never reach globals: merchant, session, database, retriever, payment provider and
settings all arrive here, so a test (or another merchant) simply builds another context.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session

from agent.llm import Message
from agent.state import ConversationState
from shop.db import Database
from shop.payments import PaymentProvider
from shop.settings import Settings


class ProductHitLike(Protocol):
    @property
    def sku(self) -> str: ...

    @property
    def score(self) -> float: ...


class PolicyHitLike(Protocol):
    @property
    def doc_id(self) -> str: ...

    @property
    def chunk_id(self) -> str: ...

    @property
    def text(self) -> str: ...

    @property
    def score(self) -> float: ...


class Retriever(Protocol):
    """What tools need from :mod:`agent.retrieval` (its ``Retriever`` satisfies this)."""

    def search_products(
        self,
        merchant_id: str,
        query: str,
        filters: Any | None = None,
        limit: int = 10,
        catalog_query: str | None = None,
    ) -> Sequence[ProductHitLike]: ...

    def search_policies(
        self, merchant_id: str, query: str, limit: int = 5, catalog_query: str | None = None
    ) -> Sequence[PolicyHitLike]: ...


@dataclass
class ToolContext:
    settings: Settings
    db: Database
    retriever: Retriever
    payment: PaymentProvider
    merchant_id: str
    session_id: str
    state: ConversationState
    """Conversation state the tools read and update; the service persists it after the turn."""
    cart_changed: bool = False
    """Set by tools that change the cart, so the loop can emit a ``cart`` event."""
    messages: list[Message] = field(default_factory=list)
    """The conversation so far, read-only: e.g. a coupon code must come from the shopper's words."""
    lookup_gate: Callable[[], bool] | None = None
    """Asked before each order lookup: False when the caller's address has used up its lookups."""

    def shopper_wrote(self, text: str) -> bool:
        """Did the shopper write ``text`` (as a whole word, any case) in this conversation?"""
        pattern = re.compile(rf"(?<![A-Za-z0-9_.-]){re.escape(text)}(?![A-Za-z0-9_-])", re.IGNORECASE)
        return any(m.role == "user" and pattern.search(m.content) for m in self.messages)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.db.session() as session:
            yield session
