"""Texts of activities for people: the activity card and the messages the bot sends on its own
(announcements, offers, promotions, reminders, surveys, cancellations), each in the RECIPIENT's
resolved language (their /language choice, else the Telegram language last seen, else default)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from bot import when
from bot.activities.models import Activity, Recipient
from bot.callbacks import Button
from bot.config import Language
from bot.i18n import Catalog, Markup, normalise_language
from storage.outbox import OutgoingMessage

# One outbox button: (catalogue key of its text, its declaration, the declaration's values).
OutButton = tuple[str, Button, Mapping[str, int | str]]


class Messages:
    def __init__(self, catalog: Catalog, zone: ZoneInfo) -> None:
        self.catalog = catalog
        self.zone = zone

    def language(self, code: str | None) -> Language:
        """A recipient's language from `COALESCE(choice, Telegram's last seen)`, else the default."""
        return normalise_language(code, self.catalog.default)

    def card(self, lang: Language, a: Activity, *, titled: bool = True) -> Markup:
        """The activity as users see it (title unless the message above already names it, time,
        place, seats)."""
        tr = self.catalog.for_lang(lang)
        lines = [tr("act.card.title", title=a.title)] if titled else []
        lines.append(tr("act.card.when", when=when.span(tr, a.starts_at, a.ends_at, self.zone)))
        if a.place:
            lines.append(tr("act.card.place", place=a.place))
        if a.description:
            lines.append(tr("act.card.description", text=a.description))
        if a.capacity is not None:
            lines.append(tr("act.card.seats", taken=a.seats_taken, capacity=a.capacity))
        lines.append(tr("act.card.deadline", deadline=when.moment(tr, a.signup_deadline, self.zone)))
        if a.status == "cancelled":
            lines.append(tr("act.card.cancelled"))
        elif a.status == "closed":
            lines.append(tr("act.card.closed"))
        return Markup("\n".join(lines))

    def outgoing(
        self,
        kind: str,
        ref: int,
        who: Recipient,
        key: str,
        a: Activity,
        buttons: Sequence[Sequence[OutButton]] = (),
        **values: Any,
    ) -> OutgoingMessage:
        """One outbox message for `who`, in their language, with the activity's card."""
        lang = self.language(who.language)
        tr = self.catalog.for_lang(lang)
        text = tr(key, title=a.title, **values) + "\n\n" + self.card(lang, a, titled=False)
        markup = (
            {
                "inline_keyboard": [
                    [{"text": str(tr(label)), "callback_data": button.data(**fields)} for label, button, fields in row]
                    for row in buttons
                ]
            }
            if buttons
            else None
        )
        return OutgoingMessage(kind, ref, who.user_id, text, who.member_id, markup)
