"""Thin adapters from the Mini App's JSON API onto the feature services (the same calls as the chat).

Every function takes the `Services`, the caller's `Actor` (resolved by `RoleService.actor`, as in
the chat) and plain request values, and returns JSON-ready data. Notices, feedback and the ledger
are being restructured on other branches: their views are the functions in this module only, so
re-pointing them after the merge touches nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from typing import Any

from bot import labels
from bot.activities import roster_file
from bot.config import Language
from bot.feedback.models import OPEN_STATUSES
from bot.notices import Draft as NoticeDraft
from bot.notices.models import Segment
from bot.notices.timing import parse_repeat
from bot.roles import AccessDenied, Actor, RoleService
from bot.services import Services
from bot.webapp import cache
from storage import webapp as webapp_store
from storage.outbox import OutgoingMessage, enqueue
from storage.timefmt import to_db

PER_PAGE = 50  # rows of a table
BOARD_PAGE = 20  # cards of a board column


class BadRequest(ValueError):
    """A request the API cannot read (400)."""


def jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: jsonable(v) for k, v in asdict(value).items()}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def lang_of(actor_lang: str | None) -> Language:
    return "en" if actor_lang == "en" else "zh-Hans"


def _label(tr: Any, kind: str, value: str | None) -> str:
    """`labels.label`, showing a value the catalogue does not know (older data) as stored."""
    if value is not None and value not in labels.KINDS.get(kind, ()):
        return value
    return labels.label(tr, kind, value)


def coordinator(actor: Actor) -> None:
    RoleService.require_coordinator(actor)


async def tell(services: Services, user_id: int | None, kind: str, ref_id: int, key: str, **values: Any) -> None:
    """A message to one person through the outbox, in their resolved language."""
    if user_id is None:
        return
    lang = lang_of(await services.users.language(user_id))
    text = services.catalog.text(lang, key, **values)
    async with services.db.transaction() as tx:
        await enqueue(tx, [OutgoingMessage(kind, ref_id, user_id, str(text), priority=1)], services.clock.now())
    services.delivery.wake()


# --- me ---------------------------------------------------------------------------------------------
async def me(services: Services, actor: Actor, lang: str) -> dict[str, Any]:
    groups = await services.org.visible_groups(actor) if actor.is_coordinator else []
    tr = services.catalog.for_lang(lang_of(lang))
    return {
        "user_id": actor.user_id, "role": actor.role.name.lower(), "lang": lang_of(lang),
        "groups": [{"id": g.id, "name": g.name, "path": g.path} for g in groups],
        "categories": [{"key": c, "label": _label(tr, "category", c)} for c in labels.KINDS["category"]],
    }


# --- members ------------------------------------------------------------------------------------------
async def members(services: Services, actor: Actor, q: dict[str, str], lang: str) -> dict[str, Any]:
    """One page of the scoped directory (keyset: `after` is the last row's key), the total cached."""
    coordinator(actor)
    criteria: dict[str, Any] = {}
    if q.get("group"):
        criteria["group_id"] = _int(q["group"])
    for key in ("category", "expertise", "name"):
        if q.get(key):
            criteria[key] = q[key][:100]
    flt = await services.org.search_filter(actor, **criteria)
    after = _cursor(q.get("after"))
    rows = await webapp_store.directory_page(services.db, flt, after, PER_PAGE + 1)
    more = len(rows) > PER_PAGE
    rows = rows[:PER_PAGE]
    count_key = ("directory", flt.paths, tuple(sorted(criteria.items())))
    total = await cache.of(services.db).counts.get(count_key, lambda: webapp_store.directory_count(services.db, flt))
    tr = services.catalog.for_lang(lang_of(lang))
    return {"total": total, "per_page": PER_PAGE,
            "next": _key(rows[-1].name, rows[-1].id) if more and rows else None,
            "items": [{"id": m.id, "name": m.name, "category": _label(tr, "category", m.category),
                       "organisation": m.organisation, "expertise": list(m.expertise)} for m in rows]}


def _key(*parts: object) -> str:
    return json.dumps(parts, ensure_ascii=False, separators=(",", ":"))


def _cursor(text: str | None) -> Any:
    """The key a page starts after (the previous page's `next`), or None for the first page."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise BadRequest("bad cursor") from exc
    if (not isinstance(value, list) or len(value) != 2 or not isinstance(value[0], str)
            or not isinstance(value[1], int) or isinstance(value[1], bool)):
        raise BadRequest("bad cursor")
    return value[0], value[1]


async def member_card(services: Services, actor: Actor, member_id: int, lang: str) -> dict[str, Any]:
    await services.roles.require_member_in_scope(actor, member_id)
    member = await services.members.get(member_id)
    if member is None:
        raise AccessDenied("no such member")
    tr = services.catalog.for_lang(lang_of(lang))
    groups = await services.members.memberships_in_scope(actor, member)
    return {"id": member.id, "name": member.name, "category": _label(tr, "category", member.category),
            "organisation": member.organisation, "position": member.position, "phone": member.phone,
            "expertise": list(member.expertise), "interests": member.interests, "status": member.status,
            "groups": [g.group_name for g in groups]}


async def approvals(services: Services, actor: Actor, q: dict[str, str] | None = None) -> dict[str, Any]:
    """One page of the join requests in scope, oldest first (keyset), and their cached total."""
    coordinator(actor)
    after: tuple[str, int, int] | None = None
    if q and q.get("after"):
        try:
            raw = json.loads(q["after"])
            after = (str(raw[0]), int(raw[1]), int(raw[2]))
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            raise BadRequest("bad cursor") from exc
    paths = actor.scope.paths_or_none
    rows = await webapp_store.pending_page(services.db, paths, after, PER_PAGE + 1)
    more = len(rows) > PER_PAGE
    rows = rows[:PER_PAGE]
    total = await cache.of(services.db).counts.get(("pending", paths),
                                                   lambda: webapp_store.pending_count(services.db, paths))
    last = rows[-1] if rows else None
    return {"total": total, "items": [jsonable(r) for _, r in rows],
            "next": _key(last[0], last[1].member_id, last[1].group_id) if more and last else None}


async def decide(services: Services, actor: Actor, member_id: int, group_id: int, approve: bool,
                 reason: str | None) -> dict[str, Any]:
    await services.roles.require_group(actor, group_id)
    done = await services.members.decide(actor.user_id, member_id, group_id, approve, reason)
    member = await services.members.get(member_id)
    group = await services.org.group(group_id)
    if done and member is not None and group is not None:
        key = "members.approvals.approved_member" if approve else "members.approvals.rejected_member"
        await tell(services, member.user_id, "approval", member_id, key, group=group.name, reason=reason or "")
    return {"done": done}


# --- activities ---------------------------------------------------------------------------------------
async def activities(services: Services, actor: Actor, q: dict[str, str]) -> dict[str, Any]:
    coordinator(actor)
    page = max(0, _int(q.get("page", "0")))
    rows = await services.activities.manageable_upcoming(actor)
    part = rows[page * PER_PAGE:(page + 1) * PER_PAGE]
    return {"page": page, "total": len(rows), "items": [
        {"id": a.id, "title": a.title, "place": a.place, "starts_at": a.starts_at.isoformat(),
         "ends_at": a.ends_at.isoformat(), "capacity": a.capacity, "seats_taken": a.seats_taken,
         "status": a.status} for a in part]}


async def roster(services: Services, actor: Actor, activity_id: int, lang: str) -> dict[str, Any]:
    found = await services.activities.roster(actor, activity_id)
    if found is None:
        raise AccessDenied("activity outside scope")
    a, entries = found
    return {"activity": jsonable(a) | {"checkin_code": None}, "items": [
        {"member_id": e.member_id, "name": e.name, "status": e.status,
         "status_label": labels.label(services.catalog.for_lang(lang_of(lang)), "signup_status", e.status),
         "checked_in": e.checked_in_at is not None} for e in entries]}


# (chat id, file name, bytes, caption, as a photo) -> (attachment type, Telegram file id): the bot sends a
# file into someone's chat (handlers/webapp.py `file_sender`)
SendFile = Callable[[int, str, bytes, str, bool], Awaitable[tuple[str, str]]]


async def export_roster(services: Services, actor: Actor, activity_id: int, lang: str,
                        send_file: SendFile | None) -> dict[str, Any]:
    """The roster as CSV, sent to the coordinator's own chat (the chat's export, audited by the service).

    The file is the chat's (bot/activities/roster_file.py, the one roster builder)."""
    if send_file is None:
        raise BadRequest("files cannot be sent from here")
    a, entries = await services.activities.export_roster(actor, activity_id, "csv")
    data = roster_file.roster_csv(services.catalog.for_lang(lang_of(lang)), entries, services.settings.zone)
    await send_file(actor.user_id, f"roster-{a.id}.csv", data, a.title, False)
    return {"sent": True, "rows": len(entries)}


async def check_in(services: Services, actor: Actor, activity_id: int, member_id: int,
                   body: dict[str, Any]) -> dict[str, Any]:
    """The roster's check-in toggle, the chat's rule (`toggle_attended`): a tap marks (inside the
    check-in window, else only with `confirm`), a tap on a checked-in member undoes it."""
    result = await services.activities.toggle_attended(actor, activity_id, member_id,
                                                       outside_window=bool(body.get("confirm")))
    opens = result.extra.get("opens")
    return {"done": result.code, "checked_in": result.code == "marked"} | (
        {"opens": opens.isoformat()} if isinstance(opens, datetime) else {})


def _when(text: Any) -> datetime:
    try:
        value = datetime.fromisoformat(str(text))
    except ValueError as exc:
        raise BadRequest("bad date") from exc
    if value.tzinfo is None:
        raise BadRequest("date without zone")
    return value


async def create_activity(services: Services, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
    from bot.activities.models import Draft

    coordinator(actor)
    try:
        draft = Draft(
            title=str(body["title"])[:200], description=str(body.get("description", ""))[:2000],
            place=str(body.get("place", ""))[:200], starts_at=_when(body["starts_at"]), ends_at=_when(body["ends_at"]),
            signup_deadline=_when(body.get("signup_deadline") or body["starts_at"]),
            capacity=None if body.get("capacity") in (None, "") else int(body["capacity"]),
            group_ids=tuple(int(g) for g in body.get("group_ids", ())),
            categories=tuple(str(c) for c in body.get("categories", ())),
            survey=bool(body.get("survey", False)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BadRequest("bad activity") from exc
    result = await services.activities.create(actor, draft)
    assert result.activity is not None
    return {"id": result.activity.id, "recipients": result.extra.get("recipients", 0)}


async def edit_activity(services: Services, actor: Actor, activity_id: int, body: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for key in ("title", "place", "description"):
        if key in body:
            changes[key] = str(body[key])[:2000]
    for key in ("starts_at", "ends_at"):
        if key in body:
            changes[key] = _when(body[key])
    result = await services.activities.edit(actor, activity_id, changes)
    return {"done": result.code, "told": result.extra.get("told", 0)}


# --- notices --------------------------------------------------------------------------------------------
async def notices(services: Services, actor: Actor, q: dict[str, str]) -> dict[str, Any]:
    """One page of the notices in scope (the chat's /notices list), with their delivery and
    acknowledgement figures counted for the page at once."""
    rows = await services.notices.listing(actor)
    page = max(0, _int(q.get("page", "0")))
    part = rows[page * BOARD_PAGE:(page + 1) * BOARD_PAGE]
    figures = await webapp_store.notice_figures(services.db, [row.id for row in part])
    items = []
    for row in part:
        recipients, delivered, failed, acknowledged = figures[row.id]
        items.append({"id": row.id, "text": row.text[:200], "status": row.status,
                      "due": row.next_due_at.isoformat() if row.next_due_at else None,
                      "recipients": recipients, "delivered": delivered, "failed": failed,
                      "acknowledged": acknowledged})
    return {"page": page, "total": len(rows), "per_page": BOARD_PAGE, "items": items}


async def notice(services: Services, actor: Actor, notice_id: int, q: dict[str, str]) -> dict[str, Any]:
    row, st = await services.notices.stats(actor, notice_id)
    page = max(0, _int(q.get("page", "0")))
    pending, total = await services.notices.pending(actor, notice_id, page, PER_PAGE)
    # by group over the whole notice (every page), after the service checked the scope above
    by_group = dict(await webapp_store.not_acked_by_group(services.db, row.id))
    return {"id": row.id, "text": row.text, "status": row.status, "stats": jsonable(st),
            "pending": {"page": page, "total": total, "items": jsonable(pending), "by_group": by_group}}


async def nudge(services: Services, actor: Actor, notice_id: int) -> dict[str, Any]:
    return {"queued": await services.notices.nudge(actor, notice_id)}


def _segment(body: dict[str, Any]) -> Segment:
    try:
        groups = tuple(int(g) for g in body.get("group_ids", ()))
        categories = tuple(str(c) for c in body.get("categories", ()))
    except (TypeError, ValueError) as exc:
        raise BadRequest("bad audience") from exc
    return Segment(everyone=bool(body.get("everyone")) or (not groups and not categories),
                   group_ids=groups, categories=categories)


async def audience(services: Services, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
    return {"count": await services.notices.count(actor, _segment(body))}


async def compose(services: Services, actor: Actor, body: dict[str, Any], lang: str) -> dict[str, Any]:
    """Preview (`send` false: the recipient count and the text as sent) or create the notice."""
    segment = _segment(body)
    text = str(body.get("text", ""))
    zone = services.ledger.zone
    at = _when(body["at"]) if body.get("at") else None
    recurrence = until = None
    if body.get("repeat"):
        parsed = parse_repeat(str(body["repeat"]), zone)
        if parsed is None:
            raise BadRequest("bad repeat")
        recurrence, until = parsed
    draft = NoticeDraft(text=text, segment=segment, at=at, recurrence=recurrence, until=until,
                        urgent=bool(body.get("urgent", False)))
    count = await services.notices.count(actor, segment)
    if not body.get("send"):
        return {"preview": True, "count": count, "text": text}
    created = await services.notices.create(actor, draft, lang_of(lang))
    return {"id": created.notice_id, "recipients": created.recipients,
            "due": created.due_at.isoformat() if created.due_at else None}


# --- feedback --------------------------------------------------------------------------------------------
async def feedback(services: Services, actor: Actor, q: dict[str, str]) -> dict[str, Any]:
    """One page of a board column (新 / 处理中 / 已答复 / 逾期) in scope, newest first (keyset: `before`)."""
    coordinator(actor)
    status = q.get("status") or None
    overdue_at = to_db(services.clock.now()) if status == "overdue" else None
    before = _int(q["before"]) if q.get("before") else None
    paths, db = actor.scope.paths_or_none, services.db
    ids = await webapp_store.board_page(db, paths, status, overdue_at, OPEN_STATUSES, before, BOARD_PAGE + 1)
    more = len(ids) > BOARD_PAGE
    ids = ids[:BOARD_PAGE]
    total = await cache.of(db).counts.get(
        ("board", paths, status), lambda: webapp_store.board_count(db, paths, status, overdue_at, OPEN_STATUSES))
    now = to_db(services.clock.now())
    items = [{"id": i.id, "ref": i.ref, "kind": i.kind, "body": i.body[:300], "status": i.status,
              "overdue": i.status in OPEN_STATUSES and i.due_at < now,
              "author": i.author_name, "assignee": i.assignee_user_id, "groups": list(i.group_names),
              "answer": i.answer, "attachments": i.attachments}
             for i in await webapp_store.board_cards(db, ids)]  # in scope: the page's query applied it
    return {"total": total, "next": ids[-1] if more and ids else None, "items": items}


async def feedback_action(services: Services, actor: Actor, item_id: int, action: str,
                          body: dict[str, Any]) -> dict[str, Any]:
    fb = services.feedback
    if action == "assign":
        to = int(body.get("user_id") or actor.user_id)
        return {"ref": await fb.assign(actor, item_id, to)}
    if action == "note":
        await fb.add_note(actor, item_id, str(body.get("text", "")))
        return {"done": True}
    if action == "answer":
        text = str(body.get("text", ""))
        if not body.get("send"):
            await fb.view(actor, item_id)
            return {"preview": True, "text": fb.clean_text(text)}
        item, chat_id = await fb.answer(actor, item_id, text)
        if chat_id is not None:
            await tell(services, chat_id, "fb_answer", item.id, "fb.answer_to_member", ref=item.ref,
                       text=item.body[:200], answer=item.answer or "")
        return {"ref": item.ref, "status": item.status}
    raise BadRequest("unknown action")


def _int(text: str | None) -> int:
    if text is None or not text.isascii() or not text.lstrip("-").isdigit() or len(text) > 12:
        raise BadRequest("not a number")
    return int(text)


__all__ = ["AccessDenied", "BadRequest", "NoticeDraft"]
