"""Rewrite a shopper's query into the catalog's language before it is searched.

The multilingual embedders that run offline match a Lithuanian or Turkish need to an
English product text far worse than the same need said in English (BENCHMARKS.md), and
BM25 finds nothing in common at all. So the query is also said in the catalog's language
with the bilingual lexicons of :mod:`agent.lexicon`: every word a lexicon knows becomes the
catalog language's words for it; numbers and words the catalog itself uses (brands, model
names) are kept; the rest is dropped. Search then ranks by the original and the rewritten
query together, so whatever the lexicon misses the embedder can still find.

Languages are told apart by script (Arabic, Chinese, ...) and, among Latin-script
languages, by how many words each lexicon recognises plus the letters only one of them
uses. A language without a lexicon is left as it is.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from functools import cache

from agent import lexicon
from agent.lexicon import Lexicon

ENGLISH_FUNCTION_WORDS = frozenset(
    "a an the for with my me i to of in on and or that is are can do does you your it at by from what how which "
    "this will be have has not no need want looking some any something when where who so too very but".split()
)
_LETTERS = {"lt": re.compile(r"[ąčęėįšųūž]"), "tr": re.compile(r"[ğışİ]")}
"""Letters that point at one Latin-script language."""
MIN_CATALOG_SHARE = 0.3
"""The catalog's language must win at least this share of the sampled rows."""


def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else ""


@cache
def _script_of(lang: str) -> str:
    """The script a lexicon's forms are written in (LATIN, ARABIC, CJK, ...)."""
    if lang == "en":
        return "LATIN"
    lex = lexicon.load(lang)
    if lex is None:
        return ""
    counts = Counter(_script(form.lemma[0]) for c in lex.concepts[:50] for form in c.forms if form.lemma)
    return counts.most_common(1)[0][0] if counts else ""


def _source(lang: str) -> Lexicon | None:
    return lexicon.english() if lang == "en" else lexicon.load(lang)


def detect(text: str, prefer: str | None = None) -> str | None:
    """The language of ``text`` among English and the lexicon languages, or None.

    ``prefer`` wins ties (the catalog's language: no rewrite when in doubt)."""
    scripts = {_script(ch) for ch in text if ch.isalpha()}
    candidates = [lang for lang in sorted(lexicon.languages()) if _script_of(lang) in scripts]
    if "LATIN" in scripts:
        candidates.append("en")
    lowered = text.lower()
    scores: dict[str, float] = {}
    for lang in candidates:
        source = _source(lang)
        if source is None:
            continue
        found = source.find(text)
        score = float(found.covered)
        if lang == "en":
            score += sum(1 for w in lexicon.words(text) if w in ENGLISH_FUNCTION_WORDS)
        if lang in _LETTERS and _LETTERS[lang].search(lowered):
            score += 2
        if _script_of(lang) not in ("", "LATIN"):
            score += 1  # its script alone is strong evidence
        scores[lang] = score
    # A Latin-script language must account for a third of the words: one look-alike word
    # ("warme") does not make a German sentence English.
    needed = len(lexicon.words(text)) / 3
    scores = {lang: s for lang, s in scores.items() if _script_of(lang) not in ("", "LATIN") or s >= needed}
    if not scores or max(scores.values()) <= 0:
        return None
    best = max(scores.values())
    tied = [lang for lang, score in scores.items() if score == best]
    for choice in (prefer, "en"):
        if choice in tied:
            return choice
    return tied[0]


def catalog_language(texts: Iterable[str], sample: int = 200) -> str | None:
    """The language most of ``texts`` are written in (None when no language stands out)."""
    votes: Counter[str] = Counter()
    seen = 0
    for text in texts:
        if seen >= sample:
            break
        seen += 1
        lang = detect(text, prefer="en")
        if lang:
            votes[lang] += 1
    if not votes:
        return None
    lang, count = votes.most_common(1)[0]
    return lang if count >= MIN_CATALOG_SHARE * seen else None


def rewrite(query: str, target: str | None, known: Callable[[str], bool] | None = None) -> str:
    """``query`` in the ``target`` language as far as the lexicons know it ("" when it needs none).

    ``known`` tells which leftover words to keep (the catalog's own words: brands, models)."""
    if not target or not query.strip():
        return ""
    source_lang = detect(query, prefer=target)
    if source_lang is None or source_lang == target:
        return ""
    source = _source(source_lang)
    into = None if target == "en" else lexicon.load(target)
    if source is None or (target != "en" and into is None):
        return ""
    found = source.find(query)
    if not found.concepts:
        return ""
    out: list[str] = []
    for concept in found.concepts:
        said = list(concept.english) if into is None else [w for e in concept.english for w in into.say(e)]
        out.extend(w for w in said if w not in out)
    out.extend(
        w for w in found.leftovers if (any(ch.isdigit() for ch in w) or (known is not None and known(w)))
    )
    return " ".join(out)
