"""Facts a reply states, checked against what the conversation's tool results showed.

Four kinds of claim are read from a reply: prices (money in the shapes shops and locales
write it), product ids and order ids, stock (counts left, and "in stock" / "sold out"
said of a product that was shown), and policy numbers (days, weeks, hours, percentages,
in the supported languages). A claim is supported when its value appears in a tool result
of the conversation (prices also times a quantity up to 10); ids and policy numbers may also
come from the shopper's own words, prices never (a shopper saying "it costs 1 EUR now" does
not make it so). The rest come back with a reason, for the reply check to correct.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from agent.llm import Message
from agent.toolkit import DATA_LABEL

Kind = Literal["price", "id", "stock", "policy"]
PRICE_MULTIPLES = range(2, 11)

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹٫٬", "01234567890123456789.,")
_NUMBER = r"\d{1,3}(?:[,.\u00a0 ]\d{3})+(?:[.,]\d{1,2})?(?!\d)|\d+(?:[.,]\d{1,2})?(?!\d)"
_CURRENCY = (
    r"€|\$|£|¥|₺|TL|EUR|USD|GBP|TRY|CNY|RMB|euros?|eurų|eurai|eurus|eurą|avro|欧元|يورو|ليرة|lira|dollars?|元"
)
_MONEY = re.compile(
    rf"(?<![0-9A-Za-z.,])(?:(?:{_CURRENCY})\s?(?P<a>{_NUMBER})|(?P<b>{_NUMBER})\s?(?:{_CURRENCY})(?![a-zA-Z])"
    rf"|(?P<c>\d+[.,]\d{{2}})(?![\d%]|[.,]\d|\s?(?:kg|g\b|mm|cm|km|ml|l\b|m\b|mah|w\b)))",
    re.IGNORECASE,
)
_UNITS = (
    r"(?:business |working |calendar )?(?:days?|weeks?|months?|years?|hours?|hrs?|minutes?|%|percent|"
    r"darbo dien\w*|dien\w*|savait\w*|mėnes\w*|metų|metus|valand\w*|val\.?|iş günü|gün|hafta|ay|yıl|saat|"
    r"يوم\w*|أيام|ايام|ساعة|ساعات|أسبوع\w*|أسابيع|شهر|أشهر|سنة|سنوات|"
    r"个?工作日|天|日|周|个月|月|年|小时|％)"
)
_POLICY_NUMBER = re.compile(
    rf"(?<![0-9A-Za-z.,-])(?P<n>\d+(?:[.,]\d+)?)\s?(?:-\s?)?{_UNITS}(?![a-zA-Z])", re.IGNORECASE
)
_WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "fourteen": 14, "fifteen": 15, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "ninety": 90,
}  # fmt: skip
_WORD_POLICY = re.compile(
    r"\b(?P<w>(?:twenty|thirty|forty|fifty|sixty|ninety)(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?"
    r"|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fourteen|fifteen)"
    r"[- ](?:business |working |calendar )?(?:days?|weeks?|months?|years?|hours?)\b",
    re.IGNORECASE,
)
_SKU = re.compile(r"(?<![\w-])[A-Z][A-Z0-9]+(?:-[A-Z0-9]+)+(?![\w-])")
_ORDER = re.compile(r"(?<![\w-])[A-Z]{1,3}\d{3,}(?![\w-])")
_LEFT = re.compile(
    r"(?:only|just|liko|tik|yalnızca|sadece|仅剩|只剩|فقط)\s*(?P<n>\d+)|(?P<m>\d+)\s*(?:left|in stock|units? left|vnt|adet|件)",
    re.IGNORECASE,
)
_SOLD_OUT = re.compile(
    r"out of stock|sold out|not (?:currently )?(?:in stock|available)|unavailable|no longer available|"
    r"išparduot|nėra sandėly|neturime|tükendi|stokta yok|mevcut değil|غير متوفر|نفد|缺货|售罄|无货|没有库存",
    re.IGNORECASE,
)
_IN_STOCK = re.compile(
    r"in stock|available|sandėlyje|turime|stokta|mevcut|متوفر|有货|现货|有库存", re.IGNORECASE
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|(?<=[。！？؟\n])\s*")


@dataclass(frozen=True)
class Claim:
    kind: Kind
    text: str
    """The claim as the reply wrote it."""
    sentence: str
    reason: str


@dataclass
class Evidence:
    """What the conversation showed: tool results (and the shopper's words, for numbers)."""

    text: str = ""
    numbers: set[Decimal] = field(default_factory=set)
    """Numbers of the tool results (and store prices times a quantity)."""
    shopper_numbers: set[Decimal] = field(default_factory=set)
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    """sku -> the latest record a tool result gave for it (title, in_stock)."""

    @classmethod
    def of(cls, history: Iterable[Message], extra: Iterable[Any] = ()) -> Evidence:
        evidence = cls()
        for message in history:
            if message.role == "tool" and not message.content.startswith('{"error"'):
                evidence.add_result(message.content.removeprefix(DATA_LABEL))
            elif message.role == "user":
                evidence.text += "\n" + message.content.lower()
                evidence.shopper_numbers |= numbers_in(message.content)
        for result in extra:
            evidence.add_result(result)
        return evidence

    def add_result(self, result: Any) -> None:
        data = result
        if isinstance(result, str):
            try:
                data = json.loads(result)
            except json.JSONDecodeError:
                data = result
        text = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False, default=str)
        self.text += "\n" + text.lower()
        self.numbers |= numbers_in(text)
        self._walk(data)

    def _walk(self, value: Any) -> None:
        if isinstance(value, dict):
            sku = value.get("sku", value.get("id"))
            if isinstance(sku, str) and "title" in value:
                self.products[sku] = value
            for key, item in value.items():
                if "price" in str(key).lower() or key in ("line_total", "subtotal", "total"):
                    for price in parse_number(str(item)):
                        self.numbers |= {price * k for k in PRICE_MULTIPLES}
                self._walk(item)
        elif isinstance(value, list):
            for item in value:
                self._walk(item)


def parse_number(text: str) -> set[Decimal]:
    """Every value a written number can mean (``1,500`` is 1500 or 1.5)."""
    text = text.translate(_DIGITS).replace("\u00a0", "").replace(" ", "").strip()
    readings: set[str] = set()
    if "," in text and "." in text:
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
        readings.add(text.replace("." if decimal == "," else ",", "").replace(decimal, "."))
    elif "," in text or "." in text:
        sep = "," if "," in text else "."
        head, _, tail = text.rpartition(sep)
        readings.add(text.replace(sep, "") if text.count(sep) > 1 else f"{head}.{tail}")
        if len(tail) == 3 and text.count(sep) == 1:
            readings.add(head + tail)
    else:
        readings.add(text)
    values: set[Decimal] = set()
    for reading in readings:
        try:
            values.add(Decimal(reading).quantize(Decimal("0.01")))
        except InvalidOperation:
            continue
    return values


def says_sold_out(text: str) -> bool:
    """Does ``text`` say, in any supported language, that something is sold out?"""
    return bool(_SOLD_OUT.search(text))


def numbers_in(text: str) -> set[Decimal]:
    values: set[Decimal] = set()
    for match in re.finditer(_NUMBER, text.translate(_DIGITS)):
        values |= parse_number(match.group(0))
    return values


def _word_number(words: str) -> Decimal | None:
    parts = re.split(r"[- ]", words.lower())
    total = sum(_WORD_NUMBERS.get(p, 0) for p in parts)
    return Decimal(total).quantize(Decimal("0.01")) if total else None


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(text) if s.strip()]


def _stock_claims(sentence: str, evidence: Evidence) -> list[Claim]:
    out: list[Claim] = []
    lowered = sentence.lower()
    for match in _LEFT.finditer(sentence):
        count = match.group("n") or match.group("m")
        if count and not parse_number(count) & evidence.numbers:
            out.append(Claim("stock", match.group(0), sentence, f"no tool result says {match.group(0)!r}"))
    for sku, record in evidence.products.items():
        title = str(record.get("title", "")).lower()
        base = re.sub(r"\s*\([^)]*\)\s*$", "", title)
        named = sku.lower() in lowered or (len(base) >= 6 and base in lowered)
        stock = record.get("in_stock")
        if not named or not isinstance(stock, bool):
            continue
        sold_out = bool(_SOLD_OUT.search(sentence))
        if stock is False and not sold_out and _IN_STOCK.search(sentence):
            out.append(Claim("stock", record.get("title", sku), sentence, f"{sku} is sold out, not in stock"))
        elif stock is True and sold_out and len(evidence.products) == 1:
            out.append(Claim("stock", record.get("title", sku), sentence, f"{sku} is in stock, not sold out"))
    return out


def unsupported(reply: str, evidence: Evidence) -> list[Claim]:
    """The claims of ``reply`` that no tool result (or the shopper) supports."""
    problems: list[Claim] = []
    for sentence in _sentences(reply):
        plain = sentence.translate(_DIGITS)
        prices = list(_MONEY.finditer(plain))
        for match in prices:
            number = match.group("a") or match.group("b") or match.group("c")
            if not parse_number(number) & evidence.numbers:
                problems.append(
                    Claim("price", match.group(0).strip(), sentence, "no tool result has this price")
                )
        said = evidence.numbers | evidence.shopper_numbers
        for match in _POLICY_NUMBER.finditer(plain):
            if not parse_number(match.group("n")) & said:
                problems.append(Claim("policy", match.group(0), sentence, "no store document says this"))
        for match in _WORD_POLICY.finditer(plain):
            value = _word_number(match.group("w"))
            if value is not None and value not in said:
                problems.append(Claim("policy", match.group(0), sentence, "no store document says this"))
        for pattern in (_SKU, _ORDER):
            for match in pattern.finditer(sentence):
                if match.group(0).lower() not in evidence.text:
                    problems.append(Claim("id", match.group(0), sentence, "no tool result shows this id"))
        problems.extend(_stock_claims(sentence, evidence))
    return problems


def durations(text: str) -> list[str]:
    """The periods ``text`` states ("45 days", "14 dienų", "30天", "thirty days")."""
    plain = text.translate(_DIGITS)
    found = [m.group(0) for m in _POLICY_NUMBER.finditer(plain) if "%" not in m.group(0)]
    return found + [m.group(0) for m in _WORD_POLICY.finditer(plain)]


def without(reply: str, claims: list[Claim]) -> str:
    """``reply`` with every sentence that makes one of ``claims`` removed."""
    bad = {c.sentence for c in claims}
    return " ".join(s.strip() for s in _sentences(reply) if s not in bad).strip()


def describe(claims: list[Claim]) -> str:
    """The problems, one per line, for the model to correct."""
    seen = dict.fromkeys(f"- {c.text!r}: {c.reason}" for c in claims)
    return "\n".join(seen)
