"""The widget in real headless Chromium (Debian's package, driven by Playwright; no browser download).

A uvicorn server on a free loopback port serves the demo page with the deterministic
``shop_brain`` model. The test asks for a product, sees a card, adds it to the cart,
checks out and confirms; then the Arabic page is checked for right-to-left layout.
Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select

from agent.service import Agent
from server import create_app
from shop.db import Database
from shop.models import Order
from shop.settings import Settings
from tests.server.conftest import server_settings

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        shutil.which(CHROMIUM) is None,
        reason=f"Chromium is not installed at {CHROMIUM} (Debian: apt-get install -y chromium)",
    ),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Servers:
    store: str
    """The shopagent server."""
    other_site: str
    """Another origin on loopback, allowed by the store's CORS list, where a shop page embeds the widget."""


@pytest.fixture
def live_server(app_settings: Settings, agent: Agent) -> Iterator[Servers]:
    port, other_port = _free_port(), _free_port()
    other_site = f"http://127.0.0.1:{other_port}"
    allowed = server_settings(app_settings, cors_origins=[other_site])
    config = uvicorn.Config(
        create_app(allowed, agent), host="127.0.0.1", port=port, log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    store = f"http://127.0.0.1:{port}"
    shop_page = (
        "<!doctype html><html lang='lt'><head><meta charset='utf-8'><title>Shop</title></head><body>"
        f"<h1>Kita parduotuvė</h1><script src='{store}/widget.js' data-merchant='shop1' defer></script>"
        "</body></html>"
    ).encode()

    class ShopPage(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(shop_page)))
            self.end_headers()
            self.wfile.write(shop_page)

        def log_message(self, *_args: Any) -> None:
            return None

    other = ThreadingHTTPServer(("127.0.0.1", other_port), ShopPage)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    yield Servers(store, other_site)
    other.shutdown()
    other.server_close()
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield instance
        instance.close()


def test_shopper_finds_adds_and_orders_in_english(live_server: Servers, browser: Any, db: Database) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1180, "height": 900}, locale="en-US")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_server.store + "/?lang=en")

    widget = page.locator(".sa-widget")
    assert widget.get_attribute("dir") == "ltr"
    page.get_by_label("Message").fill("Do you have a tent for two?")
    page.keyboard.press("Enter")
    card = page.locator(".sa-card", has_text="Kestrel Trail 3 Tent")
    card.wait_for(timeout=15_000)
    assert "199.00" in card.inner_text()
    assert card.locator("img").get_attribute("src", timeout=1000).endswith("/static/demo/tents.svg")
    assert page.locator(".sa-assistant .sa-text").last.inner_text().startswith("I found:")

    card.get_by_role("button", name="Add to cart").click()
    page.locator(".sa-cart-line", has_text="Kestrel Trail 3 Tent").wait_for(timeout=5000)
    page.get_by_role("button", name="Checkout").click()
    page.get_by_label("Email").fill("ruta@example.com")
    page.get_by_label("Full name").fill("Ruta K")
    page.get_by_label("Street address").fill("Gedimino pr. 1")
    page.get_by_label("City").fill("Vilnius")
    page.get_by_label("Postal code").fill("01103")
    page.get_by_label("Country code (e.g. LT)").fill("LT")
    page.get_by_role("button", name="Review order").click()
    summary = page.locator(".sa-checkout")
    summary.get_by_text("Order summary").wait_for(timeout=5000)
    assert "199.00" in summary.inner_text()
    summary.get_by_role("button", name="Confirm and place order").click()
    placed = page.locator(".sa-placed")
    placed.wait_for(timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "widget-en-ltr.png"), full_page=True)

    order_id = placed.inner_text().split()[1]
    with db.read_session() as session:
        order = session.scalar(select(Order).where(Order.order_id == order_id))
        assert order is not None and order.total_minor == 19900 and order.email == "ruta@example.com"
    assert page.locator(".sa-cart-empty").is_visible()
    assert errors == []


def test_arabic_page_is_right_to_left_with_arabic_labels(live_server: Servers, browser: Any) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1180, "height": 900}, locale="ar")
    page.goto(live_server.store + "/?lang=ar")
    widget = page.locator(".sa-widget")
    assert widget.get_attribute("dir") == "rtl" and widget.get_attribute("lang") == "ar"
    page.get_by_label("رسالة").fill("أرني الخيام من فضلك")
    page.get_by_role("button", name="إرسال").click()
    card = page.locator(".sa-card", has_text="Kestrel Trail 3 Tent")
    card.wait_for(timeout=15_000)
    assert card.get_by_role("button", name="أضف إلى السلة").is_visible()
    # Right to left: the side panel (cart) sits to the left of the conversation.
    chat_box = page.locator(".sa-chat").bounding_box()
    side_box = page.locator(".sa-side").bounding_box()
    assert side_box["x"] < chat_box["x"]
    page.keyboard.press("Tab")  # keyboard focus moves within the widget
    page.screenshot(path=str(ARTIFACTS / "widget-ar-rtl.png"), full_page=True)


def test_model_text_is_shown_as_text_not_html(live_server: Servers, browser: Any) -> None:
    page = browser.new_page()
    page.goto(live_server.store + "/")
    page.get_by_label("Message").fill('<img src=x onerror="window.pwned=1"> tent')
    page.keyboard.press("Enter")
    page.locator(".sa-card").first.wait_for(timeout=15_000)
    user_bubble = page.locator(".sa-user .sa-text").last
    assert user_bubble.inner_text().startswith("<img src=x")
    assert page.locator(".sa-text img").count() == 0
    assert page.evaluate("window.pwned === undefined")


def test_widget_embedded_on_another_site(live_server: Servers, browser: Any) -> None:
    """One script tag on a page of another origin: a launcher opens the widget, which talks to
    the store's server across origins (CORS allowlist) and keeps its session with a header."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_server.other_site + "/")
    launcher = page.get_by_role("button", name="Klauskite asistento")  # Lithuanian, from <html lang>
    assert launcher.get_attribute("aria-expanded") == "false"
    launcher.click()
    assert launcher.get_attribute("aria-expanded") == "true"
    page.get_by_label("Žinutė").fill("palapinė")
    page.keyboard.press("Enter")
    card = page.locator(".sa-card", has_text="Kestrel Trail 3 Tent")
    card.wait_for(timeout=15_000)
    card.get_by_role("button", name="Į krepšelį").click()
    page.locator(".sa-cart-line", has_text="Kestrel Trail 3 Tent").wait_for(timeout=5000)
    stored = page.evaluate("window.sessionStorage.getItem('shopagent.session.shop1')")
    assert stored and len(stored) >= 32  # cross-site: the session travels in X-Session-Id, not a cookie
    page.keyboard.press("Escape")
    assert launcher.get_attribute("aria-expanded") == "false"
    assert errors == []


def test_a_person_from_the_store_answers_in_the_widget(
    live_server: Servers, browser: Any, db: Database
) -> None:
    import httpx

    from api.keys import create_api_key
    from api.sessions import cookie_name
    from tests.conftest import MERCHANT

    page = browser.new_page()
    page.goto(live_server.store + "/")
    page.get_by_label("Message").fill("hello")
    page.keyboard.press("Enter")
    page.locator(".sa-feedback").first.wait_for(timeout=15_000)  # the first turn has finished
    # The browser's own session, from its cookie (the page may have opened more than one row).
    [sid] = [c["value"] for c in page.context.cookies() if c["name"] == cookie_name(MERCHANT)]
    auth = {"Authorization": f"Bearer {create_api_key(db, MERCHANT).key}"}
    base = f"{live_server.store}/v1/merchants/{MERCHANT}/conversations/{sid}"
    assert httpx.post(f"{base}/takeover", headers=auth).status_code == 200

    page.get_by_label("Message").fill("is a person there?")
    page.keyboard.press("Enter")
    page.locator(".sa-note").last.wait_for(timeout=15_000)
    assert httpx.post(f"{base}/replies", headers=auth, json={"text": "Yes, Jonas here."}).status_code == 200
    person = page.locator(".sa-person .sa-text").last
    person.wait_for(timeout=15_000)
    assert person.inner_text() == "Yes, Jonas here."
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget-person-reply.png"))


def test_a_message_sent_while_the_page_loads_stays_in_one_session(live_server: Servers, browser: Any) -> None:
    """The first request names the session; a message typed before its answer waits for it."""
    page = browser.new_page()
    sessions: set[str] = set()

    def note(response: Any) -> None:
        cookie = response.header_value("set-cookie") or ""
        if "shopagent_session_" in cookie:
            sessions.add(cookie.split("=", 1)[1].split(";", 1)[0])

    def slow_cart(route: Any) -> None:
        time.sleep(1.5)  # the page's first request is still under way when the shopper sends
        route.continue_()

    page.on("response", note)
    page.route("**/v1/store", slow_cart)
    page.goto(live_server.store + "/")
    page.get_by_label("Message").fill("tent")
    page.keyboard.press("Enter")
    card = page.locator(".sa-card", has_text="Kestrel Trail 3 Tent")
    card.wait_for(timeout=15_000)
    card.get_by_role("button", name="Add to cart").click()
    page.locator(".sa-cart-line", has_text="Kestrel Trail 3 Tent").wait_for(timeout=5000)
    assert len(sessions) == 1, sessions
