"""The one refusal type: every domain refusal is a catalogue key and its values.

A service raises ``Refusal("act.full", title=...)`` when a rule says no; the handler shows
``tr(refusal.key, **refusal.values)`` (values are escaped by the catalogue) and changes nothing.
`AccessDenied` (bot/roles.py) is the refusal for role and scope, answered with common.not_allowed.
"""

from __future__ import annotations

from typing import Any


class Refusal(Exception):
    """A domain rule refused the action: `key` names the catalogue text, `values` fill it."""

    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key = key
        self.values = values

    def __repr__(self) -> str:
        return f"Refusal({self.key!r}, {self.values!r})"
