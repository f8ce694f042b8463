"""Every label exists, as text, in every language (YAML would turn a bare yes/no into a boolean)."""

from __future__ import annotations

from channels import strings


def test_every_language_has_every_label_as_text() -> None:
    table = strings._table()
    keys = set(table[strings.DEFAULT])
    assert {"en", "lt", "tr", "ar", "zh"} <= set(table)
    for lang, entries in table.items():
        assert set(entries) == keys, lang
        assert all(value and value not in ("True", "False") for value in entries.values()), lang


def test_unknown_languages_fall_back_to_english() -> None:
    assert strings.label("pt-BR", "confirm_yes") == "Yes"
    assert strings.label("lt", "confirm_yes") == "Taip"
    assert strings.label("ar", "added", title="خيمة", count=1, subtotal="199.00", currency="EUR").startswith(
        "أُضيف"
    )
