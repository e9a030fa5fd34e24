"""One label source: every enum-like value shown to people goes through the catalogue.

A stored value (a category key, a status, a feedback type, a group kind...) is shown as the
catalogue text ``label.<kind>.<value>`` in the reader's language, in every output: messages,
charts, the PDF summary, XLSX/CSV workbooks and /mydata JSON. `KINDS` lists every kind and its
values; `tests/test_labels.py` checks that both languages have a text for each.
"""

from __future__ import annotations

from collections.abc import Callable

# kind -> every value that can be stored (keep in step with the migrations' CHECK constraints)
# (texts: bot/locales/<lang>/LC_MESSAGES/labels.po).
KINDS: dict[str, tuple[str, ...]] = {
    "category": ("enterprise", "intermediary", "freelancer", "new_media", "other"),
    "member_status": ("active", "pending", "left", "erased"),
    "membership_status": ("active", "pending", "left", "rejected"),
    "group_kind": ("head", "sub", "local", "club"),
    "activity_status": ("published", "closed", "cancelled"),
    "signup_status": ("confirmed", "waiting", "offered", "not_going", "cancelled"),
    "feedback_kind": ("suggestion", "need", "complaint", "other"),
    "feedback_status": ("new", "assigned", "in_progress", "answered", "closed"),
    "survey_status": ("open", "closed"),
    "notice_status": ("scheduled", "recurring", "sent", "cancelled", "missed", "done"),
}

TextOf = Callable[[str], object]  # a translator: key -> text (bot.i18n.Translator or Catalog.text bound)


def key(kind: str, value: str) -> str:
    return f"label.{kind}.{value}"


def label(text_of: TextOf, kind: str, value: str | None) -> str:
    """The people's word for `value` of `kind` (an empty string for None)."""
    if value is None or value == "":
        return ""
    return str(text_of(key(kind, value)))


def register(kind: str, values: tuple[str, ...]) -> None:
    """A feature declares its kinds (at import); a kind declared twice must agree (same values)."""
    known = KINDS.get(kind)
    if known is not None and set(known) != set(values):
        raise ValueError(f"label kind {kind!r} declared twice with different values")
    KINDS.setdefault(kind, values)
