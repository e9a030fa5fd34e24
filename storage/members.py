"""Members, their groups and expertise: SQL only.

Reads go through `MemberRepo` (a Database); writes are functions over the caller's transaction
(`Tx`): the service (bot/members/service.py) opens it and writes the audit row in it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.members.models import InviteUnavailable, Member, Membership, PendingRequest, Registration, SearchFilter
from storage.db import Database, Tx
from storage.scope import member_in, path_in
from storage.timefmt import opt_from_db, to_db

PROFILE_FIELDS = ("name", "category", "organisation", "position", "phone", "expertise_note", "interests")
_MEMBER_COLUMNS = (
    "id, user_id, status, name, category, organisation, position, phone, expertise_note, interests,"
    " consent_at, registered_at, updated_at, profile_confirmed_at, left_at"
)


def _member(row: Any, expertise: tuple[str, ...] = ()) -> Member:
    return Member(
        id=int(row["id"]),
        user_id=row["user_id"],
        status=str(row["status"]),
        name=row["name"],
        category=row["category"],
        organisation=row["organisation"],
        position=row["position"],
        phone=row["phone"],
        expertise_note=row["expertise_note"],
        interests=row["interests"],
        consent_at=opt_from_db(row["consent_at"]),
        registered_at=opt_from_db(row["registered_at"]),
        updated_at=opt_from_db(row["updated_at"]),
        profile_confirmed_at=opt_from_db(row["profile_confirmed_at"]),
        expertise=expertise,
    )


async def consume_invite(tx: Tx, token: str, now: datetime) -> int:
    """Count one use of an invite inside the caller's transaction; return its group id.

    The limit is enforced by the UPDATE's WHERE clause (and the table's CHECK), never by a
    read-then-write in Python.
    """
    stamp = to_db(now)
    changed = await tx.execute(
        "UPDATE invites SET uses = uses + 1 WHERE token = ? AND revoked_at IS NULL"
        " AND (expires_at IS NULL OR expires_at > ?) AND (max_uses IS NULL OR uses < max_uses)",
        (token, stamp),
    )
    if changed != 1:
        raise InviteUnavailable(token)
    group_id = await tx.fetchval(
        "SELECT i.group_id FROM invites i JOIN groups g ON g.id = i.group_id"
        " WHERE i.token = ? AND g.archived_at IS NULL",
        (token,),
    )
    if group_id is None:
        raise InviteUnavailable(token)
    return int(group_id)


async def claim_due_refresh(
    tx: Tx, now: datetime, retry: timedelta, limit: int = 200
) -> list[tuple[int, int, str | None]]:
    """Claim members whose profile check is due (next try after `retry`), inside the caller's
    transaction: (member id, user id, language or None) each; a row is claimed once."""
    rows = await tx.fetchall(
        "SELECT m.id, m.user_id, COALESCE(bu.language, bu.tg_language) AS language FROM members m"  # noqa: S608 - the one added clause is fixed
        " LEFT JOIN bot_users bu ON bu.user_id = m.user_id WHERE m.status = 'active' AND m.user_id IS NOT NULL"
        " AND m.profile_due_at IS NOT NULL AND m.profile_due_at <= ? ORDER BY m.profile_due_at LIMIT ?"
        + tx.skip_locked("m"),
        (to_db(now), limit),
    )
    claimed: list[tuple[int, int, str | None]] = []
    for r in rows:
        changed = await tx.execute(
            "UPDATE members SET profile_due_at = ? WHERE id = ? AND profile_due_at <= ?",
            (to_db(now + retry), r["id"], to_db(now)),
        )
        if changed:
            claimed.append((int(r["id"]), int(r["user_id"]), r["language"]))
    return claimed


class MemberRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    # Reads ------------------------------------------------------------------------------------
    async def get(self, member_id: int) -> Member | None:
        row = await self._db.fetchone(f"SELECT {_MEMBER_COLUMNS} FROM members WHERE id = ?", (member_id,))  # noqa: S608
        if row is None:
            return None
        return _member(row, await self._expertise(member_id))

    async def by_user(self, user_id: int) -> Member | None:
        row = await self._db.fetchone(f"SELECT {_MEMBER_COLUMNS} FROM members WHERE user_id = ?", (user_id,))  # noqa: S608
        if row is None:
            return None
        return _member(row, await self._expertise(int(row["id"])))

    async def _expertise(self, member_id: int) -> tuple[str, ...]:
        rows = await self._db.fetchall(
            "SELECT tag FROM member_expertise WHERE member_id = ? ORDER BY tag", (member_id,)
        )
        return tuple(str(r["tag"]) for r in rows)

    async def memberships(self, member_id: int) -> list[Membership]:
        rows = await self._db.fetchall(
            "SELECT g.id, g.name, g.path, g.kind, mg.status, mg.reason FROM member_groups mg"
            " JOIN groups g ON g.id = mg.group_id WHERE mg.member_id = ? ORDER BY g.path",
            (member_id,),
        )
        return [
            Membership(int(r["id"]), str(r["name"]), str(r["path"]), str(r["status"]), r["reason"], str(r["kind"]))
            for r in rows
        ]

    async def search(self, flt: SearchFilter, limit: int, offset: int) -> tuple[list[Member], int]:
        clause, params = directory_where(flt)
        total = int(await self._db.fetchval(f"SELECT COUNT(*) FROM members m WHERE {clause}", params))  # noqa: S608
        rows = await self._db.fetchall(
            f"SELECT {', '.join('m.' + c.strip() for c in _MEMBER_COLUMNS.split(','))} FROM members m"  # noqa: S608
            f" WHERE {clause} ORDER BY m.name, m.id LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [_member(r) for r in rows], total

    async def pending_requests(self, paths: tuple[str, ...] | None) -> list[PendingRequest]:
        """Join requests waiting in groups inside the subtrees `paths` (None: everywhere)."""
        cond, params = path_in(paths, "g.path")
        rows = await self._db.fetchall(
            "SELECT m.id, m.user_id, m.name, g.id AS group_id, g.name AS group_name,"  # noqa: S608
            " m.category, m.organisation, m.phone FROM member_groups mg"
            " JOIN members m ON m.id = mg.member_id JOIN groups g ON g.id = mg.group_id"
            f" WHERE mg.status = 'pending' AND m.status IN ('pending', 'active') AND {cond}"
            " ORDER BY mg.requested_at, m.id",
            params,
        )
        return [
            PendingRequest(
                int(r["id"]),
                r["user_id"],
                r["name"],
                int(r["group_id"]),
                str(r["group_name"]),
                r["category"],
                r["organisation"],
                r["phone"],
            )
            for r in rows
        ]


# --- writes: each takes the caller's transaction (the service owns it, and the audit) ----------------
async def insert_member(tx: Tx, reg: Registration, now: datetime, refresh: timedelta) -> tuple[int, str]:
    """Member row, memberships and expertise (an invite's use counted too): (member id, status).

    The member waits for approval when every group they join requires it.
    """
    stamp = to_db(now)
    groups = list(dict.fromkeys(reg.group_ids))
    if reg.invite_token:
        invited = await consume_invite(tx, reg.invite_token, now)
        if invited not in groups:
            groups.insert(0, invited)
    approval: dict[int, bool] = {}
    for gid in groups:
        value = await tx.fetchval("SELECT requires_approval FROM groups WHERE id = ? AND archived_at IS NULL", (gid,))
        if value is not None:
            approval[gid] = bool(value)
    status = "pending" if approval and all(approval.values()) else "active"
    member_id = await tx.insert(
        "INSERT INTO members (user_id, status, name, category, organisation, position, phone,"
        " expertise_note, interests, consent_at, registered_at, updated_at, profile_confirmed_at,"
        " profile_due_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            reg.user_id,
            status,
            reg.name,
            reg.category,
            reg.organisation,
            reg.position,
            reg.phone,
            reg.expertise_note,
            reg.interests,
            stamp,
            stamp,
            stamp,
            stamp,
            to_db(now + refresh),
        ),
    )
    await tx.executemany(
        "INSERT INTO member_groups (member_id, group_id, status, requested_at, decided_at) VALUES (?, ?, ?, ?, ?)",
        [
            (member_id, gid, "pending" if need else "active", stamp, None if need else stamp)
            for gid, need in approval.items()
        ],
    )
    await set_expertise(tx, member_id, reg.expertise)
    return member_id, status


async def set_expertise(tx: Tx, member_id: int, tags: tuple[str, ...]) -> None:
    await tx.execute("DELETE FROM member_expertise WHERE member_id = ?", (member_id,))
    await tx.executemany(
        "INSERT INTO member_expertise (member_id, tag) VALUES (?, ?)", [(member_id, t) for t in dict.fromkeys(tags)]
    )


async def update_profile(tx: Tx, member_id: int, values: dict[str, str | None], now: datetime) -> None:
    """Write the profile fields of `values` (other keys are ignored)."""
    columns = [c for c in values if c in PROFILE_FIELDS]
    assignments = "".join(f"{c} = ?, " for c in columns)
    await tx.execute(
        f"UPDATE members SET {assignments}updated_at = ? WHERE id = ?",  # noqa: S608 - columns whitelisted
        (*[values[c] for c in columns], to_db(now), member_id),
    )


async def join(tx: Tx, member_id: int, token: str | None, group_id: int | None, now: datetime) -> tuple[int, str]:
    """Join a group (through an invite token or directly): (group id, status) — status "already"
    when the member is in it; InviteUnavailable for an unusable invite or an archived group."""
    stamp = to_db(now)
    if token is not None:
        group_id = await consume_invite(tx, token, now)
    if group_id is None:
        raise InviteUnavailable("group")
    needs = await tx.fetchval("SELECT requires_approval FROM groups WHERE id = ? AND archived_at IS NULL", (group_id,))
    if needs is None:
        raise InviteUnavailable("group")
    current = await tx.fetchval(
        "SELECT status FROM member_groups WHERE member_id = ? AND group_id = ?", (member_id, group_id)
    )
    if current == "active":
        return group_id, "already"
    status = "pending" if needs else "active"
    await tx.execute(
        "INSERT INTO member_groups (member_id, group_id, status, requested_at, decided_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (member_id, group_id) DO UPDATE SET status = excluded.status,"
        " requested_at = excluded.requested_at, decided_at = excluded.decided_at, reason = NULL,"
        " decided_by = NULL",
        (member_id, group_id, status, stamp, None if needs else stamp),
    )
    await tx.execute(
        "UPDATE members SET status = ?, left_at = NULL, updated_at = ? WHERE id = ? AND status = 'left'",
        (status, stamp, member_id),
    )
    return group_id, status


async def decide(
    tx: Tx, actor_id: int, member_id: int, group_id: int, approve: bool, reason: str | None, now: datetime
) -> bool:
    """Approve or reject a pending membership; the member becomes active on the first approval."""
    stamp = to_db(now)
    changed = await tx.execute(
        "UPDATE member_groups SET status = ?, decided_at = ?, decided_by = ?, reason = ?"
        " WHERE member_id = ? AND group_id = ? AND status = 'pending'",
        ("active" if approve else "rejected", stamp, actor_id, reason, member_id, group_id),
    )
    if changed and approve:
        await tx.execute(
            "UPDATE members SET status = 'active', updated_at = ? WHERE id = ? AND status = 'pending'",
            (stamp, member_id),
        )
    return changed == 1


async def leave_group(tx: Tx, member_id: int, group_id: int, now: datetime) -> bool:
    changed = await tx.execute(
        "UPDATE member_groups SET status = 'left', decided_at = ? WHERE member_id = ? AND group_id = ?"
        " AND status IN ('active', 'pending')",
        (to_db(now), member_id, group_id),
    )
    return changed == 1


async def leave_association(tx: Tx, member_id: int, now: datetime) -> None:
    stamp = to_db(now)
    await tx.execute(
        "UPDATE member_groups SET status = 'left', decided_at = ? WHERE member_id = ?"
        " AND status IN ('active', 'pending')",
        (stamp, member_id),
    )
    await tx.execute(
        "UPDATE members SET status = 'left', left_at = ?, updated_at = ?, profile_due_at = NULL WHERE id = ?",
        (stamp, stamp, member_id),
    )


async def confirm_profile(tx: Tx, member_id: int, now: datetime, refresh: timedelta) -> None:
    await tx.execute(
        "UPDATE members SET profile_confirmed_at = ?, profile_due_at = ? WHERE id = ?",
        (to_db(now), to_db(now + refresh), member_id),
    )


def directory_where(flt: SearchFilter) -> tuple[str, list[Any]]:
    """The member directory's filter (chat /members and the Mini App): scope, name, category,
    status, group, expertise. Memberships and expertise as IN (subquery): the planner walks the
    group's or tag's few rows first."""
    where = ["m.status <> 'erased'"]
    params: list[Any] = []
    if flt.paths is not None:
        cond, scope_params = member_in(flt.paths, "m.id", active_only=True)
        where.append(cond)
        params += scope_params
    if flt.name:
        where.append("LOWER(m.name) LIKE ? ESCAPE '\\'")
        escaped = flt.name.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params.append(f"%{escaped}%")
    if flt.category:
        where.append("m.category = ?")
        params.append(flt.category)
    if flt.status:
        where.append("m.status = ?")
        params.append(flt.status)
    if flt.group_id is not None:
        where.append("m.id IN (SELECT mg2.member_id FROM member_groups mg2 WHERE mg2.group_id = ?"
                     " AND mg2.status IN ('active', 'pending'))")
        params.append(flt.group_id)
    if flt.expertise:
        where.append("m.id IN (SELECT e.member_id FROM member_expertise e WHERE e.tag = ?)")
        params.append(flt.expertise)
    return " AND ".join(where), params
