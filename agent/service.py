"""The agent as the server, the CLI and the evals use it: ``Agent.turn`` runs one shopper turn.

A turn loads the conversation from the database, records the shopper's explicit yes to a
pending write (the server decides that, before the model runs), runs the loop, makes sure
any summary awaiting confirmation really reached the shopper, filters the reply and
saves the conversation again. A restart is just a new ``Agent`` over the same database.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from agent import budget, confirmation, key_facts, loop, memory_tools
from agent import state as conversation
from agent.context import Retriever, ToolContext
from agent.events import AgentEvent, EventSink, ToolCallRecord, TurnResult
from agent.known_shopper import with_known_shopper
from agent.language import detect_language
from agent.llm import ChatModel, Message, Usage, get_model
from agent.prompting import fallback_text, language_name, new_canary, system_message
from agent.reply_filter import StreamScrubber, hosts_in, redact, result_hosts, scrub, strip_canary
from agent.resilience import RetryPolicy
from agent.state import ConversationRecord, ConversationState, Pending
from agent.toolkit import Tool
from agent.tools import TOOLS
from agent.turn_guard import TurnGuard, guards_on
from ingest.sanitize import clean_text
from shop import carts, checkout
from shop.catalog import get_merchant
from shop.db import Database, open_database
from shop.errors import Conflict, NotFound
from shop.models import Merchant
from shop.payments import PaymentProvider, get_provider
from shop.settings import Settings

__all__ = ["Agent", "AgentEvent", "ToolCallRecord", "TurnResult", "build_agent"]

log = logging.getLogger(__name__)
MAX_STORED_TURNS = 40
"""Older turns are folded into the conversation summary so stored history stays bounded."""
KEEP_WHOLE_TURNS = 3
"""The latest turns are stored with their tool results in full."""
_AMOUNT = re.compile(r"\d+\.\d{2,3}")
_LOCKS = 64


def _ignore(_event: AgentEvent) -> None:
    return None


class Agent:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        retriever: Retriever,
        model: ChatModel,
        payment: PaymentProvider,
        tools: Sequence[Tool] | None = None,
        retry: RetryPolicy | None = None,
        canary: str | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.retriever = retriever
        self.model = model
        self.payment = payment
        self.tools = list(tools) if tools is not None else None
        """Fixed tools for every merchant; ``None`` picks each merchant's tool set."""
        self.retry = retry or RetryPolicy(retries=settings.model_retries)
        self.canary = canary or new_canary()
        self._offline: ChatModel | None = None
        # Turns of one session run one at a time; striped locks keep memory bounded.
        self._locks = [threading.Lock() for _ in range(_LOCKS)]

    # -- public -------------------------------------------------------------------------
    def turn(
        self,
        merchant_id: str,
        session_id: str | None,
        message: str,
        on_event: EventSink | None = None,
        lookup_gate: Callable[[], bool] | None = None,
    ) -> TurnResult:
        """One shopper turn. ``lookup_gate`` is asked before every order lookup the tools make
        (the server's per-address limit); it answers False when the caller has used them up."""
        started = time.perf_counter()
        emit = on_event or _ignore
        sid = (
            session_id
            if session_id and conversation.SESSION_ID.match(session_id)
            else conversation.new_session_id()
        )
        with self._locks[hash(sid) % _LOCKS]:
            with self.db.session() as session:
                merchant = get_merchant(session, merchant_id)
                record = _load_in(session, merchant_id, sid)
            # Control and invisible characters (bidi overrides, tag characters) never reach the
            # model or the stored conversation: only what the shopper can see is their message.
            text = clean_text(message).strip()[: self.settings.max_message_chars]
            result = self._run(merchant, record, text, emit, lookup_gate)
        result.latency_s = time.perf_counter() - started
        emit(AgentEvent("done", result.to_dict()))
        return result

    def set_language(self, merchant_id: str, session_id: str, lang: str) -> None:
        """Pin the reply language of a session (``/lang``); an empty code unpins it."""
        record = self._load(merchant_id, session_id)
        record.state.lang, record.state.lang_locked = lang, bool(lang)
        conversation.save(self.db, record)

    def cart(self, merchant_id: str, session_id: str) -> dict[str, Any]:
        with self.db.session() as session:
            return carts.view_cart(session, merchant_id, session_id).to_dict()

    # -- one turn -----------------------------------------------------------------------
    def _load(self, merchant_id: str, sid: str) -> ConversationRecord:
        with self.db.session() as session:
            return _load_in(session, merchant_id, sid)

    def _run(
        self,
        merchant: Merchant,
        record: ConversationRecord,
        text: str,
        emit: EventSink,
        lookup_gate: Callable[[], bool] | None = None,
    ) -> TurnResult:
        st = record.state
        st.turn += 1
        if not st.lang_locked:
            languages = tuple(str(c) for c in merchant.languages or ["en"])
            st.lang = detect_language(text, st.lang, languages[0], languages)
        if not text:
            reply = fallback_text("empty", st.lang, merchant.handoff_contact)
            return self._finish(record, reply, [], Usage(), [], "", emit)
        self._record_confirmation(record, text)
        record.messages.append(Message("user", text))
        first_new = len(record.messages)
        ctx = ToolContext(
            self.settings, self.db, self.retriever, self.payment, merchant.id, record.session_id, st
        )
        ctx.messages = record.messages
        ctx.lookup_gate = lookup_gate
        scrubber = StreamScrubber(self.canary, self._store_hosts(merchant, []))

        def sink(event: AgentEvent) -> None:
            if event.type in ("tool_started", "tool_finished"):
                emit(AgentEvent(event.type, redact(event.data, self.canary)))
            elif event.type != "token":
                emit(event)
            elif cleaned := scrubber.feed(str(event.data.get("text", ""))):
                emit(AgentEvent("token", {"text": cleaned}))

        toolset = toolset_for(merchant)
        tools = self.tools if self.tools is not None else toolset.tools
        system = system_message(merchant, st, self.canary, toolset.prompt)
        system = with_known_shopper(
            system, memory_tools.known_for(self.db, merchant.id, record.session_id, st)
        )
        guard = self._guard()
        tools = guard.tools(tools) if guard is not None else tools
        try:
            prepared = guard.before(text, st, ctx, tools, system, sink) if guard is not None else None
            tools = prepared.tools if prepared is not None else tools
            record.messages.extend(prepared.messages if prepared is not None else [])
            preamble = None
            if guard is not None:
                system, preamble = guard.split_system(system, self.canary, language_name(st.lang))
            outcome = loop.run(
                self.model,
                system,
                record.messages,
                tools,
                ctx,
                sink,
                self.retry,
                self._fallback,
                lambda: self.cart(merchant.id, record.session_id),
                stream=on_stream(emit) and (guard is None or self.settings.stream_drafts),
                first_choice=prepared.choice if prepared is not None else "auto",
                preamble=preamble,
                stop_repeats=guard is not None,
                allowed_writes=prepared.writes if prepared is not None else None,
                done_before=prepared.calls if prepared is not None else (),
            )
            if guard is not None and prepared is not None:
                outcome.records[:0] = prepared.records
                if outcome.ending == "answer" and outcome.model == self.model.name:
                    checked = guard.after(
                        outcome.text, self.model, system, record.messages, st, outcome.records, prepared.plan,
                        lambda: self.retry.clock() + self.settings.turn_timeout_s,
                        self.settings.max_steps - len(outcome.prompt_tokens), [t.spec for t in tools], preamble,
                    )  # fmt: skip
                    outcome.text, outcome.usage = checked.text, outcome.usage + checked.usage
                if outcome.ending == "answer" and not self.settings.stream_drafts:
                    sink(AgentEvent("token", {"text": outcome.text}))  # only what passed the checks
        except Exception:  # a bug must not reach the shopper as a trace
            log.exception("turn failed")
            outcome = loop.LoopResult(text="", ending="unavailable", model=self.model.name)
        if tail := scrubber.flush():
            emit(AgentEvent("token", {"text": tail}))
        hosts = self._store_hosts(merchant, outcome.records)
        self._clean_turn(record.messages[first_new:], hosts)
        outcome.records = [
            ToolCallRecord(
                r.name,
                redact(r.arguments, self.canary),
                redact(r.result, self.canary),
                redact(r.error, self.canary),
            )
            for r in outcome.records
        ]
        reply = scrub(outcome.text, self.canary, hosts)
        handed_off = False
        if outcome.ending != "answer" or not reply:
            kind = "step_limit" if outcome.ending == "step_limit" else "unavailable"
            reply = fallback_text(kind, st.lang, merchant.handoff_contact)
            if done := key_facts.missing("", outcome.records, st.lang) if guard is not None else "":
                reply = f"{done}\n\n{reply}"  # what the server did before the model failed
            if kind == "unavailable":  # also a turn out of time: a person picks it up
                conversation.request_handoff(self.db, merchant.id, record.session_id)
                handed_off = True
            emit(AgentEvent("token", {"text": reply}))
            record.messages.append(Message("assistant", reply))
        reply = self._show_pending(st, reply, emit)
        if record.messages and record.messages[-1].role == "assistant":
            record.messages[-1].content = reply
        handoff = handed_off or any(r.name == "handoff_to_human" and r.error is None for r in outcome.records)
        if memory_tools.forgot(outcome.records):  # the shopper asked to be forgotten: keep nothing
            memory_tools.clear_record(record)
        return self._finish(
            record, reply, outcome.records, outcome.usage, outcome.prompt_tokens, outcome.model, emit, handoff
        )

    def _finish(
        self,
        record: ConversationRecord,
        reply: str,
        records: list[ToolCallRecord],
        usage: Usage,
        prompt_tokens: list[int],
        model: str,
        emit: EventSink,
        handoff: bool = False,
    ) -> TurnResult:
        st = record.state
        st.usage = st.usage + usage
        _fold_history(record)
        with self.db.session() as session:
            conversation.save_in(session, record)
            cart = carts.view_cart(session, record.merchant_id, record.session_id).to_dict()
        return TurnResult(
            session_id=record.session_id,
            reply=reply,
            tool_calls=records,
            cart=cart,
            usage=usage,
            latency_s=0.0,
            handoff=handoff,
            lang=st.lang,
            model=model or self.model.name,
            prompt_tokens=prompt_tokens,
        )

    def _store_hosts(self, merchant: Merchant, records: list[ToolCallRecord]) -> frozenset[str]:
        """Hosts a reply may link to: this server, the sites embedding the widget, the store's
        contact, and the link fields of this turn's tool results (product pages, payment page)."""
        configured = hosts_in(
            self.settings.public_url or "", *self.settings.cors_origins, merchant.handoff_contact or ""
        )
        return configured | result_hosts(r.result for r in records if r.error is None)

    def _clean_turn(self, messages: list[Message], hosts: frozenset[str]) -> None:
        """The turn's messages as they are stored (and shown again by the conversation and privacy
        routes): the model's text filtered like a reply, the canary out of tool traffic."""
        for message in messages:
            if message.role == "assistant":
                message.content = scrub(message.content, self.canary, hosts) if message.content else ""
                for call in message.tool_calls:
                    call.arguments = redact(call.arguments, self.canary)
            elif message.role == "tool":
                message.content = strip_canary(message.content, self.canary)

    def _record_confirmation(self, record: ConversationRecord, text: str) -> None:
        """The shopper's answer to a summary shown in the previous turn, decided by the server."""
        pending = record.state.pending
        if pending is None or pending.confirmed or pending.turn != record.state.turn - 1:
            return
        answer = confirmation.classify(text, pending.tool)
        if answer == "no":
            record.state.pending = None
        elif answer == "yes":
            if pending.kind == "checkout":
                try:
                    with self.db.session() as session:
                        checkout.record_confirmation(
                            session, record.merchant_id, record.session_id, pending.checkout_id
                        )
                except (Conflict, NotFound):
                    record.state.pending = None
                    return
            pending.confirmed = True

    def _show_pending(self, st: ConversationState, reply: str, emit: EventSink) -> str:
        """A write awaiting a yes must have its exact summary in front of the shopper: append the
        server's rendering when the model left the figures out, and count a re-shown summary."""
        pending = st.pending
        if pending is None or pending.confirmed:
            return reply
        if _mentions(reply, pending):
            pending.turn = st.turn
        elif pending.turn == st.turn:
            addition = "\n\n" + pending.summary
            emit(AgentEvent("token", {"text": addition}))
            reply += addition
        return reply

    def _guard(self) -> TurnGuard | None:
        """Retrieval before and reply checks after the loop, for models that need them."""
        if not guards_on(self.settings, self.model):
            return None
        return TurnGuard(self.settings, getattr(self.retriever, "embedder", None), self.retry)

    def _fallback(self, failed: ChatModel) -> ChatModel | None:
        if failed.name == "offline":
            return None
        if self._offline is None:
            try:
                self._offline = get_model("offline", self.settings)
            except ImportError:
                log.warning("the offline engine is not available as a fallback")
                return None
        return self._offline


@dataclass(frozen=True)
class Toolset:
    tools: list[Tool]
    prompt: str
    """System prompt template in ``prompts/``."""


def toolset_for(merchant: Merchant) -> Toolset:
    """The shopping tools, or the τ²-retail customer-service tools for stores imported from it."""
    if (merchant.settings or {}).get("platform") == "tau2":
        from agent import tau2_tools

        return Toolset(tau2_tools.TOOLS, tau2_tools.PROMPT)
    return Toolset(TOOLS, "system.md")


def on_stream(emit: EventSink) -> bool:
    """Stream only when someone listens."""
    return emit is not _ignore


def _mentions(reply: str, pending: Pending) -> bool:
    """The reply shows the key figure of the pending write (its total or refund, else its order)."""
    amounts = _AMOUNT.findall(pending.summary)
    if amounts:
        key = amounts[-1]
        return key in reply or key.replace(".", ",") in reply
    return all(part in reply for part in re.findall(r"\b[A-Z]{1,3}-?\d{3,}\w*\b", pending.summary))


def _load_in(session: Session, merchant_id: str, sid: str) -> ConversationRecord:
    try:
        return conversation.load_or_create_in(session, merchant_id, sid)
    except NotFound:  # the id belongs to another merchant: never share it
        return conversation.load_or_create_in(session, merchant_id, conversation.new_session_id())


def _fold_history(record: ConversationRecord) -> None:
    """Bound the stored history: turns past ``MAX_STORED_TURNS`` go into the summary, and tool
    results of older turns are stored compacted, as the prompt would show them anyway."""
    turns = budget.split_turns(record.messages)
    if len(turns) > MAX_STORED_TURNS:
        old, turns = turns[:-MAX_STORED_TURNS], turns[-MAX_STORED_TURNS:]
        record.state.summary = budget.summarize(old, prior=record.state.summary)
    settled = [budget.compact_turn(turn, 1) for turn in turns[:-KEEP_WHOLE_TURNS]]
    record.messages = [m for turn in settled + turns[-KEEP_WHOLE_TURNS:] for m in turn]


def build_agent(
    settings: Settings, db: Database | None = None, model: str | ChatModel | None = None
) -> Agent:
    """An agent wired from settings: database, retriever, model and payment provider."""
    from agent.retrieval import build_retriever

    database = db or open_database(settings)
    chat_model = model if model is not None and not isinstance(model, str) else None
    if chat_model is None:
        chat_model = get_model(model or settings.resolved_model, settings)  # type: ignore[arg-type]
    return Agent(settings, database, build_retriever(settings, database), chat_model, get_provider(settings))
