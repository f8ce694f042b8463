"""Abandoned-cart reminders: produced once per cart on a fake clock, claimed, sent and acknowledged
exactly once (also across a worker crash), on the shopper's channel, with a working link back."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from agent.fakes import ScriptedModel
from agent.service import Agent
from agent.state import load_or_create
from channels.base import Outgoing, SendContext
from channels.reminders import ReminderTasks
from channels.sessions import open_session
from channels.webhooks import RetryPolicy
from channels.worker import Worker
from shop import mailer, reminders, shoppers
from shop.carts import add_item, clear_cart
from shop.db import Database
from shop.models import Cart, CartReminder, utcnow
from shop.payments import TestProvider
from shop.settings import Settings
from tests.conftest import MERCHANT, KeywordRetriever
from tests.retention.conftest import EMAIL, Clock, serve

SHOPPER = "cart-shopper-0000000001"


@dataclass
class Outbox:
    """Records what the worker sent; ``fail`` makes the next sends fail."""

    emails: list[mailer.Email] = field(default_factory=list)
    fail: int = 0

    def __call__(self, _settings: Settings, email: mailer.Email) -> None:
        if self.fail:
            self.fail -= 1
            raise mailer.MailError("the mail server refused: 451 try again later")
        self.emails.append(email)


@dataclass
class FakeChannel:
    name: str = "telegram"
    sent: list[tuple[str, Outgoing, SendContext]] = field(default_factory=list)

    def send(self, recipient: str, outgoing: Outgoing, context: SendContext) -> list[str]:
        self.sent.append((recipient, outgoing, context))
        return ["m1"]


@pytest.fixture
def remind_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "cart_reminder_minutes": 30,
            "smtp_host": "127.0.0.1",
            "smtp_from": "shop@trailtest.example",
            "public_url": "https://shop.example",
        }
    )


@pytest.fixture
def outbox() -> Outbox:
    return Outbox()


@pytest.fixture
def tasks(remind_settings: Settings, shopper_store: Database, outbox: Outbox) -> Iterator[ReminderTasks]:
    with httpx.Client() as client:
        yield ReminderTasks(remind_settings, shopper_store, client, send_mail=outbox)


def worker(tasks: ReminderTasks, clock: Clock) -> Worker:
    return Worker(tasks.db, tasks.client, RetryPolicy(), clock=clock, tasks=[tasks.produce, tasks.send])


def left_cart(db: Database, session_id: str = SHOPPER, consent: bool = True) -> None:
    load_or_create(db, MERCHANT, session_id)
    with db.session() as session:
        add_item(session, MERCHANT, session_id, "TENT-ALP2-GRN", 1)
        add_item(session, MERCHANT, session_id, "SOCK-HIKE-M", 2)
        if consent:
            shoppers.allow_contact(session, MERCHANT, session_id, "web", EMAIL, "en")


def reminder_rows(db: Database) -> list[CartReminder]:
    with db.session() as session:
        return list(session.scalars(select(CartReminder)))


def test_one_reminder_per_cart_after_the_idle_time(
    tasks: ReminderTasks, shopper_store: Database, outbox: Outbox, clock: Clock
) -> None:
    db = shopper_store
    left_cart(db)
    w = worker(tasks, clock)
    clock.advance(minutes=29)
    assert w.run_once()["reminders_queued"] == 0  # not idle long enough
    clock.advance(minutes=2)
    counts = w.run_once()
    assert counts["reminders_queued"] == 1 and counts["reminders_sent"] == 1
    for _ in range(3):
        clock.advance(minutes=45)
        again = w.run_once()
        assert again["reminders_queued"] == 0 and again["reminders_sent"] == 0
    # The shopper comes back, changes the cart and leaves again: still at most once per cart.
    with db.session() as session:
        add_item(session, MERCHANT, SHOPPER, "STOVE-GAS", 1)
        session.execute(update(Cart).values(updated_at=clock.now))
    clock.advance(hours=2)
    assert w.run_once()["reminders_queued"] == 0
    assert len(outbox.emails) == 1 and len(reminder_rows(db)) == 1
    mail = outbox.emails[0]
    assert mail.to == EMAIL
    assert "Nordvik Alp 2 Trekking Tent (Forest Green): 249.00 EUR" in mail.body
    assert "Subtotal: 288.80 EUR" in mail.body
    assert re.search(r"https://shop\.example/v1/cart/restore/[\w-]{20,}\?merchant=shop1", mail.body)
    assert reminder_rows(db)[0].status == "sent"


def test_no_reminder_without_contact_consent_or_when_switched_off(
    tasks: ReminderTasks, shopper_store: Database, outbox: Outbox, clock: Clock
) -> None:
    left_cart(shopper_store, consent=False)
    clock.advance(hours=1)
    assert worker(tasks, clock).run_once()["reminders_queued"] == 0
    off = ReminderTasks(
        tasks.settings.model_copy(update={"cart_reminder_minutes": 0}), shopper_store, tasks.client, outbox
    )
    left_cart(shopper_store, "cart-shopper-0000000002")
    assert off.produce(clock.now + timedelta(hours=1)) == {"reminders_queued": 0}
    assert outbox.emails == [] and reminder_rows(shopper_store) == []


def test_a_worker_crash_between_claim_and_send_neither_loses_nor_duplicates(
    tasks: ReminderTasks, shopper_store: Database, outbox: Outbox, clock: Clock
) -> None:
    db = shopper_store
    left_cart(db)
    clock.advance(minutes=31)
    assert tasks.produce(clock.now) == {"reminders_queued": 1}
    crashed = reminders.claim_due(db, clock.now)  # this worker dies before sending
    assert len(crashed) == 1
    assert reminders.claim_due(db, clock.now) == []  # claimed: nobody else takes it meanwhile
    clock.advance(minutes=1)
    assert tasks.send(clock.now)["reminders_sent"] == 0  # the lease still holds
    clock.advance(seconds=reminders.LEASE.total_seconds())
    assert tasks.send(clock.now)["reminders_sent"] == 1  # the lease ran out: sent, once
    assert len(outbox.emails) == 1
    assert reminders.ack(db, crashed[0], clock.now) is False  # the dead worker's claim is void
    clock.advance(hours=1)
    assert tasks.send(clock.now)["reminders_sent"] == 0
    row = reminder_rows(db)[0]
    assert row.status == "sent" and row.attempts == 2
    assert outbox.emails[0].message_id == crashed[0].message_id  # the same message id on every attempt


def test_a_failed_send_is_retried_with_backoff_then_given_up(
    tasks: ReminderTasks, shopper_store: Database, outbox: Outbox, clock: Clock
) -> None:
    db = shopper_store
    left_cart(db)
    clock.advance(minutes=31)
    tasks.produce(clock.now)
    outbox.fail = 1
    assert tasks.send(clock.now)["reminders_retrying"] == 1
    assert tasks.send(clock.now)["reminders_sent"] == 0  # waiting for the backoff
    clock.advance(minutes=1)
    assert tasks.send(clock.now)["reminders_sent"] == 1
    assert len(outbox.emails) == 1

    left_cart(db, "cart-shopper-0000000003")
    clock.advance(minutes=31)
    tasks.produce(clock.now)
    outbox.fail = reminders.MAX_ATTEMPTS
    failed = 0
    for _ in range(reminders.MAX_ATTEMPTS):
        failed += tasks.send(clock.now)["reminders_failed"]
        clock.advance(hours=1)
    assert failed == 1 and len(outbox.emails) == 1
    last = next(r for r in reminder_rows(db) if r.session_id == "cart-shopper-0000000003")
    assert last.status == "failed" and "451" in last.last_error


def test_a_cart_bought_or_emptied_before_sending_is_not_reminded(
    tasks: ReminderTasks, shopper_store: Database, outbox: Outbox, clock: Clock
) -> None:
    db = shopper_store
    left_cart(db)
    clock.advance(minutes=31)
    tasks.produce(clock.now)
    with db.session() as session:
        clear_cart(session, MERCHANT, SHOPPER)
    assert tasks.send(clock.now)["reminders_sent"] == 0
    assert outbox.emails == [] and reminder_rows(db)[0].status == "cancelled"


def test_a_channel_conversation_is_reminded_on_its_channel(
    tasks: ReminderTasks, shopper_store: Database, outbox: Outbox, clock: Clock
) -> None:
    db = shopper_store
    shopper = open_session(db, MERCHANT, "telegram", "4242", "lt", seen_at=clock.now)
    with db.session() as session:
        add_item(session, MERCHANT, shopper.session_id, "BAG-DOWN-5", 1)
        shoppers.allow_contact(session, MERCHANT, shopper.session_id, "telegram", "", "lt")
    channel = FakeChannel()
    tasks.channels["telegram"] = channel  # type: ignore[assignment]
    clock.advance(minutes=31)
    counts = worker(tasks, clock).run_once()
    assert counts["reminders_sent"] == 1 and outbox.emails == []
    recipient, outgoing, context = channel.sent[0]
    assert recipient == "4242"
    assert "Krepšelyje" in outgoing.text and "189.00 EUR" in outgoing.text
    assert "/v1/cart/restore/" in outgoing.text
    assert context.last_inbound_at is not None


def test_two_producers_write_one_reminder(
    tasks: ReminderTasks, shopper_store: Database, clock: Clock
) -> None:
    left_cart(shopper_store)
    later = clock.now + timedelta(minutes=31)
    assert reminders.produce(shopper_store, tasks.settings, later) == 1
    assert reminders.produce(shopper_store, tasks.settings, later) == 0
    assert len(reminder_rows(shopper_store)) == 1


# -- the link back -----------------------------------------------------------------------------
@pytest.fixture
def client(
    remind_settings: Settings, shopper_store: Database, retriever: KeywordRetriever
) -> Iterator[TestClient]:
    from tests.server.conftest import server_settings

    agent = Agent(server_settings(remind_settings), shopper_store, retriever, ScriptedModel(), TestProvider())
    yield from serve(server_settings(remind_settings), agent)


def _link_token(outbox: Outbox) -> str:
    match = re.search(r"/v1/cart/restore/([\w-]+)", outbox.emails[0].body)
    assert match is not None
    return match.group(1)


def test_the_link_restores_the_cart_into_the_browser(
    client: TestClient, tasks: ReminderTasks, shopper_store: Database, outbox: Outbox, clock: Clock
) -> None:
    left_cart(shopper_store)
    clock.advance(minutes=31)
    worker(tasks, clock).run_once()
    token = _link_token(outbox)
    opened = client.get(f"/v1/cart/restore/{token}?merchant={MERCHANT}", follow_redirects=False)
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/?merchant={MERCHANT}"
    cart = client.get("/v1/cart").json()
    assert {(line["sku"], line["quantity"]) for line in cart["lines"]} == {
        ("TENT-ALP2-GRN", 1),
        ("SOCK-HIKE-M", 2),
    }
    assert client.get("/v1/cart").headers["X-Session-Id"] != SHOPPER  # a session of its own
    again = client.get(f"/v1/cart/restore/{token}?merchant={MERCHANT}", follow_redirects=False)
    assert again.status_code == 303
    assert sum(line["quantity"] for line in client.get("/v1/cart").json()["lines"]) == 3  # not doubled


def test_an_unknown_or_expired_link_is_refused(
    client: TestClient, tasks: ReminderTasks, shopper_store: Database, outbox: Outbox, clock: Clock
) -> None:
    assert client.get("/v1/cart/restore/" + "x" * 32, follow_redirects=False).status_code == 404
    left_cart(shopper_store)
    clock.advance(minutes=31)
    worker(tasks, clock).run_once()
    token = _link_token(outbox)
    with shopper_store.session() as session:
        session.execute(update(CartReminder).values(link_expires_at=utcnow() - timedelta(minutes=1)))
    response = client.get(f"/v1/cart/restore/{token}", follow_redirects=False)
    assert response.status_code == 404
    assert "expired" in response.json()["detail"]
    assert client.get("/v1/cart").json()["lines"] == []
