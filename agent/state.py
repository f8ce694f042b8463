"""Conversation state kept in the ``conversations`` table, so a restart loses nothing.

The message history lives in ``Conversation.messages``; everything else the server must
remember between turns (verified emails, the checkout or write awaiting the shopper's yes,
language, last search results, a summary of trimmed turns) lives in ``Conversation.state``.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from sqlalchemy import update
from sqlalchemy.orm import Session

from agent.llm import Message, Usage
from shop.db import Database
from shop.errors import NotFound
from shop.models import Conversation, utcnow

SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def new_session_id() -> str:
    return secrets.token_urlsafe(24)


@dataclass
class Pending:
    """A write that needs the shopper's explicit yes before it may run."""

    kind: Literal["checkout", "action"]
    turn: int
    """The turn that created it; its summary reached the shopper at the end of that turn."""
    checkout_id: str = ""
    tool: str = ""
    key: str = ""
    """Canonical JSON of the action's arguments: only the identical call may execute it."""
    summary: str = ""
    confirmed: bool = False


@dataclass
class ConversationState:
    turn: int = 0
    lang: str = ""
    lang_locked: bool = False
    """True when the shopper chose the language (``/lang``): detection no longer switches it."""
    verified_emails: list[str] = field(default_factory=list)
    pending: Pending | None = None
    last_results: list[str] = field(default_factory=list)
    """SKUs of the last search, so "the second one" can be resolved."""
    summary: str = ""
    """Short record of turns dropped from the stored history."""
    failed_lookups: int = 0
    handoff_reason: str = ""
    usage: Usage = field(default_factory=Usage)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversationState:
        pending = data.get("pending")
        usage = data.get("usage") or {}
        return cls(
            turn=int(data.get("turn", 0)),
            lang=str(data.get("lang", "")),
            lang_locked=bool(data.get("lang_locked", False)),
            verified_emails=[str(e) for e in data.get("verified_emails", [])],
            pending=Pending(**pending) if isinstance(pending, dict) else None,
            last_results=[str(s) for s in data.get("last_results", [])],
            summary=str(data.get("summary", "")),
            failed_lookups=int(data.get("failed_lookups", 0)),
            handoff_reason=str(data.get("handoff_reason", "")),
            usage=Usage(int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))),
        )


@dataclass
class ConversationRecord:
    session_id: str
    merchant_id: str
    messages: list[Message]
    state: ConversationState
    handoff: str = ""


def load_or_create(
    db: Database, merchant_id: str, session_id: str, channel: str = "web"
) -> ConversationRecord:
    """The stored conversation, or a new empty one written at once (tools may update its row)."""
    with db.session() as session:
        return load_or_create_in(session, merchant_id, session_id, channel)


def load_or_create_in(
    session: Session, merchant_id: str, session_id: str, channel: str = "web"
) -> ConversationRecord:
    """As :func:`load_or_create`, inside the caller's transaction.

    A session id belonging to another merchant is treated as unknown, never shared."""
    row = session.get(Conversation, session_id)
    if row is not None and row.merchant_id != merchant_id:
        raise NotFound("unknown session")
    if row is None:
        row = Conversation(
            id=session_id, merchant_id=merchant_id, channel=channel, lang="", messages=[], state={}
        )
        session.add(row)
        session.flush()
    return ConversationRecord(
        session_id=row.id,
        merchant_id=row.merchant_id,
        messages=[Message.from_dict(m) for m in row.messages or []],
        state=ConversationState.from_dict(row.state or {}),
        handoff=row.handoff,
    )


def save(db: Database, record: ConversationRecord) -> None:
    with db.session() as session:
        save_in(session, record)


def save_in(session: Session, record: ConversationRecord) -> None:
    # A plain UPDATE: loading the row again only to diff a long history costs more than writing it.
    result = session.execute(
        update(Conversation)
        .where(Conversation.id == record.session_id, Conversation.merchant_id == record.merchant_id)
        .values(
            messages=[m.to_dict() for m in record.messages],
            state=record.state.to_dict(),
            lang=record.state.lang,
            updated_at=utcnow(),
        )
    )
    if getattr(result, "rowcount", 0) != 1:
        raise NotFound("unknown session")


def request_handoff(db: Database, merchant_id: str, session_id: str) -> None:
    with db.session() as session:
        row = session.get(Conversation, session_id)
        if row is not None and row.merchant_id == merchant_id and row.handoff in ("", "handled"):
            row.handoff = "requested"


def reset(db: Database, merchant_id: str, session_id: str) -> None:
    """Forget a conversation's history and state (the cart is kept: it belongs to the session)."""
    with db.session() as session:
        row = session.get(Conversation, session_id)
        if row is not None and row.merchant_id == merchant_id:
            row.messages = []
            row.state = {}
