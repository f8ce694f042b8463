"""Numbers in shopper text: number words and Chinese numerals become digits.

"two hundred", "du šimtai", "iki yüz", "مئتان", "两百" all become "200" in the folded
text, so price and quantity patterns only ever deal with digits. A lone word for "one"
is left alone: it is far more often a pronoun ("this one") than a quantity.
"""

from __future__ import annotations

import re
from functools import cache

from agent.offline.languages import LanguagePack
from agent.offline.text import Folded

_HAN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "兩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_HAN_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_HAN_RUN = re.compile("[零〇一二两兩三四五六七八九十拾百佰千仟万萬]+")
# "9,90" and "9.90" are decimals; "1.000" and "1,000" are thousands.
_THOUSANDS = re.compile(r"(?<![\d.,])(\d{1,3})[.,](\d{3})(?![\d])")
_DECIMAL_COMMA = re.compile(r"(?<=\d),(?=\d{1,2}(?!\d))")


def parse_han(text: str) -> int | None:
    """Value of a Chinese numeral such as 二百五十, 两千 or the colloquial 一百五 (150)."""
    total = section = number = 0
    last_unit = 0
    seen = False
    for char in text:
        if char in _HAN_DIGITS:
            number = _HAN_DIGITS[char]
            seen = True
        elif char in _HAN_UNITS:
            unit = _HAN_UNITS[char]
            section += (number or 1) * unit
            number = 0
            last_unit = unit
            seen = True
        elif char in "万萬":
            total += (section + number or 1) * 10_000
            section = number = 0
            last_unit = 10_000
            seen = True
    if not seen:
        return None
    if number and last_unit >= 100 and section % last_unit == 0:
        number *= last_unit // 10  # 一百五 = 150, 两千三 = 2300
    return total + section + number


@cache
def _word_pattern(pack: LanguagePack) -> re.Pattern[str] | None:
    if not pack.number_words:
        return None
    words = "|".join(re.escape(w) for w in sorted(pack.number_words, key=len, reverse=True))
    suffix = f"(?:'?(?:{pack.number_suffix}))?" if pack.number_suffix else ""
    prefix = pack.number_prefix
    if pack.boundaries:
        return re.compile(rf"(?<!\w){prefix}({words}){suffix}(?!\w)")
    return re.compile(rf"({words})")


def _combine(values: list[int]) -> int:
    total = current = 0
    for value in values:
        if value == 100:
            current = (current or 1) * 100
        elif value in (1000, 1_000_000):
            total += (current or 1) * value
            current = 0
        else:
            current += value
    return total + current


def _word_runs(folded: Folded, pack: LanguagePack) -> list[tuple[int, int, str]]:
    pattern = _word_pattern(pack)
    if pattern is None:
        return []
    joiners = {j for j in pack.joiners}
    spans: list[tuple[int, int, str]] = []
    run: list[re.Match[str]] = []

    def flush() -> None:
        if not run:
            return
        values = [pack.number_words[m.group(1)] for m in run]
        alone = len(run) == 1
        ambiguous = alone and run[0].group(1) in pack.number_ambiguous
        # A short word with a glued ending is more often another word ("ona" is not 10+a).
        glued_short = alone and run[0].end(0) != run[0].end(1) and len(run[0].group(1)) < 3
        if not (alone and values[0] == 1) and not ambiguous and not glued_short:
            spans.append((run[0].start(1), run[-1].end(1), str(_combine(values))))
        run.clear()

    for match in pattern.finditer(folded.text):
        if run:
            gap = folded.text[run[-1].end(1) : match.start(1)].strip()
            glued_suffix = run[-1].end(0) != run[-1].end(1)
            if glued_suffix or (gap and gap not in joiners):
                flush()
        run.append(match)
    flush()
    return spans


def normalize_numbers(folded: Folded, pack: LanguagePack) -> Folded:
    """Digits for number words and numerals; decimal commas become points."""
    spans = _word_runs(folded, pack)
    if pack.han_numerals:
        for match in _HAN_RUN.finditer(folded.text):
            value = parse_han(match.group(0))
            if value is None or (value == 1 and len(match.group(0)) == 1):
                continue
            spans.append((match.start(), match.end(), str(value)))
    result = folded.replace(spans) if spans else folded
    thousands = [(m.start(), m.end(), m.group(1) + m.group(2)) for m in _THOUSANDS.finditer(result.text)]
    if thousands:
        result = result.replace(thousands)
    commas = [(m.start(), m.end(), ".") for m in _DECIMAL_COMMA.finditer(result.text)]
    return result.replace(commas) if commas else result
