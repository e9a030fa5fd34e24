"""One label source: every declared kind of enum-like value has a text in both languages."""

from __future__ import annotations

import bot.app  # noqa: F401 - imports every feature, so every label kind is declared
from bot import labels
from bot.config import LANGUAGES
from bot.i18n import Catalog


def test_every_label_kind_has_a_text_for_every_value_in_both_languages() -> None:
    catalog = Catalog.load("zh-Hans")
    missing = [
        f"{lang}: {labels.key(kind, value)}"
        for kind, values in labels.KINDS.items()
        for value in values
        for lang in LANGUAGES
        if labels.key(kind, value) not in catalog.messages[lang]
    ]
    assert missing == []


def test_a_label_is_the_catalogue_text_not_the_key() -> None:
    catalog = Catalog.load("zh-Hans")
    for lang in LANGUAGES:
        for value in labels.KINDS["category"]:
            text = labels.label(lambda key, lang=lang: catalog.text(lang, key), "category", value)
            assert text and text != value and not text.startswith("label.")
    assert labels.label(lambda key: key, "category", None) == ""
