"""The offline engine with a returning shopper: remember after a yes, greet by name in the
shopper's language in a new session, forget after a yes; nothing known without consent."""

from __future__ import annotations

import pytest

from agent.offline import OfflineModel
from evals.runner import come_back
from shop.db import Database
from shop.embedders import HashEmbedder
from tests.conftest import MERCHANT
from tests.retention.conftest import EMAIL, MakeAgent


@pytest.fixture(scope="module")
def offline() -> OfflineModel:
    return OfflineModel(embedder=HashEmbedder())


def names(result: object) -> list[str]:
    return [c.name for c in result.tool_calls]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("lang", "ask", "yes", "hello", "welcome"),
    [
        ("en", "Please remember me next time", "yes", "Hi!", "Welcome back, Rūta!"),
        ("lt", "Prisiminkite mane kitą kartą", "taip", "Labas!", "Sveiki sugrįžę, Rūta!"),
        ("tr", "Beni hatırla lütfen", "evet", "Merhaba", "Tekrar hoş geldiniz, Rūta!"),
    ],
)
def test_remember_then_greeted_by_name_in_a_new_session(
    offline: OfflineModel,
    make_agent: MakeAgent,
    shopper_store: Database,
    lang: str,
    ask: str,
    yes: str,
    hello: str,
    welcome: str,
) -> None:
    agent = make_agent(model=offline)
    first = agent.turn(MERCHANT, None, f"A1001 {EMAIL}")
    sid = first.session_id
    asked = agent.turn(MERCHANT, sid, ask)
    assert names(asked) == ["remember_me"]
    assert EMAIL in asked.reply
    done = agent.turn(MERCHANT, sid, yes)
    assert names(done) == ["remember_me"] and done.tool_calls[0].result["remembered"] is True
    assert "Rūta" in done.reply and done.lang == lang

    back = agent.turn(MERCHANT, come_back(shopper_store, MERCHANT, sid, days=30), hello)
    assert back.reply.startswith(welcome)
    assert "A1004" in back.reply  # her latest order
    assert back.tool_calls == []


def test_remember_in_one_message_with_order_and_email(offline: OfflineModel, make_agent: MakeAgent) -> None:
    agent = make_agent(model=offline)
    asked = agent.turn(MERCHANT, None, f"Please remember me: order A1001, {EMAIL}")
    assert names(asked) == ["lookup_order", "remember_me"]
    assert asked.tool_calls[1].result["status"] == "needs_confirmation"


def test_without_a_verified_email_the_engine_asks_for_an_order(
    offline: OfflineModel, make_agent: MakeAgent
) -> None:
    reply = make_agent(model=offline).turn(MERCHANT, None, "Please remember me next time")
    assert names(reply) == ["remember_me"] and "verified" in (reply.tool_calls[0].error or "")
    assert "order number" in reply.reply


def test_no_consent_no_welcome_back(
    offline: OfflineModel, make_agent: MakeAgent, shopper_store: Database
) -> None:
    agent = make_agent(model=offline)
    first = agent.turn(MERCHANT, None, f"Where is my order A1001? {EMAIL}")
    assert names(first) == ["lookup_order"]
    back = agent.turn(MERCHANT, come_back(shopper_store, MERCHANT, first.session_id, days=30), "Hi!")
    assert "Welcome back" not in back.reply and "Rūta" not in back.reply


def test_forget_after_yes_then_nobody_is_greeted(
    offline: OfflineModel, make_agent: MakeAgent, shopper_store: Database
) -> None:
    agent = make_agent(model=offline)
    sid = agent.turn(MERCHANT, None, f"Please remember me: order A1001, {EMAIL}").session_id
    agent.turn(MERCHANT, sid, "yes")
    later = come_back(shopper_store, MERCHANT, sid, days=30)
    asked = agent.turn(MERCHANT, later, "Forget me")
    assert names(asked) == ["forget_me"] and "cannot be undone" in asked.reply
    done = agent.turn(MERCHANT, later, "yes")
    assert names(done) == ["forget_me"] and done.tool_calls[0].result["forgotten"] is True
    assert "forgotten you" in done.reply
    hello = agent.turn(MERCHANT, come_back(shopper_store, MERCHANT, later, days=30), "Hi!")
    assert "Welcome back" not in hello.reply
