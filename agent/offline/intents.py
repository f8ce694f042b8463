"""What the shopper wants: intent scores from example neighbours, keywords and slots.

Three signals add up per intent:

- nearest neighbours: the message is embedded with the store's embedder and compared
  with example messages of every intent in every language (``examples/*.yaml``); a
  multilingual embedder lets an unseen phrasing, or a language without its own examples,
  land near the right intent;
- keywords: the language pack's patterns (``lang/*.yaml``) for phrases that settle it;
- slots: an order id points at order intents, an ordinal at a product already shown,
  a price at a search.

Example vectors are computed once per embedder and kept on disk under the settings home.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from agent.offline.languages import DEFAULT_LANG, LanguagePack, available_languages, get_pack
from agent.offline.slots import Slots
from agent.offline.text import fold
from shop.embedders import Embedder

log = logging.getLogger(__name__)

INTENTS = (
    "greet", "thanks", "goodbye", "help", "search", "details", "compare", "add", "update", "remove",
    "view_cart", "checkout", "order_status", "cancel", "return", "policy", "handoff", "off_topic", "injection",
    "remember", "forget",
    "promotions", "coupon", "offer", "recommend", "wishlist",
)  # fmt: skip
ORDER_INTENTS = ("order_status", "cancel", "return")
PRODUCT_INTENTS = ("details", "compare", "add", "update", "remove")
SOCIAL = ("greet", "thanks", "goodbye")

KEYWORD_WEIGHT = 0.3
KEYWORD_CAP = 2
NEIGHBOURS = 2
UNSURE = 0.3
"""Below this best score the message is not understood well enough to act on."""


@dataclass(frozen=True)
class Intent:
    name: str
    score: float
    scores: dict[str, float]

    @property
    def sure(self) -> bool:
        return self.score >= UNSURE

    def runner_up(self) -> tuple[str, float]:
        ranked = sorted(self.scores.items(), key=lambda kv: -kv[1])
        return ranked[1] if len(ranked) > 1 else ("", 0.0)


def load_examples() -> list[tuple[str, str]]:
    """(intent, utterance) pairs of every language's example file."""
    pairs: list[tuple[str, str]] = []
    folder = resources.files("agent.offline").joinpath("examples")
    for code in available_languages():
        path = folder.joinpath(f"{code}.yaml")
        if not path.is_file():
            continue
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for intent, utterances in data.items():
            if intent not in INTENTS:
                raise ValueError(f"agent/offline/examples/{code}.yaml: unknown intent {intent!r}")
            pairs.extend((intent, str(u)) for u in utterances or [])
    return pairs


class ExampleIndex:
    """Example utterances embedded once; ``similarity`` gives the best match per intent."""

    def __init__(self, embedder: Embedder, cache_dir: Path | None = None) -> None:
        self.embedder = embedder
        pairs = load_examples()
        self.labels = np.array([INTENTS.index(intent) for intent, _ in pairs])
        texts = [text for _, text in pairs]
        self.vectors = self._load(texts, cache_dir)

    def _load(self, texts: list[str], cache_dir: Path | None) -> npt.NDArray[np.float32]:
        digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
        safe = "".join(c if c.isalnum() else "_" for c in self.embedder.name)[:60]
        path = cache_dir / f"offline-intents-{safe}-{digest}.npy" if cache_dir else None
        if path is not None and path.is_file():
            try:
                cached = np.load(path)
                if cached.shape[0] == len(texts):
                    return np.asarray(cached, dtype=np.float32)
            except (OSError, ValueError):
                log.warning("ignoring an unreadable intent cache at %s", path)
        vectors = np.asarray(self.embedder.embed_documents(texts), dtype=np.float32)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, vectors)
            except OSError:
                log.warning("cannot write the intent cache at %s", path)
        return vectors

    def similarity(self, text: str) -> dict[str, float]:
        query = np.asarray(self.embedder.embed_documents([text]), dtype=np.float32)[0]
        sims = self.vectors @ query
        out: dict[str, float] = {}
        for index, intent in enumerate(INTENTS):
            mine = np.sort(sims[self.labels == index])[::-1][:NEIGHBOURS]
            out[intent] = float(mine.mean()) if mine.size else 0.0
        return out


def keyword_score(folded: str, pack: LanguagePack) -> dict[str, float]:
    """Keyword evidence per intent: strong patterns count fully, weak ones half, up to a cap."""
    out: dict[str, float] = {}
    for table, weight in ((pack.keywords, 1.0), (pack.weak_keywords, 0.5)):
        for intent, patterns in table.items():
            count = sum(1 for p in patterns if p.search(folded))
            if count:
                out[intent] = out.get(intent, 0.0) + weight * count
    return {intent: KEYWORD_WEIGHT * min(value, KEYWORD_CAP) for intent, value in out.items()}


def is_question(folded: str, pack: LanguagePack) -> bool:
    return "?" in folded or bool(pack.question.search(folded))


def _slot_bonus(slots: Slots, scores: dict[str, float], question: bool, amount_question: bool) -> None:
    if slots.order_ids:
        for intent in ORDER_INTENTS:
            scores[intent] += 0.2
        scores["order_status"] += 0.05  # an id alone most often asks where the order is
    if slots.emails:
        for intent in (*ORDER_INTENTS, "checkout"):
            scores[intent] += 0.1
    if slots.refers:
        for intent in PRODUCT_INTENTS:
            scores[intent] += 0.1
    if slots.ordinals or slots.codes:
        scores["search"] -= 0.15  # "the second one" was found already
        if question:
            scores["details"] += 0.2  # "is the first one waterproof?"
    if question and not (slots.order_ids or slots.emails):
        # "Can I return ...?" asks about the rule; doing it needs the order.
        for intent in ("return", "cancel", "checkout"):
            scores[intent] -= 0.2
        if amount_question:
            scores["policy"] += 0.15  # "how many days ...", "how much is ..."
    if slots.has_price or slots.size or slots.colors or slots.cheaper:
        scores["search"] += 0.15
    if slots.quantity is not None:
        scores["add"] += 0.05
        scores["update"] += 0.05
    if len(slots.ordinals) >= 2:
        scores["compare"] += 0.1


class IntentClassifier:
    def __init__(self, index: ExampleIndex | None = None) -> None:
        self.index = index
        self._cache: dict[tuple[str, str], dict[str, float]] = {}

    def _neighbours(self, text: str) -> dict[str, float]:
        if self.index is None:
            return dict.fromkeys(INTENTS, 0.0)
        key = (self.index.embedder.name, text)
        if key not in self._cache:
            if len(self._cache) > 2048:
                self._cache.clear()
            self._cache[key] = self.index.similarity(text)
        return self._cache[key]

    def classify(self, text: str, lang: str, slots: Slots) -> Intent:
        pack = get_pack(lang)
        scores = dict(self._neighbours(text))
        folded = slots.normalized or fold(text)
        hits = keyword_score(folded, pack)
        if lang != DEFAULT_LANG:
            # Shoppers borrow English shop words ("checkout", "cart") in any language.
            for intent, value in keyword_score(folded, get_pack(DEFAULT_LANG)).items():
                hits[intent] = max(hits.get(intent, 0.0), min(value, KEYWORD_WEIGHT))
        for intent, value in hits.items():
            scores[intent] += value
        _slot_bonus(slots, scores, is_question(folded, pack), bool(pack.how_much.search(folded)))
        best = max(scores, key=lambda k: scores[k])
        return Intent(best, scores[best], scores)
