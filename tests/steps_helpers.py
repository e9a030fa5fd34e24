"""Simulating a kill between a conversation's reply and PTB's flush of its new state.

With the bot stopped, the stored conversation state is put back one step (user_data stays as the
step journal wrote it before the reply); the next start loads that state.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any


def stored_state(db_path: Path, name: str, user_id: int) -> Any:
    with sqlite3.connect(db_path) as conn:
        row = conn.execute(
            "SELECT state FROM ptb_conversations WHERE name = ? AND conv_key = ?", (name, _key(user_id))
        ).fetchone()
    return None if row is None else json.loads(row[0])


def set_state(db_path: Path, name: str, user_id: int, state: int) -> None:
    """Put conversation `name` of a private chat back to `state` (bot stopped)."""
    with sqlite3.connect(db_path) as conn:
        changed = conn.execute(
            "UPDATE ptb_conversations SET state = ? WHERE name = ? AND conv_key = ?",
            (json.dumps(state), name, _key(user_id)),
        ).rowcount
    assert changed == 1, f"no stored conversation {name} for {user_id}"


def user_data(db_path: Path, user_id: int) -> dict[str, Any]:
    with sqlite3.connect(db_path) as conn:
        row = conn.execute("SELECT data FROM ptb_user_data WHERE user_id = ?", (user_id,)).fetchone()
    return {} if row is None else dict(json.loads(row[0]))


def _key(user_id: int) -> str:
    return json.dumps([user_id, user_id])  # private chat: chat id == user id
