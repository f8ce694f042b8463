"""Is a reply in the shopper's language? Decided offline, leniently.

Product names, ids, numbers, links and markup are language-neutral and removed first;
scripts decide Arabic, Chinese and the like; Latin-script text goes to lingua, and a reply
counts as wrong only when it is long enough and confidently another language, so a short
"OK" or a reply full of product names never triggers a rewrite.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from agent.language import confidences, script_language

MIN_LETTERS = 20
CONFIDENT = 0.6
PLAUSIBLE = 0.15
LATIN_CANDIDATES = ("en", "lt", "tr", "de", "fr", "es", "pl", "lv")
_NEUTRAL = re.compile(
    r"https?://\S+|\S+@\S+|\b[A-Z0-9]+(?:-[A-Z0-9]+)+\b|\b[A-Z]{1,3}\d{3,}\b|[\d.,:/%€$£₺-]+|[*_`#>|()\[\]]"
)
_LETTER = re.compile(r"[^\W\d_]")
_NON_LATIN = re.compile(
    r"[\u0600-\u06ff\u0750-\u077f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\u0400-\u04ff\u0590-\u05ff\u0370-\u03ff]"
)


def neutral_removed(text: str, names: Iterable[str] = ()) -> str:
    for name in sorted({n for n in names if len(n) >= 3}, key=len, reverse=True):
        text = re.sub(re.escape(name), " ", text, flags=re.IGNORECASE)
    return " ".join(_NEUTRAL.sub(" ", text).split())


def wrong_language(text: str, expected: str, names: Iterable[str] = ()) -> str:
    """The language ``text`` is confidently written in when that is not ``expected``; else ''."""
    cleaned = neutral_removed(text, names)
    letters = _LETTER.findall(cleaned)
    if len(letters) < MIN_LETTERS:
        return ""
    foreign = sum(1 for ch in letters if _NON_LATIN.match(ch))
    script = script_language(cleaned)
    if expected in ("ar", "zh", "ja", "ko", "he", "ru", "el"):
        if script == expected or (script in ("zh", "ja") and expected in ("zh", "ja")):
            return "" if foreign >= 0.3 * len(letters) else "en"
        return script or "en"
    if foreign > 0.5 * len(letters):
        return script
    scores = confidences(cleaned, tuple(dict.fromkeys((expected, *LATIN_CANDIDATES))))
    if not scores:
        return ""
    best = max(scores, key=lambda c: scores[c])
    if best == expected or scores.get(expected, 0.0) >= PLAUSIBLE or scores[best] < CONFIDENT:
        return ""
    return best
