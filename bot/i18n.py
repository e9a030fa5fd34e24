"""Translation catalogue: gettext PO files with symbolic message ids.

Catalogues live in `bot/locales/<locale>/LC_MESSAGES/<feature>.po` (one file per feature,
so features never edit each other's files); msgids are keys such as ``start.welcome`` and
msgstrs are the texts, with ``{placeholders}``. Handler code never holds sentences.

Every placeholder value is HTML-escaped when the text is rendered, unless it is wrapped in
`Markup` (text that the bot itself built from already-escaped parts).
"""

from __future__ import annotations

import html
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

from bot.config import LANGUAGES, Language

LOCALES_DIR = Path(__file__).with_name("locales")
_LOCALE_DIRS: dict[Language, str] = {"zh-Hans": "zh_Hans", "en": "en"}
_FORMATTER = string.Formatter()


class Markup(str):
    """A string that is already safe HTML: inserted into texts without escaping."""

    __slots__ = ()


def escape(value: object) -> Markup:
    """Escape one user-supplied value for Telegram's HTML parse mode."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(str(value), quote=False))


def normalise_language(code: str | None, default: Language) -> Language:
    """Map Telegram's `language_code` (e.g. 'zh-hans', 'zh-CN', 'en-US') to a catalogue."""
    if not code:
        return default
    low = code.lower()
    if low.startswith("zh"):
        return "zh-Hans"
    if low.startswith("en"):
        return "en"
    return default


@dataclass(frozen=True)
class Catalog:
    messages: Mapping[Language, Mapping[str, str]]
    default: Language = "zh-Hans"

    @classmethod
    def load(cls, default: Language = "zh-Hans", directory: Path = LOCALES_DIR) -> Catalog:
        messages: dict[Language, dict[str, str]] = {}
        for lang in LANGUAGES:
            merged: dict[str, str] = {}
            for po in sorted((directory / _LOCALE_DIRS[lang] / "LC_MESSAGES").glob("*.po")):
                with po.open("rb") as handle:
                    catalog = read_po(handle, locale=_LOCALE_DIRS[lang])
                for message in catalog:
                    if not message.id or not isinstance(message.id, str):
                        continue
                    if message.id in merged:
                        raise ValueError(f"{po.name}: duplicate message id {message.id!r}")
                    merged[message.id] = str(message.string)
            messages[lang] = merged
        return cls(messages=messages, default=default)

    def keys(self, lang: Language) -> set[str]:
        return set(self.messages[lang])

    def has(self, key: str) -> bool:
        return key in self.messages[self.default]

    def text(self, lang: Language, key: str, **values: Any) -> Markup:
        """The text for `key` in `lang`, with escaped placeholder values."""
        template = self.messages.get(lang, {}).get(key) or self.messages[self.default].get(key)
        if template is None:
            raise KeyError(f"no text for {key!r}")
        if not values:
            return Markup(template)
        safe = {name: _render_value(value) for name, value in values.items()}
        return Markup(template.format_map(safe))

    def for_lang(self, lang: Language) -> Translator:
        return Translator(self, lang)


def _render_value(value: Any) -> Any:
    if isinstance(value, Markup | int | float):
        return value
    return escape(value)


@dataclass(frozen=True)
class Translator:
    """The catalogue bound to one language: ``tr("start.welcome", name=...)``."""

    catalog: Catalog
    lang: Language

    def __call__(self, key: str, **values: Any) -> Markup:
        return self.catalog.text(self.lang, key, **values)

    def join(self, parts: Iterable[str], sep: str = "\n") -> Markup:
        return Markup(sep.join(escape(p) for p in parts))


def placeholders(template: str) -> set[str]:
    """Names of the {placeholders} in a catalogue text (used by the catalogue tests)."""
    return {field for _, field, _, _ in _FORMATTER.parse(template) if field}


_KEY_USE = re.compile(r"""\btr\(\s*["']([a-z0-9_.]+)["']""")


def keys_used_in(source: str) -> set[str]:
    """Message keys referenced as tr(<literal key>) in Python source (catalogue tests)."""
    return set(_KEY_USE.findall(source))
