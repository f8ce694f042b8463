"""Answering policy questions by quoting the store's own documents.

A passage counts as relevant only when it is about the topic the question asks about
(returns, shipping, warranty, ... recognised in every supported language) or, for a
question outside those topics, when it shares several word stems with it. Nothing
relevant means "I don't know" and an offer of a human, never a guess.

Among relevant passages the one holding the best-answering sentence wins, with a boost
for a translation in the shopper's language and for a document or section named after
the topic; its best one or two sentences are quoted verbatim. Markdown the retriever
flattened to one line (tables, bullets, numbered steps) is split back into units first.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from agent.offline.detect import detect_language
from agent.offline.languages import DEFAULT_LANG, LanguagePack, available_languages, get_pack
from agent.offline.safety import is_store_instruction, sentences
from agent.offline.text import fold

QUOTED = 3
MAX_QUOTE_CHARS = 480
MIN_SHARED_STEMS = 2
STEM = 4
OWN_LANGUAGE_BONUS = 0.75
SOURCE_TOPIC_BONUS = 1.5
TOPIC_BONUS = 1.0
FIGURE_BONUS = 2.5
DURATION_BONUS = 1.5
"""A unit naming days or weeks, for a question asking how long."""
"""A unit with a figure, for a question about an amount or a duration."""
_EMPHASIS = re.compile(r"\*\*|__|`|^#+\s*", re.MULTILINE)
_TABLE_RULE = re.compile(r"\|(?:\s*:?-{3,}:?\s*\|)+")
_ROW_BREAK = re.compile(r"\|\s+\|")
_ITEM_BREAK = re.compile(r"(?:^|\s)(?:[-*•]|\d{1,2}\.)\s+(?=\S)")
_FIGURE = re.compile(r"(?<![\w.@-])\d+(?:[.,]\d+)?(?![\w@-])")
"""A standalone number (45, 4.99), not the digits of an id like A1001."""
_LATIN_ARABIC = re.compile(r"[a-z0-9\u0600-\u06ff]+")
_HAN = re.compile(r"[\u3400-\u9fff]+")
_ARABIC_PREFIX = re.compile(r"^(?:وال|بال|فال|كال|لل|ال|و|ب|ف|س)(?=[\u0600-\u06ff]{3,})")


@dataclass(frozen=True)
class Quote:
    section: str
    text: str
    lang: str


def stems(text: str) -> set[str]:
    """Word stems for overlap across inflections: 5-letter prefixes, Chinese character pairs."""
    folded = fold(text)
    out: set[str] = set()
    for word in _LATIN_ARABIC.findall(folded):
        word = _ARABIC_PREFIX.sub("", word)
        if len(word) >= 3 or word.isdigit():
            # Four letters: "dienų"/"dienas", "kainuoja"/"kainos" and "cost"/"costs" meet.
            out.add(word if word.isdigit() else word[:STEM])
    for run in _HAN.findall(folded):
        out.update(run[i : i + 2] for i in range(len(run) - 1))
    return out


def pack_of(code: str) -> LanguagePack:
    return get_pack(code if code in available_languages() else DEFAULT_LANG)


def passage_lang(passage: dict[str, Any]) -> str:
    """A passage's language: the ``.lt`` of ``doc:returns.lt``, else detected from its text."""
    source = str(passage.get("source", ""))
    suffix = source.rsplit(".", 1)[-1] if "." in source else ""
    if suffix in available_languages():
        return suffix
    return detect_language(str(passage.get("text", ""))[:400], DEFAULT_LANG)


def topics(text: str, langs: list[str]) -> set[str]:
    folded = fold(text)
    found: set[str] = set()
    for code in dict.fromkeys(langs):
        for topic, pattern in get_pack(code).topics.items():
            if pattern.search(folded):
                found.add(topic)
    return found


def units(text: str) -> list[str]:
    """Quotable units of a passage: sentences, list items and table rows."""
    text = _EMPHASIS.sub("", text)
    out: list[str] = []
    if "|" in text:
        start, end = text.index("|"), text.rindex("|") + 1
        table = _TABLE_RULE.sub("|", text[start:end])
        rows = [r.strip(" |") for r in _ROW_BREAK.split(table)]
        out_rows = [" — ".join(c.strip() for c in row.split("|") if c.strip()) for row in rows if row]
        return units(text[:start]) + [r for r in out_rows[1:] if r] + units(text[end:])
    for sentence in sentences(text):
        out.extend(p.strip() for p in _ITEM_BREAK.split(sentence) if p and p.strip())
    return [u for u in out if re.search(r"[^\W\d_]", u) and not is_store_instruction(u)]


def _asked(question: str, lang: str) -> set[str]:
    """Stems of the question without its question words ("how long", "kiek")."""
    ignore = get_pack(lang).stopwords | get_pack(DEFAULT_LANG).stopwords
    kept = " ".join(w for w in fold(question).split() if w.strip("?!.,;:؟？") not in ignore)
    for word in ignore:
        if not word.isascii():
            kept = kept.replace(word, " ")  # Chinese has no spaces to split on
    return stems(kept)


def _relevant(question: str, lang: str, passages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    wanted = topics(question, [lang, DEFAULT_LANG])
    if wanted:
        return [p for p in passages if wanted & topics(_about(p), [passage_lang(p), DEFAULT_LANG])]
    asked = _asked(question, lang)
    return [p for p in passages if len(asked & stems(_about(p))) >= MIN_SHARED_STEMS]


def _about(passage: dict[str, Any]) -> str:
    return f"{passage.get('source', '')} {passage.get('section', '')} {passage.get('text', '')}"


@dataclass(frozen=True)
class _Unit:
    text: str
    passage: int
    score: float
    shared: float
    """The weight of question words the unit shares."""


def _units(question: str, lang: str, passages: list[dict[str, Any]]) -> list[_Unit]:
    """Every quotable unit of the passages, scored: rare question words it shares count
    most, then the asked topic, then a figure when the question asks how much or how long;
    a translation in the shopper's language and a document on the topic add to it."""
    wanted = topics(question, [lang, DEFAULT_LANG])
    asked = _asked(question, lang)
    figures = bool(get_pack(lang).how_much.search(fold(question)))
    duration = bool(get_pack(lang).how_long.search(fold(question)))
    split = [units(str(p.get("text", ""))) for p in passages]
    pool = [stems(u) for parts in split for u in parts]
    weight = {s: 1.0 + math.log((1 + len(pool)) / (1 + sum(s in u for u in pool))) for s in asked}
    out: list[_Unit] = []
    for index, (passage, parts) in enumerate(zip(passages, split, strict=True)):
        plang = passage_lang(passage)
        bonus = OWN_LANGUAGE_BONUS if plang == lang else 0.0
        bonus += SOURCE_TOPIC_BONUS * len(wanted & _source_topics(passage))
        bonus += 0.5 * sum(weight[s] for s in stems(str(passage.get("section", ""))) & asked)
        for unit in parts:
            shared = sum(weight[s] for s in stems(unit) & asked)
            score = shared
            about = topics(unit, [plang, DEFAULT_LANG])
            # A unit on the asked topic counts; one mostly on another topic ("return
            # shipping" for a shipping question) counts against.
            score += TOPIC_BONUS * (len(wanted & about) - len(about - wanted)) if wanted else 0.0
            if figures:
                score += FIGURE_BONUS if _FIGURE.search(unit) else -FIGURE_BONUS / 2
            if duration and pack_of(plang).time_units.search(fold(unit)):
                score += DURATION_BONUS
            out.append(_Unit(unit, index, score + bonus, shared))
    return out


def _source_topics(passage: dict[str, Any]) -> set[str]:
    """Topics of the document a passage comes from, read from its id (``doc:shipping.lt``)."""
    name = str(passage.get("source", "")).removeprefix("doc:").replace("-", " ").replace("_", " ")
    return topics(name, [DEFAULT_LANG])


def search_query(question: str, lang: str) -> str:
    """The policy search for ``question``: its own words plus the way the store's documents
    put the asked topic ("return window in days"), which retrieves far better than a
    question like "how long do I have ...?" alone."""
    wanted = topics(question, [lang, DEFAULT_LANG])
    queries = pack_of(lang).topic_queries or get_pack(DEFAULT_LANG).topic_queries
    extra = "; ".join(queries[t] for t in sorted(wanted) if t in queries)
    return f"{question} ({extra})" if extra else question


def fallback_query(question: str, lang: str, passages: list[dict[str, Any]]) -> str:
    """A search in English when nothing came from a document on the asked topic: the store
    may have no translation for the shopper's language. '' when not worth making."""
    wanted = topics(question, [lang, DEFAULT_LANG])
    if not wanted or lang == DEFAULT_LANG or any(wanted & _source_topics(p) for p in passages):
        return ""
    queries = get_pack(DEFAULT_LANG).topic_queries
    return "; ".join(queries[t] for t in sorted(wanted) if t in queries)


def quote(question: str, lang: str, passages: list[dict[str, Any]]) -> Quote | None:
    """The best sentences answering ``question``, or None when nothing relevant was found."""
    relevant = _relevant(question, lang, [p for p in passages if isinstance(p, dict)])
    scored = _units(question, lang, relevant)
    if not scored:
        return None
    best = max(scored, key=lambda u: u.score)
    mine = sorted((u for u in scored if u.passage == best.passage), key=lambda u: -u.score)
    picked: list[_Unit] = []
    length = 0
    for unit in mine:
        if len(picked) == QUOTED or (picked and length + len(unit.text) > MAX_QUOTE_CHARS):
            break
        if picked and unit.score < best.score * 0.75:
            break  # more units only while they answer nearly as well as the best
        if picked and best.shared and not unit.shared:
            continue  # ... and speak to the question's own words
        if all(unit.text != p.text for p in picked):
            picked.append(unit)
            length += len(unit.text)
    position = {id(u): i for i, u in enumerate(scored)}
    chosen = [u.text for u in sorted(picked, key=lambda u: position[id(u)])]
    prose = all(u.rstrip()[-1:] in ".!?。！？؟" for u in chosen)
    passage = relevant[best.passage]
    section = _EMPHASIS.sub("", str(passage.get("section", ""))).strip()
    return Quote(section=section, text=(" " if prose else "\n").join(chosen), lang=passage_lang(passage))
