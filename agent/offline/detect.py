"""Which of the supported languages a shopper message is in.

Script decides Arabic and Chinese outright. Latin-script languages are told apart by
lingua (restricted to the supported languages, which makes it far more reliable on short
text), letters only one language uses (ė ų for Lithuanian, ğ ı for Turkish) and short
words typical of one language. A message too short to tell ("ok", an order id, an email)
keeps the language of the conversation so far.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from agent.offline.languages import DEFAULT_LANG, available_languages, get_pack
from agent.offline.text import fold, script_counts

_EMAIL = re.compile(r"\S+@\S+")
_CODES = re.compile(r"[A-Za-z0-9-]*\d[A-Za-z0-9-]*")
_WORD = re.compile(r"[^\W\d_]+")
# Capitalised Latin words are often names (brands, products, places): "ar turite Nordvik
# Alp 2?" is Lithuanian whatever language the product name is in. They are set aside
# whenever other words remain to decide on.
_NAME = re.compile(r"(?<![\w-])[^\W\d_][\w'-]*")

# Letters that, within the supported Latin-script languages, only one language writes.
_LETTERS = {
    "lt": set("ąčęėįšųūž"),
    "tr": set("ğışçöü"),
    "de": set("ßäöü"),
    "fr": set("àâçéèêëîïôùûü"),
}
_SCRIPT_LANG = {"han": "zh", "arabic": "ar", "cyrillic": "ru"}


@lru_cache(maxsize=1)
def _detector() -> Any:
    from lingua import Language, LanguageDetectorBuilder

    languages = []
    for code in available_languages():
        name = get_pack(code).lingua
        if name and hasattr(Language, name):
            languages.append(getattr(Language, name))
    if len(languages) < 2:
        return None
    return LanguageDetectorBuilder.from_languages(*languages).build()


def _lingua_scores(text: str) -> dict[str, float]:
    detector = _detector()
    if detector is None:
        return {}
    out: dict[str, float] = {}
    for item in detector.compute_language_confidence_values(text):
        code = item.language.iso_code_639_1.name.lower()
        out[code] = float(item.value)
    return out


def _hint_scores(words: list[str]) -> dict[str, float]:
    scores: dict[str, float] = {}
    if not words:
        return scores
    for code in available_languages():
        hints = get_pack(code).hints
        hits = sum(1 for w in words if w in hints)
        if hits:
            scores[code] = hits / len(words)
    return scores


@lru_cache(maxsize=4096)
def detect_language(text: str, previous: str = "") -> str:
    """The language code of ``text``; ``previous`` is the conversation's language so far."""
    langs = available_languages()
    fallback = previous if previous in langs else DEFAULT_LANG
    bare = _CODES.sub(" ", _EMAIL.sub(" ", text))
    unnamed = _NAME.sub(lambda m: " " if m.group(0)[0].isupper() else m.group(0), bare)
    if sum(script_counts(unnamed).values()) >= 2:
        bare = unnamed
    counts = script_counts(bare)
    letters = sum(counts.values())
    if letters == 0:
        return fallback
    for script, code in _SCRIPT_LANG.items():
        if counts[script] and counts[script] * 2 >= letters and code in langs:
            return code
    words = [fold(w) for w in _WORD.findall(bare)]
    scores = {code: 0.0 for code in langs if code not in _SCRIPT_LANG.values()}
    if not scores:
        return fallback
    letter_set = set(bare.lower())
    strong = False
    for code in scores:
        others = set().union(*(_LETTERS.get(c, set()) for c in scores if c != code))
        if letter_set & (_LETTERS.get(code, set()) - others):
            scores[code] += 0.6
            strong = True
    for code, value in _hint_scores(words).items():
        if code in scores:
            scores[code] += 0.5 * value
            strong = strong or value >= 0.5
    lingua = _lingua_scores(bare) if letters >= 4 else {}
    for code, value in lingua.items():
        if code in scores:
            scores[code] += value
            strong = strong or value >= 0.75
    best = max(scores, key=lambda c: scores[c])
    ranked = sorted(scores.values(), reverse=True)
    margin = ranked[0] - (ranked[1] if len(ranked) > 1 else 0.0)
    short = len(words) <= 2 and letters < 16
    if short and not strong and previous in scores:
        return previous
    if previous in scores and best != previous and margin < 0.25 and not strong:
        return previous  # too close to call: don't flip the conversation's language
    return best


def conversation_language(user_texts: Iterable[str]) -> str:
    """The language of the last message, each message deciding in the light of the earlier ones."""
    lang = ""
    for text in user_texts:
        lang = detect_language(text, lang)
    return lang or DEFAULT_LANG
