"""The bot keeps nothing in python-telegram-bot's `chat_data`.

With several processes (webhooks on PostgreSQL, docs/processes.md) a process taking a chat over
reads back the conversations and `user_data` of the member it handles (`reload_chat`), keyed by
the member; a group chat's `chat_data` is not keyed that way and would not be read back. So no
handler may rely on it: state lives in the database or in the member's own `user_data`.
Only the persistence layer and the flush check of the composition root name it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {"bot/persistence.py", "bot/app.py"}


def uses_chat_data(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return [
        node.lineno for node in ast.walk(tree)
        if (isinstance(node, ast.Attribute) and node.attr == "chat_data")
        or (isinstance(node, ast.Constant) and node.value == "chat_data")
    ]


def test_no_handler_or_service_keeps_state_in_chat_data() -> None:
    offenders = {
        str(path.relative_to(ROOT)): lines
        for top in ("bot", "handlers")
        for path in sorted((ROOT / top).rglob("*.py"))
        if str(path.relative_to(ROOT)) not in ALLOWED and (lines := uses_chat_data(path))
    }
    assert offenders == {}


def test_the_check_sees_chat_data(tmp_path: Path) -> None:
    sample = tmp_path / "h.py"
    sample.write_text("async def h(update, context):\n    context.chat_data['x'] = 1\n", encoding="utf-8")
    assert uses_chat_data(sample) == [2]
