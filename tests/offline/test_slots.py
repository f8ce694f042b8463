"""Slots per language: prices (digits and number words), quantities, positions, ids, emails."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from agent.offline.languages import get_pack
from agent.offline.slots import extract

# (lang, message, expected slot values)
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("en", "I need a tent under 300 euros", {"max_price": "300", "query": "tent"}),
    ("en", "tents under two hundred fifty", {"max_price": "250"}),
    ("en", "boots between 100 and 200 EUR, size 43", {"min_price": "100", "max_price": "200", "size": "43"}),
    ("en", "sleeping bag over 150", {"min_price": "150", "max_price": None}),
    ("en", "stove around 40", {"min_price": "30", "max_price": "50"}),
    ("en", "jacket for €89.90 or less", {"max_price": "89.90"}),
    ("en", "add 2 of the first one", {"quantity": 2, "ordinals": [1]}),
    ("en", "change the quantity to three", {"quantity": 3}),
    ("en", "Change the hiking socks to 3.", {"loose": 3}),  # a full stop ends the sentence, not a decimal
    ("en", "socks: 3.5 out of 5", {"loose": 5}),
    ("en", "tell me more about the second one", {"ordinals": [2], "quantity": None}),
    ("en", "compare the first and the last", {"ordinals": [1, -1]}),
    ("en", "the cheapest one please", {"superlative": "cheapest"}),
    ("en", "something cheaper in green", {"cheaper": True, "colors": ["green"]}),
    ("en", "in stock tents", {"in_stock": True}),
    ("en", "checkout with express shipping", {"express": True}),
    (
        "en",
        "where is order A1001? my email is ruta@example.com",
        {"order_ids": ["A1001"], "emails": ["ruta@example.com"]},
    ),
    ("en", "status of #SA-7F3A9C21B0", {"order_ids": ["SA-7F3A9C21B0"]}),
    ("en", "add TENT-ALP2-GRN", {"codes": ["TENT-ALP2-GRN"], "order_ids": []}),
    ("en", "empty my cart", {"clear": True}),
    ("lt", "Ar turite palapinių iki 200 eurų?", {"max_price": "200", "query": "palapinių"}),
    ("lt", "palapinė iki dviejų šimtų eurų", {"max_price": "200"}),
    ("lt", "100 eurų palapinė", {"max_price": "100"}),
    ("lt", "miegmaišis nuo 100 iki 200 eur", {"min_price": "100", "max_price": "200"}),
    ("lt", "papasakok daugiau apie antrą", {"ordinals": [2]}),
    ("lt", "pridėk tris antrus", {"quantity": 3, "ordinals": [2]}),
    ("lt", "pakeisk kiekį į 4", {"quantity": 4}),
    ("lt", "batai, 43 dydis", {"size": "43"}),
    (
        "lt",
        "kur užsakymas A1003? el. paštas li@example.cn",
        {"order_ids": ["A1003"], "emails": ["li@example.cn"]},
    ),
    ("tr", "iki yüz liradan ucuz çadır", {"max_price": "200", "query": "çadır"}),
    ("tr", "100 euronun altında uyku tulumu", {"max_price": "100"}),
    ("tr", "yüz elliden ucuz", {"max_price": "150"}),
    ("tr", "50 ile 100 arası mont", {"min_price": "50", "max_price": "100"}),
    ("tr", "ikinciyi sepete ekle", {"ordinals": [2]}),
    ("tr", "2 tane ekle", {"quantity": 2}),
    ("tr", "onu istiyorum", {"quantity": None, "max_price": None}),
    ("tr", "en ucuzunu al", {"superlative": "cheapest"}),
    (
        "tr",
        "siparişim A1001 nerede, email ruta@example.com",
        {"order_ids": ["A1001"], "emails": ["ruta@example.com"]},
    ),
    ("ar", "أقل من 100", {"max_price": "100"}),
    ("ar", "أريد خيمة بأقل من مئتي يورو", {"max_price": "200", "query": "خيمة"}),
    ("ar", "خيمة بين ٥٠ و ١٠٠ يورو", {"min_price": "50", "max_price": "100"}),
    ("ar", "أقل من مئة وخمسين يورو", {"max_price": "150"}),
    ("ar", "أضف الثاني إلى السلة", {"ordinals": [2]}),
    ("ar", "أضف قطعتين", {"quantity": 2}),
    ("ar", "أين طلبي A1003؟ li@example.cn", {"order_ids": ["A1003"], "emails": ["li@example.cn"]}),
    ("zh", "低于100欧元", {"max_price": "100"}),
    ("zh", "我想买一顶帐篷，预算两百欧", {"max_price": "200"}),
    ("zh", "一百五十块以下的睡袋", {"max_price": "150"}),
    ("zh", "睡袋100到200欧之间", {"min_price": "100", "max_price": "200"}),
    ("zh", "第二个多重？", {"ordinals": [2], "quantity": None}),
    ("zh", "把第一个加入购物车，要两个", {"ordinals": [1], "quantity": 2}),
    ("zh", "最便宜的那个", {"superlative": "cheapest"}),
    ("zh", "订单A1001在哪？邮箱li@example.cn", {"order_ids": ["A1001"], "emails": ["li@example.cn"]}),
]


@pytest.mark.parametrize(("lang", "text", "expected"), CASES)
def test_slots(lang: str, text: str, expected: dict[str, Any]) -> None:
    slots = extract(text, get_pack(lang), known_skus={"TENT-ALP2-GRN"})
    for name, want in expected.items():
        got = getattr(slots, name)
        if name in ("min_price", "max_price"):
            assert got == (Decimal(want) if want is not None else None), (name, text)
        else:
            assert got == want, (name, text)


def test_known_skus_are_codes_and_other_ids_are_orders() -> None:
    slots = extract("is TENT-ALP2-GRN in order A1001?", get_pack("en"), known_skus={"TENT-ALP2-GRN"})
    assert slots.codes == ["TENT-ALP2-GRN"]
    assert slots.order_ids == ["A1001"]


def test_an_order_id_is_not_read_as_a_price_or_quantity() -> None:
    slots = extract("add order A1001 to 300", get_pack("en"))
    assert slots.order_ids == ["A1001"]
    assert slots.quantity is None


def test_a_message_of_only_an_email_leaves_no_residue() -> None:
    assert extract("ruta@example.com", get_pack("lt")).residue == ""
