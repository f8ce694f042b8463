"""Bilingual lexicons and the query rewrite into the catalog's language."""

from __future__ import annotations

import pytest

from agent import lexicon
from agent.query_rewrite import catalog_language, detect, rewrite

SAMPLE = """
# a comment
@suffix 4
@prefixes ال, و
tent, shelter = palapin|ė
sleeping bag = miegmaiš|is, miegam|asis maiš|as
cold = šalt|as
cat = kat|ė
charge, shipping = krov|a
shipping = krov|a
"""


def english(found: lexicon.Found) -> list[str]:
    return [c.english[0] for c in found.concepts]


def test_stems_match_inflected_words_within_the_suffix_limit() -> None:
    lex = lexicon.parse("xx", SAMPLE)
    assert english(lex.find("Palapinėje buvo šalta")) == ["tent", "cold"]
    assert english(lex.find("palapinėmis")) == ["tent"]  # 4 letters after the stem
    assert english(lex.find("palapinėmisss")) == []  # too long an ending: another word
    assert english(lex.find("katalogas")) == []  # short stems take short endings only
    assert english(lex.find("katės")) == ["cat"]


def test_diacritics_are_optional_and_longer_forms_win() -> None:
    lex = lexicon.parse("xx", SAMPLE)
    assert english(lex.find("silta palapine")) == ["tent"]
    found = lex.find("miegamąjį maišą ir dar kažką")
    assert english(found) == ["sleeping bag"] and found.covered == 2
    assert found.leftovers == ["ir", "dar", "kazka"]


def test_homonyms_give_every_concept_and_particles_come_off() -> None:
    lex = lexicon.parse("xx", SAMPLE)
    assert {c.english for c in lex.find("krova").concepts} == {("charge", "shipping"), ("shipping",)}
    assert english(lex.find("والpalapinė")) == ["tent"]  # attached particles are tried off


def test_substring_lexicons_take_the_longest_form() -> None:
    lex = lexicon.parse("zz", "@substrings\nsleeping bag = 睡袋\nsleep = 睡\nwater = 水\nwaterproof = 防水\n")
    assert english(lex.find("防水的睡袋和水")) == ["waterproof", "sleeping bag", "water"]


def test_a_malformed_line_is_named() -> None:
    with pytest.raises(ValueError, match=r"xx.txt:2: expected 'english words = forms'"):
        lexicon.parse("xx", "tent = palapinė\njust words\n")


def test_the_shipped_lexicons_load_and_are_large() -> None:
    assert {"lt", "tr", "ar", "zh"} <= lexicon.languages()
    for lang in lexicon.languages():
        lex = lexicon.load(lang)
        assert lex is not None and len(lex.concepts) >= 400, lang
    assert lexicon.load("xx") is None


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Ieškau šiltų pirštinių vaikui", "lt"),
        ("cocuguma sicak tutan eldiven lazim", "tr"),  # typed without Turkish letters
        ("قفازات دافئة لابني", "ar"),
        ("给孩子买保暖手套", "zh"),
        ("warm gloves for my son", "en"),
        ("Ich brauche warme Handschuhe", None),  # no lexicon knows German
    ],
)
def test_query_language(text: str, lang: str | None) -> None:
    assert detect(text, prefer="en") == lang


def test_rewrite_into_english_keeps_numbers_and_the_catalogs_own_words() -> None:
    said = rewrite("Nordvik kuprinė 40 litrų žygiui", "en", lambda w: w == "nordvik")
    words = said.split()
    assert {"backpack", "hiking", "40", "nordvik"} <= set(words)
    assert "litru" not in words  # a word neither the lexicon nor the catalog knows is dropped


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kepurė ir pirštinės žiemai", {"hat", "gloves", "winter"}),
        ("kışlık şapka ve eldiven", {"hat", "gloves", "winter"}),
        ("قبعة وقفازات للشتاء", {"hat", "gloves", "winter"}),
        ("冬天的帽子和手套", {"hat", "gloves", "winter"}),
    ],
)
def test_each_language_reaches_the_same_english_concepts(query: str, expected: set[str]) -> None:
    assert expected <= set(rewrite(query, "en").split())


def test_rewrite_pivots_between_two_other_languages_through_english() -> None:
    assert set(rewrite("warm gloves", "lt").split()) >= {"šiltas", "pirštinės"}
    assert "pirštinės" in rewrite("eldiven", "lt").split()


def test_no_rewrite_when_it_cannot_help() -> None:
    assert rewrite("warm gloves for winter", "en") == ""  # already the catalog's language
    assert rewrite("warme Handschuhe", "en") == ""  # a language without a lexicon
    assert rewrite("pirštinės", None) == ""  # catalog language unknown
    assert rewrite("pirštinės", "de") == ""  # no lexicon to say it in


def test_catalog_language_is_the_language_most_rows_are_written_in() -> None:
    english = ["Trekking tent for two", "Warm winter sleeping bag", "Waterproof hiking boots", "Steel mug"]
    lithuanian = ["Dvivietė palapinė žygiams", "Šiltas žieminis miegmaišis", "Neperšlampami žygio batai"]
    assert catalog_language(english) == "en"
    assert catalog_language(lithuanian) == "lt"
    assert catalog_language(["SKU-1", "SKU-2"]) is None
