"""SQL for python-telegram-bot's persisted state (conversations, user and chat data)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from storage.db import Database
from storage.timefmt import to_db


class PtbStateRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def conversations(self, name: str) -> dict[str, Any]:
        rows = await self._db.fetchall(
            "SELECT conv_key, state FROM ptb_conversations WHERE name = ?", (name,)
        )
        return {str(r["conv_key"]): json.loads(r["state"]) for r in rows}

    async def conversations_of(self, ident: int) -> dict[tuple[str, str], Any]:
        """Every stored conversation state whose key holds `ident` (a user's or chat's id):
        {(conversation name, key as stored): state}."""
        rows = await self._db.fetchall(
            "SELECT name, conv_key, state FROM ptb_conversations WHERE conv_key LIKE ?", (f"%{ident}%",)
        )
        return {(str(r["name"]), str(r["conv_key"])): json.loads(r["state"]) for r in rows
                if ident in json.loads(r["conv_key"])}

    async def data_of(self, table: str, ident: int) -> dict[str, Any] | None:
        key = _key_column(table)
        value = await self._db.fetchval(f"SELECT data FROM {table} WHERE {key} = ?", (ident,))  # noqa: S608
        return None if value is None else dict(json.loads(value))

    async def set_conversation(self, name: str, key: str, state: Any, now: datetime) -> None:
        async with self._db.transaction() as tx:
            if state is None:
                await tx.execute(
                    "DELETE FROM ptb_conversations WHERE name = ? AND conv_key = ?", (name, key)
                )
            else:
                await tx.execute(
                    "INSERT INTO ptb_conversations (name, conv_key, state, updated_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (name, conv_key) DO UPDATE SET state = excluded.state,"
                    " updated_at = excluded.updated_at",
                    (name, key, json.dumps(state), to_db(now)),
                )

    async def all_data(self, table: str) -> dict[int, dict[str, Any]]:
        key = _key_column(table)
        rows = await self._db.fetchall(f"SELECT {key}, data FROM {table}")  # noqa: S608 - fixed names
        return {int(r[key]): json.loads(r["data"]) for r in rows}

    async def set_data(self, table: str, ident: int, data: dict[str, Any] | None) -> None:
        key = _key_column(table)
        async with self._db.transaction() as tx:
            if not data:
                await tx.execute(f"DELETE FROM {table} WHERE {key} = ?", (ident,))  # noqa: S608
            else:
                await tx.execute(
                    f"INSERT INTO {table} ({key}, data) VALUES (?, ?)"  # noqa: S608 - fixed names
                    f" ON CONFLICT ({key}) DO UPDATE SET data = excluded.data",
                    (ident, json.dumps(data, ensure_ascii=False)),
                )


def _key_column(table: str) -> str:
    columns = {"ptb_user_data": "user_id", "ptb_chat_data": "chat_id"}
    if table not in columns:
        raise ValueError(f"unknown state table {table}")
    return columns[table]
