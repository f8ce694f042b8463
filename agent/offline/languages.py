"""Language packs: what the offline engine knows about each supported language.

A pack is two data files in this package: ``lang/CODE.yaml`` (words and patterns for
understanding the shopper) and ``replies/CODE.yaml`` (templates for answering). Adding a
language means adding those two files and a few example utterances; no code changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import yaml

from agent.offline.text import fold

DEFAULT_LANG = "en"

# Amount, quantity and size placeholders inside patterns ({m}: an amount with its currency).
_NUMBER = r"(\d+(?:\.\d+)?)"
_QUANTITY = r"(\d{1,3})"
_SIZE = r"(\d{1,3}(?:[.,]5)?|x{0,3}s|m|x{0,3}l|[2-4]xl)"


@dataclass(frozen=True, eq=False)
class LanguagePack:
    code: str
    name: str
    lingua: str
    locale: str
    boundaries: bool
    han_numerals: bool
    hints: frozenset[str]
    number_words: dict[str, int]
    joiners: tuple[str, ...]
    number_prefix: str
    number_suffix: str
    number_ambiguous: frozenset[str]
    ordinals: tuple[tuple[re.Pattern[str], int], ...]
    superlatives: dict[str, tuple[re.Pattern[str], ...]]
    pronouns: re.Pattern[str]
    currency: re.Pattern[str]
    price: dict[str, tuple[re.Pattern[str], ...]]
    quantity: tuple[re.Pattern[str], ...]
    sizes: tuple[re.Pattern[str], ...]
    in_stock: re.Pattern[str]
    express: re.Pattern[str]
    cheaper: re.Pattern[str]
    all_items: re.Pattern[str]
    filler: tuple[re.Pattern[str], ...]
    colors: tuple[tuple[re.Pattern[str], str], ...]
    keywords: dict[str, tuple[re.Pattern[str], ...]]
    weak_keywords: dict[str, tuple[re.Pattern[str], ...]]
    question: re.Pattern[str]
    topics: dict[str, re.Pattern[str]]
    how_much: re.Pattern[str]
    clear_cart: re.Pattern[str]
    conjunctions: re.Pattern[str]
    also: re.Pattern[str]
    topic_queries: dict[str, str]
    stopwords: frozenset[str]
    how_long: re.Pattern[str]
    time_units: re.Pattern[str]
    replies: dict[str, Any] = field(default_factory=dict)
    phrases: dict[str, tuple[re.Pattern[str], ...]] = field(default_factory=dict)
    """Named patterns a handler looks for inside a request (a coupon code's cue word, a wishlist action)."""

    def reply(self, key: str) -> Any:
        """A reply template; English fills any key a translation lacks."""
        if key in self.replies:
            return self.replies[key]
        if self.code != DEFAULT_LANG:
            return get_pack(DEFAULT_LANG).reply(key)
        raise KeyError(f"no reply template {key!r} in replies/{self.code}.yaml")


class _Compiler:
    """Turns the YAML pattern notation into compiled regular expressions."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.boundaries = bool(raw.get("word_boundaries", True))
        self.clitics = str(raw.get("clitics", ""))
        self.suffixes = str(raw.get("suffixes", ""))
        cur = fold(str(raw.get("currency", r"(?:€|eur)")))
        self.currency_src = cur
        suffix = fold(str((raw.get("numbers") or {}).get("suffix", "")))
        number = rf"{_NUMBER}(?:'?(?:{suffix}))?" if suffix else _NUMBER  # Turkish "150'den"
        self.amount = rf"(?:{cur}\s*)?{number}(?:\s*{cur})?"
        self.money = rf"(?:{cur}\s*{_NUMBER}|{_NUMBER}\s*{cur})"

    def expand(self, pattern: str) -> str:
        src = fold(str(pattern))
        src = src.replace("{n}", self.amount).replace("{m}", self.money)
        src = src.replace("{q}", _QUANTITY).replace("{s}", _SIZE)
        return re.sub(r"(?<!\\)~", lambda _: r"\w*", src)

    def word(self, pattern: str) -> re.Pattern[str]:
        src = self.expand(pattern)
        if self.boundaries:
            src = rf"(?<!\w){self.clitics}(?:{src}){self.suffixes}(?!\w)"
        return re.compile(src)

    def words(self, patterns: list[str] | None) -> tuple[re.Pattern[str], ...]:
        return tuple(self.word(p) for p in patterns or [])

    def union(self, patterns: list[str] | None) -> re.Pattern[str]:
        if not patterns:
            return re.compile(r"(?!x)x")  # matches nothing
        body = "|".join(f"(?:{self.expand(p)})" for p in patterns)
        if self.boundaries:
            return re.compile(rf"(?<!\w){self.clitics}(?:{body}){self.suffixes}(?!\w)")
        return re.compile(body)


class _Loader(yaml.SafeLoader):
    """YAML without the 1.1 booleans: "no", "on" and "yes" are words here, not flags."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|false|False)$"), list("tTfF")
)


def _load_yaml(folder: str, code: str) -> dict[str, Any]:
    path = resources.files("agent.offline").joinpath(folder, f"{code}.yaml")
    if not path.is_file():
        return {}
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader) or {}
    if not isinstance(data, dict):
        raise ValueError(f"agent/offline/{folder}/{code}.yaml must hold a mapping")
    return data


@lru_cache(maxsize=1)
def available_languages() -> tuple[str, ...]:
    """Codes of every language with an understanding file, English first."""
    folder = resources.files("agent.offline").joinpath("lang")
    codes = sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))
    return tuple(sorted(codes, key=lambda c: (c != DEFAULT_LANG, c)))


@cache
def get_pack(code: str) -> LanguagePack:
    if code not in available_languages():
        code = DEFAULT_LANG
    raw = _load_yaml("lang", code)
    comp = _Compiler(raw)
    numbers = raw.get("numbers") or {}
    ordinals = []
    for word, value in (raw.get("ordinals") or {}).items():
        ordinals.append((comp.word(str(word)), int(value)))
    keywords = {intent: comp.words(patterns) for intent, patterns in (raw.get("keywords") or {}).items()}
    weak = {intent: comp.words(patterns) for intent, patterns in (raw.get("weak_keywords") or {}).items()}
    return LanguagePack(
        code=code,
        name=str(raw.get("name", code)),
        lingua=str(raw.get("lingua", "")),
        locale=str(raw.get("locale", code)),
        boundaries=comp.boundaries,
        han_numerals=bool(numbers.get("han", False)),
        hints=frozenset(fold(str(h)) for h in raw.get("hints") or []),
        number_words={fold(str(k)): int(v) for k, v in (numbers.get("words") or {}).items()},
        joiners=tuple(fold(str(j)) for j in numbers.get("joiners") or []),
        number_prefix=str(numbers.get("prefix", "")),
        number_suffix=fold(str(numbers.get("suffix", ""))),
        number_ambiguous=frozenset(fold(str(w)) for w in numbers.get("ambiguous") or []),
        ordinals=tuple(ordinals),
        superlatives={k: comp.words(v) for k, v in (raw.get("superlatives") or {}).items()},
        pronouns=comp.union(raw.get("pronouns")),
        currency=re.compile(comp.currency_src),
        price={k: comp.words(v) for k, v in (raw.get("price") or {}).items()},
        quantity=comp.words(raw.get("quantity")),
        sizes=comp.words(raw.get("sizes")),
        in_stock=comp.union(raw.get("in_stock")),
        express=comp.union(raw.get("express")),
        cheaper=comp.union(raw.get("cheaper")),
        all_items=comp.union(raw.get("all_items")),
        filler=comp.words(raw.get("filler")),
        colors=tuple((comp.word(str(w)), str(c)) for w, c in (raw.get("colors") or {}).items()),
        keywords=keywords,
        weak_keywords=weak,
        question=comp.union(raw.get("question")),
        topics={topic: comp.union(words) for topic, words in (raw.get("topics") or {}).items()},
        how_much=comp.union(raw.get("how_much")),
        clear_cart=comp.union(raw.get("clear_cart")),
        conjunctions=comp.union(raw.get("conjunctions")),
        also=comp.union(raw.get("also")),
        topic_queries={str(k): str(v) for k, v in (raw.get("topic_queries") or {}).items()},
        stopwords=frozenset(fold(str(w)) for w in raw.get("stopwords") or []),
        how_long=comp.union(raw.get("how_long")),
        time_units=comp.union(raw.get("time_units")),
        replies=_load_yaml("replies", code),
        phrases={k: comp.words(v) for k, v in (raw.get("phrases") or {}).items()},
    )
