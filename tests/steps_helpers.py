"""Simulating a kill between a conversation's reply and PTB's flush of its new state.

With the bot stopped, the stored conversation state is put back one step (user_data stays as the
step journal wrote it before the reply); the next start loads that state.
"""

from __future__ import annotations

import json
from typing import Any

from tests.dbsync import DbSettings, execute, fetchone


def stored_state(db: DbSettings, name: str, user_id: int) -> Any:
    row = fetchone(db, "SELECT state FROM ptb_conversations WHERE name = ? AND conv_key = ?", (name, _key(user_id)))
    return None if row is None else json.loads(row[0])


def set_state(db: DbSettings, name: str, user_id: int, state: int) -> None:
    """Put conversation `name` of a private chat back to `state` (bot stopped)."""
    changed = execute(db, "UPDATE ptb_conversations SET state = ? WHERE name = ? AND conv_key = ?",
                      (json.dumps(state), name, _key(user_id)))
    assert changed == 1, f"no stored conversation {name} for {user_id}"


def user_data(db: DbSettings, user_id: int) -> dict[str, Any]:
    row = fetchone(db, "SELECT data FROM ptb_user_data WHERE user_id = ?", (user_id,))
    return {} if row is None else dict(json.loads(row[0]))


def _key(user_id: int) -> str:
    return json.dumps([user_id, user_id])  # private chat: chat id == user id
