"""Who a notice did not reach: the list under a delivery report's "查看未送达名单" button.

Scoped (the caller's members only, through the service), paged, each person named with their
organisation and the last digits of their phone (two 王芳 are told apart), and why.
"""

from __future__ import annotations

from telegram import Update

from bot.context import Ctx
from bot.i18n import Markup, Translator
from bot.labels import label
from bot.notices import callbacks as cb
from bot.notices.models import Unreached
from handlers import keyboards as kb
from handlers.base import answer, edit_or_reply, reply, translator
from handlers.notices.status import PER_PAGE, load

__all__ = ["person_line", "unreached_list"]


def person_line(tr: Translator, name: str, group: str, phone_tail: str) -> Markup:
    """"王芳（花木街道新联会，尾号 1234）": a name others of the same name can be told from."""
    details = [group] if group else []
    if phone_tail:
        details.append(str(tr("notice.person.phone", digits=phone_tail)))
    if not details:
        return tr.join([name])
    return tr("notice.person", name=name, details=str(tr("notice.person.sep")).join(details))


def _lines(tr: Translator, people: list[Unreached]) -> list[str]:
    return [
        str(tr("notice.unreached.line", person=person_line(tr, p.name or "-", p.group_name, p.phone_tail),
               reason=label(tr, "unreached", p.reason)))
        for p in people
    ]


async def unreached_list(update: Update, context: Ctx) -> None:
    paging = update.callback_query is not None and (update.callback_query.data or "").startswith("ntl:up:")
    loaded = await load(update, context, cb.UNREACHED_PAGE if paging else cb.UNREACHED)
    if loaded is None:
        return
    who, pressed, row = loaded
    await answer(update)
    tr = await translator(update, context)
    page = pressed.num("page")
    people, total = await context.services.notices.unreached(who, row.id, page, PER_PAGE)
    if total == 0:
        text = tr("notice.unreached.none")
    else:
        text = Markup("\n".join([tr("notice.unreached.title", id=row.id, total=total), *_lines(tr, people)]))
    pages = max(1, (total + PER_PAGE - 1) // PER_PAGE)
    nav = []
    if page > 0:
        nav.append(kb.button(tr("notice.btn.prev"), cb.UNREACHED_PAGE.data(id=row.id, page=page - 1)))
    if page + 1 < pages:
        nav.append(kb.button(tr("notice.btn.next"), cb.UNREACHED_PAGE.data(id=row.id, page=page + 1)))
    keyboard = kb.inline([nav, [kb.button(tr("notice.btn.back"), cb.VIEW.data(id=row.id))]])
    if paging:
        await edit_or_reply(update, text, keyboard)
    else:  # from the report: the report stays as it is
        await reply(update, text, keyboard)
