"""Demo data: a sample association for the sandbox (`liaison-bot sandbox --demo`).

The data lives in ``bot/demo_data.toml``: the 1 + 6 + N group tree, a few dozen members in the
four categories, coordinators, and (when their tables exist in the migrated schema) upcoming
activities with sign-ups and some feedback items. Some members are "personas": the CLI creates
them as sandbox users so one person can play a coordinator and members in the web chat.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from storage.db import Database, Tx
from storage.demo import DemoRepo, DemoSkippedError
from storage.timefmt import to_db

log = logging.getLogger(__name__)
DATA_FILE = Path(__file__).with_name("demo_data.toml")


@dataclass(frozen=True)
class Persona:
    user_id: int
    first_name: str
    last_name: str | None
    language_code: str
    note: str


@dataclass
class DemoSummary:
    loaded: bool = False
    groups: int = 0
    members: int = 0
    coordinators: int = 0
    activities: int = 0
    feedback: int = 0
    personas: list[Persona] = field(default_factory=list)
    others: list[Persona] = field(default_factory=list)  # members with a Telegram id whom nobody plays
    chat_title: str | None = None  # a group chat with the bot and the personas
    skipped: list[str] = field(default_factory=list)


def load_data(path: Path = DATA_FILE) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def personas(data: dict[str, Any], *, played: bool = True) -> list[Persona]:
    """Members with a Telegram user id who are personas (``played``) or not (the other members)."""
    found = []
    for member in data.get("members", []):
        if bool(member.get("persona")) == played and member.get("user_id"):
            first, _, last = str(member["name"]).partition(" ")
            found.append(Persona(int(member["user_id"]), first, last or None, str(member.get("persona", "zh-hans")),
                                 str(member.get("note", ""))))
    return found


async def load_demo(db: Database, now: datetime, zone: ZoneInfo, owner_id: int,
                    data: dict[str, Any] | None = None) -> DemoSummary:
    """Fill an empty database with the sample association; does nothing if groups exist."""
    data = data or load_data()
    repo = DemoRepo(db)
    summary = DemoSummary(personas=personas(data), others=personas(data, played=False),
                          chat_title=data.get("chat_title"))
    if not await repo.is_empty():
        log.info("demo: the database already holds groups; demo data not loaded")
        return summary
    stamp = to_db(now)
    group_ids: dict[str, int] = {}
    member_ids: dict[str, int] = {}
    async with db.transaction() as tx:
        paths: dict[str, str] = {}
        for group in data["groups"]:
            parent = group.get("parent")
            group_id = await repo.add_group(tx, group["name"], group["kind"], group_ids.get(parent) if parent else None,
                                            paths.get(parent, "/") if parent else "/",
                                            bool(group.get("requires_approval", False)), stamp)
            group_ids[group["key"]] = group_id
            paths[group["key"]] = await repo.group_path(tx, group_id)
        for number, member in enumerate(data["members"]):
            status = str(member.get("status", "active"))
            user_id = member.get("user_id")
            member_id = await repo.add_member(
                tx, user_id=user_id, status=status, name=member["name"], category=member["category"],
                organisation=member.get("organisation", ""), position=member.get("position", ""),
                phone=f"+86139{number + 1:08d}", now=stamp)
            member_ids[member["name"]] = member_id
            if user_id:  # every demo member with a Telegram id has started the bot: notices reach them
                await repo.add_bot_user(tx, int(user_id), str(member.get("persona", "zh-hans")), stamp)
            for tag in member.get("expertise", []):
                await repo.add_expertise(tx, member_id, tag)
            for key in member.get("groups", []):
                await repo.join_group(tx, member_id, group_ids[key], "active" if status == "active" else "pending",
                                      stamp)
            for key in member.get("coordinates", []):
                await repo.appoint(tx, int(user_id), group_ids[key], owner_id, stamp)
                summary.coordinators += 1
    summary.loaded = True
    summary.groups = len(group_ids)
    summary.members = len(member_ids)
    tables = await repo.tables()
    if "activities" in tables:
        try:
            summary.activities = await _activities(db, repo, data, tables, group_ids, member_ids, now, zone, owner_id)
        except DemoSkippedError as exc:
            summary.skipped.append(f"activities: {exc}")
    if "feedback_items" in tables:
        try:
            summary.feedback = await _feedback(db, repo, data, tables, group_ids, member_ids, now, owner_id)
        except DemoSkippedError as exc:
            summary.skipped.append(f"feedback: {exc}")
    for note in summary.skipped:
        log.info("demo: skipped %s", note)
    return summary


async def _activities(db: Database, repo: DemoRepo, data: dict[str, Any], tables: set[str],
                      group_ids: dict[str, int], member_ids: dict[str, int], now: datetime, zone: ZoneInfo,
                      owner_id: int) -> int:
    activity_cols = await repo.columns("activities")
    group_cols = await repo.columns("activity_groups") if "activity_groups" in tables else None
    signup_cols = await repo.columns("activity_signups") if "activity_signups" in tables else None
    stamp = to_db(now)
    today = now.astimezone(zone).date()
    count = 0
    async with db.transaction() as tx:
        for item in data.get("activities", []):
            day = today + timedelta(days=int(item["days"]))
            starts = datetime.combine(day, time(int(item["hour"])), zone)
            ends = starts + timedelta(hours=int(item.get("hours", 2)))
            groups = [group_ids[key] for key in item.get("groups", [])]
            row = {"title": item["title"], "description": item.get("description", ""),
                   "place": item.get("place", ""), "starts_at": to_db(starts), "ends_at": to_db(ends),
                   "signup_deadline": to_db(starts - timedelta(hours=12)), "capacity": item.get("capacity"),
                   "status": "published", "has_groups": int(bool(groups)), "created_by": owner_id,
                   "created_at": stamp, "updated_at": stamp}
            activity_id = await _insert(repo, tx, "activities", row, activity_cols)
            count += 1
            if group_cols is not None:
                for group_id in groups:
                    await _insert(repo, tx, "activity_groups", {"activity_id": activity_id, "group_id": group_id},
                                  group_cols)
            if signup_cols is not None:
                names = [n for n in item.get("signed_up", []) if n in member_ids]
                for name in names:
                    await _insert(repo, tx, "activity_signups",
                                  {"activity_id": activity_id, "member_id": member_ids[name], "status": "confirmed",
                                   "created_at": stamp, "updated_at": stamp}, signup_cols)
                if names and any(c.name == "seats_taken" for c in activity_cols):
                    await repo.add_to_count(tx, "activities", "seats_taken", activity_id, len(names))
    return count


async def _feedback(db: Database, repo: DemoRepo, data: dict[str, Any], tables: set[str],
                    group_ids: dict[str, int], member_ids: dict[str, int], now: datetime, owner_id: int) -> int:
    item_cols = await repo.columns("feedback_items")
    author_cols = await repo.columns("feedback_authors") if "feedback_authors" in tables else None
    scope_cols = await repo.columns("feedback_groups") if "feedback_groups" in tables else None
    groups_of = {m["name"]: [group_ids[k] for k in m.get("groups", [])] for m in data.get("members", [])}
    count = 0
    async with db.transaction() as tx:
        for number, item in enumerate(data.get("feedback", []), start=1):
            created = now - timedelta(days=int(item.get("days_ago", 1)))
            anonymous = bool(item.get("anonymous", False))
            member_id = member_ids.get(str(item.get("author")))
            answered = item.get("answer") is not None
            row = {"year": created.year, "seq": number, "ref": f"FB-{created.year}-{number:04d}",
                   "kind": item["kind"], "body": item["body"], "anonymous": int(anonymous),
                   "author_member_id": None if anonymous else member_id, "status": item.get("status", "new"),
                   "assignee_user_id": owner_id if item.get("status", "new") != "new" else None,
                   "answer": item.get("answer"), "answered_at": to_db(now) if answered else None,
                   "answered_by": owner_id if answered else None,
                   "due_at": to_db(created + timedelta(days=14)), "created_at": to_db(created),
                   "updated_at": to_db(created)}
            feedback_id = await _insert(repo, tx, "feedback_items", row, item_cols)
            count += 1
            user_id = _user_id_of(data, str(item.get("author")))
            if author_cols is not None and member_id is not None and user_id is not None:
                await _insert(repo, tx, "feedback_authors",
                              {"feedback_id": feedback_id, "member_id": member_id, "user_id": user_id,
                               "created_at": to_db(created)}, author_cols)
            if scope_cols is not None:
                for group_id in groups_of.get(str(item.get("author")), []):
                    path = await repo.group_path(tx, group_id)
                    await _insert(repo, tx, "feedback_groups",
                                  {"feedback_id": feedback_id, "group_id": group_id, "path": path}, scope_cols)
    return count


def _user_id_of(data: dict[str, Any], name: str) -> int | None:
    for member in data.get("members", []):
        if member["name"] == name and member.get("user_id"):
            return int(member["user_id"])
    return None


async def _insert(repo: DemoRepo, tx: Tx, table: str, row: dict[str, Any], columns: list[Any]) -> int:
    row_id = await repo.insert_flexible(tx, table, row, columns)
    if row_id is None:
        raise DemoSkippedError(f"{table} has required columns the demo does not know")
    return row_id
