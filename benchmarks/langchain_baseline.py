"""A plain LangChain agent over the same store and tools, for side-by-side measurement.

``create_agent`` (LangChain 1.x) with ``ChatOpenAI`` pointed at an OpenAI-compatible server,
shopagent's core shopping tools (the set shopagent offers a small model) under the same names, with the same functions, arguments, validation and
store data labels, and the same system prompt. What it does not have is everything
shopagent adds for weak models: no retrieval before the model decides to search (and its
search is plain vector search in Chroma with the English MiniLM embedder instead of the
hybrid multilingual retriever), no repair of text or near-valid tool calls beyond what
LangChain does, no loop stop, no answer checking, no language check. It keeps the server's
own rules that the tools rely on (the shopper's yes to a checkout or an order change is
recorded by the server, as in shopagent), so write tools can succeed at all.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import chromadb
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.tools import StructuredTool
from langchain_openai import ChatOpenAI
from sqlalchemy import select

from agent import confirmation
from agent.context import ToolContext
from agent.events import ToolCallRecord, TurnResult
from agent.language import detect_language
from agent.llm import Usage
from agent.prompting import new_canary, system_message
from agent.state import ConversationState, new_session_id
from agent.toolkit import Tool
from agent.tools import TOOLS
from agent.turn_guard import CORE_TOOLS
from shop import carts, checkout
from shop.catalog import get_merchant
from shop.db import Database
from shop.embedders import Embedder, get_embedder
from shop.errors import Conflict, NotFound
from shop.models import DocChunk, Document, Product
from shop.payments import get_provider
from shop.settings import Settings

EMBEDDER = "minilm"
RUN_CANARY = new_canary()
"""One canary for a whole run, so a local server's prompt cache is not reset by it every dialogue."""
RECURSION_LIMIT = 17
"""LangGraph steps per turn: 8 model calls and their tool steps, as shopagent's step limit."""


@dataclass(frozen=True)
class Hit:
    sku: str = ""
    score: float = 0.0
    doc_id: str = ""
    chunk_id: str = ""
    text: str = ""


class ChromaRetriever:
    """Plain vector search in Chroma (MiniLM), satisfying the tools' Retriever protocol."""

    def __init__(self, db: Database, merchant_id: str, embedder: Embedder | None = None) -> None:
        self.embedder = embedder or get_embedder(EMBEDDER)
        self.client = chromadb.PersistentClient(path=tempfile.mkdtemp(prefix="baseline-chroma-"))
        self.products = self.client.create_collection("products", metadata={"hnsw:space": "cosine"})
        self.policies = self.client.create_collection("policies", metadata={"hnsw:space": "cosine"})
        with db.session() as session:
            rows = session.scalars(select(Product).where(Product.merchant_id == merchant_id)).all()
            products = [
                (p.sku, f"{p.title}. {p.brand} {p.category}. {p.description}") for p in rows if p.active
            ]
            chunks = session.execute(
                select(DocChunk.chunk_id, Document.doc_id, DocChunk.heading_path, DocChunk.text)
                .join(Document, DocChunk.document_id == Document.id)
                .where(DocChunk.merchant_id == merchant_id)
            ).all()
        self._add(
            self.products,
            [s for s, _ in products],
            [t for _, t in products],
            [{"sku": s} for s, _ in products],
        )
        self._add(
            self.policies,
            [c[0] for c in chunks],
            [f"{c[2]}\n{c[3]}" for c in chunks],
            [{"doc_id": c[1], "text": c[3]} for c in chunks],
        )

    def _add(self, collection: Any, ids: list[str], texts: list[str], metas: list[dict[str, str]]) -> None:
        for start in range(0, len(ids), 256):
            part = slice(start, start + 256)
            vectors = self.embedder.embed_documents(texts[part])
            collection.add(
                ids=ids[part], embeddings=[list(map(float, v)) for v in vectors], documents=texts[part],
                metadatas=metas[part] or None,
            )  # fmt: skip

    def _query(self, collection: Any, query: str, limit: int) -> Any:
        vector = [float(v) for v in self.embedder.embed_query(query)]
        return collection.query(query_embeddings=[vector], n_results=max(1, min(limit, collection.count())))

    def search_products(
        self, merchant_id: str, query: str, filters: Any | None = None, limit: int = 10
    ) -> list[Hit]:
        found = self._query(self.products, query, limit)
        return [Hit(sku=i, score=1 - d) for i, d in zip(found["ids"][0], found["distances"][0], strict=True)]

    def search_policies(self, merchant_id: str, query: str, limit: int = 5) -> list[Hit]:
        found = self._query(self.policies, query, limit)
        return [
            Hit(doc_id=str(m["doc_id"]), chunk_id=i, text=str(m["text"]), score=1 - d)
            for i, m, d in zip(found["ids"][0], found["metadatas"][0], found["distances"][0], strict=True)
        ]


@dataclass
class _Session:
    state: ConversationState
    messages: list[BaseMessage] = field(default_factory=list)


class BaselineAgent:
    """``turn(merchant_id, session_id, message) -> TurnResult``, like shopagent's Agent."""

    def __init__(
        self, settings: Settings, db: Database, retriever: ChromaRetriever, base_url: str, model: str
    ) -> None:
        self.settings = settings
        self.db = db
        self.retriever = retriever
        self.payment = get_provider(settings)
        self.canary = RUN_CANARY
        self.chat = ChatOpenAI(
            model=model, base_url=base_url, api_key="sk-local", timeout=settings.model_timeout_s,  # type: ignore[arg-type]
            max_retries=2, max_tokens=settings.max_output_tokens,  # type: ignore[call-arg]
        )  # fmt: skip
        self.sessions: dict[str, _Session] = {}

    def _tools(self, ctx: ToolContext, records: list[ToolCallRecord]) -> list[StructuredTool]:
        def wrap(tool: Tool) -> StructuredTool:
            def run(**arguments: Any) -> str:
                outcome = tool.run(ctx, arguments)
                records.append(ToolCallRecord(tool.name, arguments, outcome.result, outcome.error))
                return outcome.to_content()

            return StructuredTool.from_function(
                func=run, name=tool.name, description=tool.spec.description, args_schema=tool.arguments,
                handle_tool_error=True, handle_validation_error=True,
            )  # fmt: skip

        return [wrap(t) for t in TOOLS if t.name in CORE_TOOLS]

    def _confirm(self, merchant_id: str, session_id: str, state: ConversationState, text: str) -> None:
        """The server records the shopper's yes to the summary shown last turn (as shopagent does)."""
        pending = state.pending
        if pending is None or pending.confirmed or pending.turn != state.turn - 1:
            return
        answer = confirmation.classify(text)
        if answer == "no":
            state.pending = None
        elif answer == "yes":
            if pending.kind == "checkout":
                try:
                    with self.db.session() as session:
                        checkout.record_confirmation(session, merchant_id, session_id, pending.checkout_id)
                except (Conflict, NotFound):
                    state.pending = None
                    return
            pending.confirmed = True

    def turn(self, merchant_id: str, session_id: str | None, message: str) -> TurnResult:
        started = time.perf_counter()
        sid = session_id or new_session_id()
        session = self.sessions.setdefault(sid, _Session(ConversationState()))
        st = session.state
        st.turn += 1
        with self.db.session() as db_session:
            merchant = get_merchant(db_session, merchant_id)
        languages = tuple(str(c) for c in merchant.languages or ["en"])
        st.lang = detect_language(message, st.lang, languages[0], languages)
        self._confirm(merchant_id, sid, st, message)
        records: list[ToolCallRecord] = []
        ctx = ToolContext(self.settings, self.db, self.retriever, self.payment, merchant_id, sid, st)  # type: ignore[arg-type]
        graph = create_agent(
            self.chat,
            tools=self._tools(ctx, records),
            system_prompt=system_message(merchant, st, self.canary).content,
        )
        history = [*session.messages, HumanMessage(message)]
        reply, usage = "", Usage()
        try:
            out = graph.invoke({"messages": history}, config={"recursion_limit": RECURSION_LIMIT})  # type: ignore[call-overload]
            session.messages = list(out["messages"])
        except Exception as exc:  # a plain agent's failure is this turn's (empty) answer
            reply = f"[baseline error: {type(exc).__name__}]"
            session.messages = history
        for item in session.messages[len(history) :]:
            if isinstance(item, AIMessage) and item.usage_metadata:
                usage += Usage(item.usage_metadata["input_tokens"], item.usage_metadata["output_tokens"])
        last = session.messages[-1] if session.messages else None
        if isinstance(last, AIMessage) and not reply:
            reply = last.content if isinstance(last.content, str) else str(last.content)
        with self.db.session() as db_session:
            cart = carts.view_cart(db_session, merchant_id, sid).to_dict()
        return TurnResult(
            session_id=sid, reply=reply, tool_calls=records, cart=cart, usage=usage,
            latency_s=time.perf_counter() - started, lang=st.lang, model=f"langchain-baseline:{self.chat.model_name}",
            handoff=any(r.name == "handoff_to_human" and r.error is None for r in records),
        )  # fmt: skip
