"""Slots of a shopper message: prices, quantities, references to products, ids and emails.

Everything is read from the folded, number-normalized text (see :mod:`agent.offline.text`
and :mod:`agent.offline.numbers`); what was recognised is masked so that later patterns do
not read it twice (an order id's digits are not a quantity), and the leftover original
text, without filler words, becomes the search query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from agent.offline.languages import LanguagePack
from agent.offline.numbers import normalize_numbers
from agent.offline.text import Folded, cut

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Ids start with a letter and carry a digit: A1001, SA-7F3A9C21B0, TENT-ALP2-GRN, #A1001.
CODE = re.compile(r"(?<![A-Za-z0-9@._-])#?([A-Za-z][A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)*)(?![A-Za-z0-9@_-])")
_DIGIT = re.compile(r"\d")
_ORDER_WORDS = re.compile(
    r"(?:order|#|užsakym\w*|uzsakym\w*|sipariş\w*|siparis\w*|订单|طلب\w*|رقم)\s*(?:no\.?|nr\.?|number|numaras\w*|numeris)?\s*[:#]?\s*$",
    re.IGNORECASE,
)
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
MAX_QUANTITY = 99


@dataclass
class Slots:
    emails: list[str] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    """Other letter+digit codes, usually SKUs."""
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    price_phrased: bool = False
    """The price came from a budget phrase ("under 300", "between 50 and 80"), not only from a
    bare amount with a currency, which may be a price the shopper quotes rather than a budget."""
    quantity: int | None = None
    loose: int | None = None
    """The last bare small number in the message ("make the socks 3"), for quantity changes."""
    spelled: int | None = None
    """A small number written as a word ("du", "two", "两"), a likely quantity when no other is given."""
    ordinals: list[int] = field(default_factory=list)
    """1-based positions in the last list shown; -1 is the last one."""
    superlative: str = ""
    pronoun: bool = False
    size: str = ""
    colors: list[str] = field(default_factory=list)
    in_stock: bool = False
    express: bool = False
    cheaper: bool = False
    all_items: bool = False
    clear: bool = False
    """Empty the whole cart."""
    query: str = ""
    """The original text without prices, ids, quantities and filler: what to search for."""
    normalized: str = ""
    """Folded text with number words as digits, before anything was taken out."""
    residue: str = ""
    """Folded leftover after slots and filler: empty for a message that only gives slots."""

    @property
    def has_price(self) -> bool:
        return self.min_price is not None or self.max_price is not None

    @property
    def refers(self) -> bool:
        """The message points at something already shown (ordinal, superlative, pronoun, code)."""
        return bool(self.ordinals or self.superlative or self.pronoun or self.codes)


def _is_order_id(code: str, before: str) -> bool:
    digits = len(_DIGIT.findall(code))
    if _ORDER_WORDS.search(before[-30:]):
        return digits > 0
    return digits >= 3 and code.count("-") <= 1 and not code.isdigit()


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value > 0 else None


class _Reader:
    """The folded text with a mask of what has been consumed."""

    def __init__(self, text: str, pack: LanguagePack) -> None:
        self.pack = pack
        self.folded = normalize_numbers(Folded.of(text), pack)
        self.chars = list(self.folded.text)
        self.spans: list[tuple[int, int]] = []

    @property
    def text(self) -> str:
        return "".join(self.chars)

    def take(self, start: int, end: int) -> None:
        for i in range(start, end):
            self.chars[i] = " "
        self.spans.append(self.folded.original_span(start, end))

    def find(self, pattern: re.Pattern[str], take: bool = True) -> re.Match[str] | None:
        match = pattern.search(self.text)
        if match and take:
            self.take(match.start(), match.end())
        return match

    def find_all(self, pattern: re.Pattern[str], take: bool = True) -> list[re.Match[str]]:
        matches = list(pattern.finditer(self.text))
        if take:
            for m in matches:
                self.take(m.start(), m.end())
        return matches


def _numbers(match: re.Match[str]) -> list[Decimal]:
    values = []
    for group in match.groups():
        if group is not None:
            value = _decimal(group)
            if value is not None:
                values.append(value)
    return values


def _read_prices(reader: _Reader, slots: Slots) -> None:
    pack = reader.pack
    for kind in ("range", "max", "min", "about"):
        for pattern in pack.price.get(kind, ()):
            match = reader.find(pattern, take=False)
            if match is None:
                continue
            values = _numbers(match)
            if not values:
                continue
            reader.take(match.start(), match.end())
            if kind == "range" and len(values) >= 2:
                slots.min_price, slots.max_price = min(values[:2]), max(values[:2])
            elif kind == "max" and slots.max_price is None:
                slots.max_price = values[0]
            elif kind == "min" and slots.min_price is None:
                slots.min_price = values[0]
            elif kind == "about" and not slots.has_price:
                # "around 100" reads as a window of a quarter either side.
                slots.min_price = (values[0] * Decimal("0.75")).quantize(Decimal(1), ROUND_HALF_UP)
                slots.max_price = (values[0] * Decimal("1.25")).quantize(Decimal(1), ROUND_HALF_UP)
    slots.price_phrased = slots.has_price
    if not slots.has_price:
        # A bare amount with a currency ("100 eurų palapinė") is a budget.
        cur = pack.currency.pattern
        bare = re.compile(rf"(?:{cur})\s*(\d+(?:\.\d+)?)|(\d+(?:\.\d+)?)\s*(?:{cur})")
        match = reader.find(bare)
        if match:
            values = _numbers(match)
            if values:
                slots.max_price = values[0]


def _read_codes(text: str, slots: Slots, known: set[str]) -> list[tuple[int, int]]:
    taken: list[tuple[int, int]] = []
    for match in EMAIL.finditer(text):
        slots.emails.append(match.group(0))
        taken.append((match.start(), match.end()))
    masked = EMAIL.sub(lambda m: " " * len(m.group(0)), text)
    for match in CODE.finditer(masked):
        code = match.group(1)
        if not _DIGIT.search(code) and code.upper() not in known:
            continue
        if code.upper() in known:
            slots.codes.append(code.upper())
        elif _is_order_id(code, masked[: match.start()]):
            slots.order_ids.append(code.upper())
        elif "-" in code and len(code) >= 4:
            slots.codes.append(code.upper())
        else:
            continue
        taken.append((match.start(), match.end()))
    return taken


def extract(
    text: str, pack: LanguagePack, known_skus: set[str] | None = None, drop: tuple[re.Pattern[str], ...] = ()
) -> Slots:
    """Read the slots of ``text`` written in ``pack``'s language; ``drop`` patterns (the
    words of the recognised intent, "add", "compare") are kept out of the query."""
    slots = Slots()
    known = {s.upper() for s in known_skus or set()}
    code_spans = _read_codes(text, slots, known)
    # Codes and emails are blanked before anything else reads the text.
    blanked = list(text)
    for start, end in code_spans:
        blanked[start:end] = " " * (end - start)
    reader = _Reader("".join(blanked), pack)
    slots.normalized = reader.text
    reader.spans.extend(code_spans)
    _read_prices(reader, slots)
    for pattern in pack.quantity:
        match = reader.find(pattern, take=False)
        if match and reader.text[: match.start()].rstrip().endswith("("):
            continue  # "(8 pcs)" is part of a product name, not an amount to buy
        if match and match.groups():
            value = int(next(g for g in match.groups() if g is not None))
            if 1 <= value <= MAX_QUANTITY:
                slots.quantity = value
                reader.take(match.start(), match.end())
                break
    for match in re.finditer(r"\d+", reader.text):
        start, end = reader.folded.original_span(match.start(), match.end())
        if any(c.isalpha() for c in reader.folded.original[start:end]) and 2 <= int(match.group(0)) <= 20:
            slots.spelled = int(match.group(0))
            break
    bare = [
        m
        for m in re.finditer(r"(?<![\w.,(])\d{1,2}(?![\w)]|[.,]\d)", reader.text)
        if 0 < int(m.group(0)) < 100
    ]
    if bare:
        slots.loose = int(bare[-1].group(0))
    for pattern in pack.sizes:
        match = reader.find(pattern)
        if match:
            slots.size = match.group(1).upper().replace(",", ".")
            break
    found: list[tuple[int, int]] = []
    for pattern, value in pack.ordinals:
        for match in reader.find_all(pattern):
            number = value
            if value == 0:
                number = int(next(g for g in match.groups() if g is not None))
            found.append((match.start(), number))
    slots.ordinals = [n for _, n in sorted(found) if n != 0]
    for kind, patterns in pack.superlatives.items():
        if any(reader.find(p) for p in patterns):
            slots.superlative = kind
    for pattern, color in pack.colors:
        if reader.find(pattern, take=False) and color not in slots.colors:
            slots.colors.append(color)
    slots.in_stock = bool(reader.find(pack.in_stock))
    slots.express = bool(reader.find(pack.express))
    slots.cheaper = bool(reader.find(pack.cheaper))
    slots.all_items = bool(reader.find(pack.all_items, take=False))
    slots.clear = bool(reader.find(pack.clear_cart, take=False))
    slots.pronoun = bool(reader.find(pack.pronouns))
    for pattern in (*drop, *pack.filler):
        reader.find_all(pattern)
    slots.query = cut(text, reader.spans)
    slots.residue = _PUNCT.sub(" ", reader.text).strip()
    return slots
