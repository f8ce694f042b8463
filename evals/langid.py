"""Offline language identification of agent replies, tolerant of what shop replies contain.

Replies mix the shopper's language with product names, SKUs, prices, order ids and
emails, which are language-neutral or English. Those are removed before detecting, and
the verdict is "wrong language" only when the detector is confident: a short or mixed
reply where it is unsure passes, so the check never fails a correct agent by accident.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

# Latin/Cyrillic languages a reply is most often in or confused with; Chinese, Japanese and
# Arabic are told apart by script, and each model costs half a second to load.
_CANDIDATES = ("en", "lt", "tr", "de", "fr", "es", "it", "pl", "lv", "ru")
MIN_LETTERS = 15
"""Below this many letters (after stripping names and numbers) the detector is not asked."""
CONFIDENT = 0.6
"""The detected language must be at least this sure before a reply fails."""
PLAUSIBLE = 0.15
"""A reply whose expected language keeps this much confidence passes."""

_URL = re.compile(r"https?://\S+|www\.\S+|\S+@\S+\.\w+")
_CODE = re.compile(r"\b[A-Z0-9]+(?:[-_][A-Z0-9]+)+\b|\b[A-Z]{1,3}\d{3,}\b|\b[A-Z]{2,}\b")
_NUMBERS = re.compile(r"[\d\u0660-\u0669\u06f0-\u06f9][\d\u0660-\u0669\u06f0-\u06f9.,:/%\u066b\u066c-]*")
_MARKUP = re.compile(r"[*_`#>|\[\]()•·\-–—:;!?¡¿.,\"'«»„“”‘’€$£¥₺]+")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class LangVerdict:
    ok: bool
    detected: str
    """Best guess ('' when the detector was not asked or not sure)."""
    reason: str


def _language(code: str) -> Language | None:
    try:
        return Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
    except (AttributeError, ValueError):
        return None


@lru_cache(maxsize=8)
def _detector(extra: str) -> LanguageDetector:
    codes = dict.fromkeys((*_CANDIDATES, extra) if extra else _CANDIDATES)
    languages = [lang for code in codes if (lang := _language(code)) is not None]
    return LanguageDetectorBuilder.from_languages(*languages).build()


def strip_neutral(text: str, names: Iterable[str] = ()) -> str:
    """The reply without product names, codes, numbers, links and markup."""
    for name in sorted({n for n in names if len(n) >= 3}, key=len, reverse=True):
        text = re.sub(re.escape(name), " ", text, flags=re.IGNORECASE)
    text = _URL.sub(" ", text)
    text = _CODE.sub(" ", text)
    text = _NUMBERS.sub(" ", text)
    text = _MARKUP.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()


def check_language(text: str, expected: str, names: Iterable[str] = ()) -> LangVerdict:
    """Whether ``text`` can be in language ``expected`` (ISO 639-1)."""
    expected = expected.lower()
    cleaned = strip_neutral(text, names)
    letters = _LETTER.findall(cleaned)
    if not letters:
        return LangVerdict(True, "", "nothing language-specific left to check")
    han = sum(1 for ch in letters if _HAN.match(ch))
    arabic = sum(1 for ch in letters if _ARABIC.match(ch))
    # Scripts decide Chinese, Japanese and Arabic more reliably than letter statistics.
    if expected in ("zh", "ja"):
        if han >= 2 and han >= 0.2 * len(letters):
            return LangVerdict(True, expected, "")
        if len(letters) >= MIN_LETTERS:
            return LangVerdict(
                False, "", f"expected {expected}, but most of the reply is not in Chinese script"
            )
        return LangVerdict(True, "", "too short to judge")
    if expected in ("ar", "fa", "ur"):
        if arabic >= 2 and arabic >= 0.3 * len(letters):
            return LangVerdict(True, expected, "")
        if len(letters) >= MIN_LETTERS:
            return LangVerdict(
                False, "", f"expected {expected}, but most of the reply is not in Arabic script"
            )
        return LangVerdict(True, "", "too short to judge")
    if han + arabic > 0.5 * len(letters):
        detected = "zh" if han > arabic else "ar"
        return LangVerdict(False, detected, f"expected {expected}, but the reply is written in {detected}")
    if len(letters) < MIN_LETTERS or _language(expected) is None:
        return LangVerdict(True, "", "too short to judge")
    values = _detector("" if expected in _CANDIDATES else expected).compute_language_confidence_values(
        cleaned
    )
    scores = {v.language.iso_code_639_1.name.lower(): v.value for v in values}
    best = max(scores, key=lambda code: scores[code])
    if best == expected or scores.get(expected, 0.0) >= PLAUSIBLE or scores[best] < CONFIDENT:
        return LangVerdict(True, best, "")
    return LangVerdict(
        False, best, f"expected {expected}, but the reply reads as {best} ({scores[best]:.2f} confidence)"
    )
