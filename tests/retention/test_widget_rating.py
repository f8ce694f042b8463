"""The widget's end-of-conversation rating prompt in headless Chromium: shown in the shopper's
language once an order is placed, and the chosen stars are stored with the conversation."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from agent.service import Agent
from shop.db import Database
from shop.models import Feedback
from shop.settings import Settings
from tests.conftest import KeywordRetriever
from tests.server.conftest import make_agent, with_images
from tests.server.test_browser import Servers, browser, live_server, pytestmark  # noqa: F401

__all__ = ["browser", "live_server", "pytestmark"]


@pytest.fixture
def agent(app_settings: Settings, db: Database, retriever: KeywordRetriever) -> Agent:
    with_images(db)
    return make_agent(app_settings, db, retriever)


def test_rating_prompt_after_an_order_stores_the_stars(
    live_server: Servers, browser: Any, db: Database
) -> None:
    page = browser.new_page(viewport={"width": 1180, "height": 900}, locale="lt-LT")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Typed only once the page's first request has its session (a message sent while it is still on
    # its way would start a second session: the widget's known race, not what is tested here).
    with page.expect_response(lambda response: "/v1/cart" in response.url, timeout=10_000):
        page.goto(live_server.store + "/?lang=lt")
    page.get_by_label("Žinutė").fill("Ar turite palapinę dviem?")
    page.keyboard.press("Enter")
    card = page.locator(".sa-card", has_text="Kestrel Trail 3 Tent")
    card.wait_for(timeout=15_000)
    card.get_by_role("button", name="Į krepšelį").click()
    page.locator(".sa-cart-line", has_text="Kestrel Trail 3 Tent").wait_for(timeout=5000)
    page.get_by_role("button", name="Apmokėti").click()
    page.get_by_label("El. paštas").fill("ruta@example.com")
    page.get_by_label("Vardas ir pavardė").fill("Ruta K")
    page.get_by_label("Gatvė ir namo nr.").fill("Gedimino pr. 1")
    page.get_by_label("Miestas").fill("Vilnius")
    page.get_by_label("Pašto kodas").fill("01103")
    page.get_by_label("Šalies kodas (pvz. LT)").fill("LT")
    page.get_by_role("button", name="Peržiūrėti užsakymą").click()
    page.get_by_role("button", name="Patvirtinti ir užsakyti").click()
    page.locator(".sa-placed").wait_for(timeout=10_000)

    prompt = page.get_by_role("group", name="Kaip vertinate šį pokalbį?")
    prompt.wait_for(timeout=5000)
    prompt.get_by_role("button", name="4 iš 5").click()
    page.get_by_text("Ačiū už įvertinimą!").wait_for(timeout=5000)
    with db.read_session() as session:
        rows = session.scalars(select(Feedback).where(Feedback.message_index == -1)).all()
        assert [(r.rating, r.lang) for r in rows] == [(4, "lt")]
    assert errors == []
