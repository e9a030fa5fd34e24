"""Telegram users who have talked to the bot (language preference, reachability)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, SyncTx
from storage.timefmt import opt_from_db, to_db


@dataclass(frozen=True)
class BotUser:
    user_id: int
    language: str | None
    blocked_at: datetime | None
    tg_language: str | None = None


class UserRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, user_id: int) -> BotUser | None:
        row = await self._db.fetchone(
            "SELECT user_id, language, blocked_at, tg_language FROM bot_users WHERE user_id = ?", (user_id,)
        )
        if row is None:
            return None
        return BotUser(int(row["user_id"]), row["language"], opt_from_db(row["blocked_at"]), row["tg_language"])

    async def touch(self, user_id: int, now: datetime) -> None:
        """Record that the user talked to the bot (so they are reachable again)."""
        await self.touch_many([(user_id, now, None)])

    async def touch_many(
        self, seen: list[tuple[int, datetime, str | None]]
    ) -> dict[int, tuple[str | None, str | None]]:
        """`touch` for several users in one transaction (one trip to the database thread).

        `seen` holds (user id, when, Telegram's language or None). Returns each user's chosen and
        last-seen Telegram languages (read in the same trip: the first contact's language lookup
        costs nothing more).
        """
        rows = [(user_id, to_db(now), to_db(now), lang) for user_id, now, lang in seen]
        ids = [user_id for user_id, _, _ in seen]

        def work(conn: SyncTx) -> dict[int, tuple[str | None, str | None]]:
            conn.executemany(
                "INSERT INTO bot_users (user_id, started_at, last_seen_at, tg_language) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET last_seen_at = excluded.last_seen_at,"
                " blocked_at = NULL, tg_language = COALESCE(excluded.tg_language, bot_users.tg_language)",
                rows,
            )
            # talking to the bot again makes a member reachable for notices (see storage/outbox.py)
            conn.executemany(
                "UPDATE members SET unreachable_at = NULL WHERE user_id = ? AND unreachable_at IS NOT NULL",
                [(user_id,) for user_id in ids],
            )
            languages: dict[int, tuple[str | None, str | None]] = {}
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                found = conn.fetchall(
                    f"SELECT user_id, language, tg_language FROM bot_users WHERE user_id IN ({marks})", chunk  # noqa: S608
                )
                languages.update((int(r[0]), (r[1], r[2])) for r in found)
            return languages

        return await self._db.write(work)

    async def set_language(self, user_id: int, language: str, now: datetime) -> None:
        stamp = to_db(now)
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO bot_users (user_id, language, started_at, last_seen_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET language = excluded.language",
                (user_id, language, stamp, stamp),
            )

    async def mark_blocked(self, user_id: int, now: datetime) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE bot_users SET blocked_at = ? WHERE user_id = ?", (to_db(now), user_id)
            )

    async def forget(self, user_id: int) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM bot_users WHERE user_id = ?", (user_id,))
