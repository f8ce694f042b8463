"""End-of-conversation ratings: stored with the conversation (HTTP and agent tool) and the
merchant's aggregates per day and per language."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from agent.fakes import ScriptedModel, call
from agent.service import Agent
from agent.state import load_or_create
from shop.db import Database
from shop.models import Feedback, utcnow
from shop.payments import TestProvider
from shop.settings import Settings
from tests.conftest import MERCHANT, KeywordRetriever
from tests.retention.conftest import MakeAgent, serve
from tests.server.conftest import bearer


@pytest.fixture
def model() -> ScriptedModel:
    return ScriptedModel()


@pytest.fixture
def client(
    app_settings: Settings, shopper_store: Database, retriever: KeywordRetriever, model: ScriptedModel
) -> Iterator[TestClient]:
    yield from serve(app_settings, Agent(app_settings, shopper_store, retriever, model, TestProvider()))


def conversation_ratings(db: Database) -> list[Feedback]:
    with db.session() as session:
        return list(session.scalars(select(Feedback).where(Feedback.message_index == -1)))


def test_rating_is_stored_with_the_conversation_and_its_language(
    client: TestClient, model: ScriptedModel, shopper_store: Database
) -> None:
    model.push("Labas! Kuo galiu padėti?")
    sid = client.post("/v1/chat", json={"message": "Laba diena, ieškau palapinės dviem"}).json()["session_id"]
    rated = client.post("/v1/rating", json={"rating": 5, "comment": "  Labai padėjo  "})
    assert rated.status_code == 201
    assert rated.json() == {"rating": 5, "lang": "lt"}
    again = client.post("/v1/rating", json={"rating": 3})  # a second rating replaces the first
    assert again.status_code == 201
    rows = conversation_ratings(shopper_store)
    assert [(r.session_id, r.rating, r.comment, r.lang) for r in rows] == [(sid, 3, "", "lt")]


@pytest.mark.parametrize("rating", [0, 6, -1, "five"])
def test_ratings_outside_one_to_five_are_refused(client: TestClient, rating: object) -> None:
    assert client.post("/v1/rating", json={"rating": rating}).status_code == 422


def test_the_agent_records_a_rating_given_in_the_chat(make_agent: MakeAgent, shopper_store: Database) -> None:
    agent = make_agent(
        call("rate_conversation", rating=4, comment="quick answers"),
        "Thank you for the rating!",
        call("rate_conversation", rating=9),
        "Please give a number from 1 to 5.",
    )
    first = agent.turn(MERCHANT, None, "I'd give you 4 stars, quick answers")
    assert first.tool_calls[0].result == {"rated": 4, "note": "Thank the shopper briefly."}
    wrong = agent.turn(MERCHANT, first.session_id, "9 stars!")
    assert "rating" in (wrong.tool_calls[0].error or "")
    rows = conversation_ratings(shopper_store)
    assert [(r.rating, r.comment, r.lang) for r in rows] == [(4, "quick answers", "en")]


def _seed(db: Database) -> None:
    today = utcnow().replace(hour=12, minute=0, second=0, microsecond=0)
    yesterday = today - timedelta(days=1)
    with db.session() as session:
        for sid, lang, rating, at in [
            ("s1", "en", 5, today),
            ("s2", "en", 4, today),
            ("s3", "lt", 2, today),
            ("s4", "lt", 5, yesterday),
            ("s5", "", 1, yesterday),
            ("s6", "en", 5, today - timedelta(days=40)),  # outside the window
        ]:
            session.add(
                Feedback(
                    merchant_id=MERCHANT,
                    session_id=sid,
                    message_index=-1,
                    rating=rating,
                    lang=lang,
                    created_at=at,
                )
            )
        # Thumbs on replies and another store's ratings are not conversation ratings of this store.
        session.add(
            Feedback(
                merchant_id=MERCHANT, session_id="s1", message_index=2, rating=1, lang="en", created_at=today
            )
        )
        session.add(
            Feedback(
                merchant_id=MERCHANT,
                session_id="s7",
                message_index=-1,
                rating=-1,
                lang="en",
                created_at=today,
            )
        )
        session.add(
            Feedback(
                merchant_id="other", session_id="s8", message_index=-1, rating=1, lang="en", created_at=today
            )
        )


def test_merchant_aggregates_per_day_and_language(
    client: TestClient, shopper_store: Database, keys: dict[str, str]
) -> None:
    _seed(shopper_store)
    response = client.get(f"/v1/merchants/{MERCHANT}/ratings?days=7", headers=bearer(keys[MERCHANT]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["overall"] == {
        "count": 5,
        "mean": 3.4,
        "distribution": {"1": 1, "2": 1, "3": 0, "4": 1, "5": 2},
    }
    today = utcnow().date().isoformat()
    yesterday = (utcnow() - timedelta(days=1)).date().isoformat()
    assert [(d["day"], d["count"], d["mean"]) for d in body["by_day"]] == [
        (yesterday, 2, 3.0),
        (today, 3, 3.67),
    ]
    by_lang = {row["lang"]: row for row in body["by_lang"]}
    assert set(by_lang) == {"en", "lt", "unknown"}
    assert by_lang["en"]["count"] == 2 and by_lang["en"]["mean"] == 4.5
    assert by_lang["lt"]["distribution"] == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}
    wide = client.get(f"/v1/merchants/{MERCHANT}/ratings?days=60", headers=bearer(keys[MERCHANT])).json()
    assert wide["overall"]["count"] == 6


def test_rating_aggregates_need_the_merchants_key(client: TestClient, keys: dict[str, str]) -> None:
    assert client.get(f"/v1/merchants/{MERCHANT}/ratings").status_code == 401
    assert client.get(f"/v1/merchants/{MERCHANT}/ratings", headers=bearer(keys["other"])).status_code == 403
    assert (
        client.get(f"/v1/merchants/{MERCHANT}/ratings?days=0", headers=bearer(keys[MERCHANT])).status_code
        == 422
    )


def test_a_rating_needs_a_conversation_of_this_store(shopper_store: Database) -> None:
    from shop import ratings
    from shop.errors import NotFound

    load_or_create(shopper_store, "other", "other-session-00000001")
    with shopper_store.session() as session, pytest.raises(NotFound):
        ratings.rate(session, MERCHANT, "other-session-00000001", 5)
