"""Replies are grounded: every number the engine writes was in a tool result of the conversation."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from agent.events import TurnResult
from tests.offline.conftest import Chat

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")

CONVERSATIONS = [
    ["I need a tent under 300 euros", "tell me more about the second one", "add it to my cart",
     "add two Merino Hiking Socks (L)", "what's in my cart?", "checkout, ruta@example.com", "yes"],
    ["sleeping bags", "cheaper", "compare the first and the second", "add the cheapest one"],
    ["Ieškau palapinės iki 300 eurų", "papasakok apie antrą", "pridėk ją į krepšelį", "kiek kainuoja krepšelis?"],
    ["iki yüz liradan ucuz çadır", "birinciyi sepete ekle", "ödeme yapmak istiyorum, ruta@example.com", "evet"],
    ["أريد خيمة بأقل من 300 يورو", "أضف الأول إلى السلة", "كم يوما لدي لإرجاع المنتج؟"],
    ["我想买一顶300欧元以下的帐篷", "第一个多重？", "退货期限是几天？"],
    ["where is order A1001? ruta@example.com", "I want to return the tent from A1001, ruta@example.com", "yes"],
    ["cancel A1002, mehmet@example.org", "yes", "how much is shipping?"],
]  # fmt: skip


def numbers(text: str) -> set[Decimal]:
    return {Decimal(n.replace(",", ".")) for n in _NUMBER.findall(text)}


def seen(results: list[TurnResult]) -> set[Decimal]:
    found: set[Decimal] = set()
    for result in results:
        for call in result.tool_calls:
            found |= numbers(json.dumps([call.result, call.error], ensure_ascii=False))
    return found


@pytest.mark.parametrize("messages", CONVERSATIONS, ids=[c[0][:24] for c in CONVERSATIONS])
def test_every_number_in_a_reply_comes_from_a_tool_result(chat: Chat, messages: list[str]) -> None:
    history: list[TurnResult] = []
    for message in messages:
        result = chat(message)
        history.append(result)
        invented = numbers(result.reply) - seen(history)
        assert not invented, f"{message!r} -> {result.reply!r} names {sorted(invented)}"


def test_the_check_itself_catches_an_invented_price() -> None:
    assert numbers("The tent costs €1.00 today") - {Decimal("249.00")} == {Decimal("1.00")}
