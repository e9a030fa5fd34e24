"""Data rights: /mydata (every feature's part, assembled) and /forget (erasure).

/mydata asks each feature of `bot.app.FEATURES` for its `my_data` part (handlers/feature.py), so
a feature that stores something about members adds it there. Values are people's words
(bot/labels), not stored keys; the JSON keeps non-ASCII text as it is.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import CommandHandler

from bot import labels, member_data
from bot.context import Ctx, LiaisonApp
from bot.i18n import Markup
from bot.members.callbacks import FORGET_CONFIRM
from bot.members.models import CATEGORY, EXPERTISE_TAG, GROUP_KIND, MEMBER_STATUS, MEMBERSHIP_STATUS
from bot.roles import Role
from handlers import common
from handlers.base import answer, edit_or_reply, reply, send_direct, translator, user_id_of
from handlers.buttons import on
from handlers.members.common import summary_lines
from handlers.members.profile import confirm_or_keep
from handlers.menu import CommandMenu

if TYPE_CHECKING:
    from bot.services import Services


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def my_data(services: Services, member_id: int) -> dict[str, Any]:
    """The members feature's part of /mydata: profile, expertise and groups, in the member's language."""
    member = await services.members.get(member_id)
    if member is None:
        return {}
    lang = await services.users.language(member.user_id) if member.user_id is not None else services.catalog.default
    tr = services.catalog.for_lang(lang)
    profile = {
        "name": member.name,
        "category": labels.label(tr, CATEGORY, member.category),
        "organisation": member.organisation,
        "position": member.position,
        "phone": member.phone,
        "interests": member.interests,
        "expertise_note": member.expertise_note,
        "status": labels.label(tr, MEMBER_STATUS, member.status),
        "consent_at": _when(member.consent_at),
        "registered_at": _when(member.registered_at),
        "updated_at": _when(member.updated_at),
        "profile_confirmed_at": _when(member.profile_confirmed_at),
    }
    groups = []
    for m in await services.members.memberships(member):
        group = {
            "group": m.group_name,
            "kind": labels.label(tr, GROUP_KIND, m.kind),
            "status": labels.label(tr, MEMBERSHIP_STATUS, m.status),
        }
        if m.reason:
            group["reason"] = m.reason
        groups.append(group)
    chosen, telegram = await member_data.languages(services.db, member.user_id) if member.user_id else (None, None)
    return {
        "language": {"resolved": lang, "chosen": chosen, "telegram": telegram},
        "profile": profile,
        "expertise": [labels.label(tr, EXPERTISE_TAG, t) for t in member.expertise],
        "groups": groups,
    }


async def collect(services: Services, member_id: int) -> dict[str, Any]:
    """Every feature's part of a member's data, by feature name."""
    from bot.app import FEATURES  # the composition root imports this module: import when called

    data: dict[str, Any] = {}
    for feature in FEATURES:
        if feature.my_data is not None:
            part = await feature.my_data(services, member_id)
            if part:
                data[feature.name] = part
    return data


async def mydata(update: Update, context: Ctx) -> None:
    tr = await translator(update, context)
    services = context.services
    member = await services.members.registered(user_id_of(update))
    if member is None:
        await reply(update, tr("members.mydata.nothing"))
        return
    data = await collect(services, member.id)
    mine = data.get("members", {})
    profile = {**mine.get("profile", {}), "category": member.category, "expertise": list(member.expertise)}
    groups = ", ".join(f"{g['group']} ({g['status']})" for g in mine.get("groups", []))
    text = (
        tr("members.mydata.title")
        + "\n\n"
        + "\n".join(summary_lines(tr, profile))
        + "\n"
        + tr("members.mydata.groups", groups=groups or "-")
    )
    await reply(update, Markup(text))
    payload = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    chat = update.effective_chat
    if chat is not None:
        caption = str(tr("members.mydata.file"))
        # bytes, not a stream: a retry after a 429 uploads the whole file again
        await send_direct(
            update,
            context,
            lambda: chat.send_document(payload, filename="my-data.json", caption=caption),
            what="/mydata file",
        )


async def forget(update: Update, context: Ctx) -> None:
    tr = await translator(update, context)
    member = await context.services.members.by_user(user_id_of(update))
    if member is None:
        await reply(update, tr("members.mydata.nothing"))
        return
    await reply(update, tr("members.forget.ask"), confirm_or_keep(tr, "members.forget.confirm", FORGET_CONFIRM))


async def forget_confirm(update: Update, context: Ctx) -> None:
    await answer(update)
    tr = await translator(update, context)
    uid = user_id_of(update)
    services = context.services
    member = await services.members.by_user(uid)
    if member is None:
        await edit_or_reply(update, tr("members.mydata.nothing"))
        return
    # Anonymous or not, the member's feedback stays (counts, answers) but no longer leads to them.
    await services.feedback.forget_member(member.id)
    await services.members.erase(member)
    services.users.erased(uid)
    if context.user_data is not None:
        context.user_data.clear()
    persistence = context.application.persistence
    if persistence is not None:
        await persistence.drop_user_data(uid)
    context.application.drop_user_data(uid)
    await edit_or_reply(update, tr("members.forget.done"))
    await common.set_chat_commands(context, uid, Role.STRANGER, None, context.ui.menu)


def register(app: LiaisonApp, menu: CommandMenu) -> None:
    app.add_handler(CommandHandler("mydata", mydata, filters=common.COMMAND_FILTER))
    app.add_handler(CommandHandler("forget", forget, filters=common.COMMAND_FILTER))
    app.add_handler(on(FORGET_CONFIRM, forget_confirm))
    menu.add("mydata", "members.cmd.mydata", Role.STRANGER)
    menu.add("forget", "members.cmd.forget", Role.PENDING)
