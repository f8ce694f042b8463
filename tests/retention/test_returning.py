"""Returning shoppers through the agent: consent, recognition, the known-shopper block, forgetting."""

from __future__ import annotations

from sqlalchemy import select

from agent.fakes import ScriptedModel, call
from agent.known_shopper import LABEL, parse
from agent.memory_tools import NOT_VERIFIED
from agent.state import load_or_create, new_session_id
from evals.runner import come_back
from shop import shoppers, wishlists
from shop.carts import add_item
from shop.db import Database
from shop.models import Consent, Conversation, Customer, Order, ShopperToken
from tests.conftest import MERCHANT
from tests.retention.conftest import EMAIL, NAME, MakeAgent, rows_mentioning


def _remembered_session(make_agent: MakeAgent, db: Database) -> str:
    """A conversation where Rūta verified her email, asked to be remembered and said yes."""
    agent = make_agent(
        call("lookup_order", order_id="A1001", email=EMAIL),
        "Your order A1001 is delivered.",
        call("remember_me"),
        "Shall I remember you? Please say yes.",
        call("remember_me"),
        "Done, I will remember you.",
    )
    first = agent.turn(MERCHANT, None, "Where is order A1001? My email is ruta@example.com")
    sid = first.session_id
    asked = agent.turn(MERCHANT, sid, "Please remember me next time")
    assert asked.tool_calls[0].result["status"] == "needs_confirmation"
    with db.session() as session:  # nothing is kept before the yes
        assert session.scalar(select(Customer).where(Customer.email == EMAIL)) is None
    done = agent.turn(MERCHANT, sid, "yes")
    assert done.tool_calls[0].error is None
    assert done.tool_calls[0].result["remembered"] is True
    assert done.tool_calls[0].result["name"] == NAME
    return sid


def test_remember_me_needs_an_email_verified_in_the_conversation(make_agent: MakeAgent) -> None:
    agent = make_agent(call("remember_me", email=EMAIL), "I need to verify your email first.")
    result = agent.turn(MERCHANT, None, "Remember me, I am ruta@example.com")
    assert result.tool_calls[0].error == NOT_VERIFIED


def test_remembered_shopper_is_known_in_a_new_session(make_agent: MakeAgent, shopper_store: Database) -> None:
    db = shopper_store
    sid = _remembered_session(make_agent, db)
    with db.session() as session:
        customer = session.scalar(select(Customer).where(Customer.email == EMAIL))
        assert customer is not None and customer.remember and customer.first_name == NAME
        consent = session.scalar(select(Consent).where(Consent.customer_id == customer.id))
        assert consent is not None and consent.kind == "remember" and consent.session_id == sid
        assert session.get(Conversation, sid).customer_id == customer.id  # type: ignore[union-attr]

    later = come_back(db, MERCHANT, sid, days=30)  # the same browser, another day
    model = ScriptedModel(["Welcome back, Rūta!"])
    reply = make_agent(model=model).turn(MERCHANT, later, "Labas!")
    assert reply.reply == "Welcome back, Rūta!"
    system = model.sent[0].messages[0].content
    assert LABEL in system
    known = parse(system)
    assert known is not None
    assert known["name"] == NAME and known["email"] == EMAIL
    assert [o["order_id"] for o in known["orders"]] == ["A1004", "A1001"]  # newest first
    assert known["sizes"] == {"socks": "M"}


def test_no_memory_without_consent(make_agent: MakeAgent, shopper_store: Database) -> None:
    db = shopper_store
    agent = make_agent(
        call("lookup_order", order_id="A1001", email=EMAIL),
        "Your order A1001 is delivered.",
        "Hello!",
        call("lookup_order", order_id="A1004", email=EMAIL),
        "Order A1004 is delivered.",
        "Anything else?",
    )
    first = agent.turn(MERCHANT, None, "Where is order A1001? ruta@example.com")
    second_sid = come_back(db, MERCHANT, first.session_id, days=30)
    agent.turn(MERCHANT, second_sid, "Hi!")
    # Verifying the email again in the new session still links nothing: she never opted in.
    agent.turn(MERCHANT, second_sid, "And order A1004, ruta@example.com?")
    agent.turn(MERCHANT, second_sid, "Thanks")
    model = agent.model
    assert isinstance(model, ScriptedModel)
    assert all(LABEL not in sent.messages[0].content for sent in model.sent)
    with db.session() as session:
        assert session.scalar(select(Customer).where(Customer.email == EMAIL)) is None
        assert session.scalars(select(Consent)).all() == []
        assert session.scalars(select(ShopperToken)).all() == []
        assert all(c.customer_id is None for c in session.scalars(select(Conversation)))


def test_forget_me_removes_everything_and_keeps_orders_anonymised(
    make_agent: MakeAgent, shopper_store: Database
) -> None:
    db = shopper_store
    first = _remembered_session(make_agent, db)
    with db.session() as session:
        add_item(session, MERCHANT, first, "STOVE-GAS", 1)
        wishlists.save(session, MERCHANT, f"email:{EMAIL}", "LAMP-200")
        wishlists.save(session, MERCHANT, f"session:{first}", "BAG-DOWN-5")
        shoppers.allow_contact(session, MERCHANT, first, "web", EMAIL, "en")
    later = come_back(db, MERCHANT, first, days=30)
    agent = make_agent(
        call("forget_me"),
        "I will delete everything. Shall I?",
        call("forget_me"),
        "Done, I have forgotten you.",
    )
    asked = agent.turn(MERCHANT, later, "Please forget me")
    assert asked.tool_calls[0].result["status"] == "needs_confirmation"
    assert EMAIL in asked.tool_calls[0].result["change"]
    done = agent.turn(MERCHANT, later, "yes")
    result = done.tool_calls[0].result
    assert result["forgotten"] is True
    assert result["customers_deleted"] == 1 and result["orders_anonymized"] == 2
    assert result["conversations_deleted"] == 2 and result["wishlists_deleted"] == 2

    assert rows_mentioning(db, EMAIL, first, NAME.lower(), "kazlauskien") == {}
    with db.session() as session:
        orders = {
            o.order_id: o
            for o in session.scalars(select(Order).where(Order.order_id.in_(["A1001", "A1004"])))
        }
        assert set(orders) == {"A1001", "A1004"}  # kept for the books, without the person
        assert all(
            o.email == "" and o.customer_id is None and o.shipping_address == {} for o in orders.values()
        )
        assert [e.kind for e in orders["A1001"].events][-1] == "anonymized"
        assert session.get(Conversation, first) is None
        kept = session.get(Conversation, later)
        assert kept is not None and kept.messages == [] and kept.customer_id is None
        assert session.scalars(select(Customer)).all() == []
    # Nothing is known afterwards, in this conversation or the next one.
    model = ScriptedModel(["Hello!", "Hello!"])
    make_agent(model=model).turn(MERCHANT, later, "Hi")
    make_agent(model=model).turn(MERCHANT, come_back(db, MERCHANT, later, days=30), "Hi")
    assert all(LABEL not in sent.messages[0].content for sent in model.sent)


def test_forget_me_with_nothing_remembered_says_how_to_proceed(make_agent: MakeAgent) -> None:
    agent = make_agent(call("forget_me"), "There is nothing to forget here.")
    result = agent.turn(MERCHANT, None, "Forget me")
    assert "nothing is remembered" in (result.tool_calls[0].error or "")


def test_a_stale_token_or_another_merchant_recognises_nobody(
    make_agent: MakeAgent, shopper_store: Database
) -> None:
    db = shopper_store
    sid = _remembered_session(make_agent, db)
    with db.session() as session:
        customer = shoppers.linked_customer(session, MERCHANT, sid)
        assert customer is not None
        token = shoppers.issue_token(session, MERCHANT, customer.id, days=30)
        assert shoppers.customer_of_token(session, "other", token) is None
        assert shoppers.customer_of_token(session, MERCHANT, token + "x") is None
        assert shoppers.customer_of_token(session, MERCHANT, token) is not None
        for row in session.scalars(select(ShopperToken)):
            row.expires_at = row.created_at
        assert shoppers.customer_of_token(session, MERCHANT, token) is None


def test_new_session_recognised_by_cookie_takes_the_remembered_language(
    make_agent: MakeAgent, shopper_store: Database
) -> None:
    db = shopper_store
    sid = _remembered_session(make_agent, db)
    with db.session() as session:
        customer = shoppers.linked_customer(session, MERCHANT, sid)
        assert customer is not None
        customer.profile = {**customer.profile, "lang": "lt"}
    fresh = new_session_id()
    load_or_create(db, MERCHANT, fresh)
    with db.session() as session:
        customer = shoppers.linked_customer(session, MERCHANT, sid)
        assert customer is not None
        shoppers.link(session, MERCHANT, fresh, customer)
        assert session.get(Conversation, fresh).lang == "lt"  # type: ignore[union-attr]
