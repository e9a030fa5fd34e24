"""The layer rules check themselves: a module that imports what its layer must not fails here.

- handlers/ never import storage/ (they call services);
- storage/ imports nothing above it: no telegram, no handlers/, and from bot/ only model modules
  (the dataclasses repositories return) ;
- bot/ domain modules never import telegram, handlers/ or a database driver; only the
  Telegram-facing infrastructure of bot/ (composition root, runtime, context, transport,
  persistence, update processor, CLI) may;
- the sandbox (the fake Telegram) never imports the bot's code.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOT_INFRA = {
    "bot.app", "bot.runtime", "bot.context", "bot.transport", "bot.persistence", "bot.updates", "bot.cli", "bot.webhook"
}
DRIVERS = ("sqlite3", "aiosqlite", "psycopg", "psycopg_pool", "asyncpg")


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path = ROOT) -> set[str]:
    """Every module `path` imports, anywhere in the file (also inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: set[str] = set()
    me = module_name(path, root)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)] if node.level > 1 else anchor
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _under(name: str, top: str) -> bool:
    return name == top or name.startswith(top + ".")


def violations(layer: str, root: Path = ROOT) -> list[str]:
    out: list[str] = []
    for path in sorted((root / layer).rglob("*.py")):
        me = module_name(path, root)
        for name in sorted(imports_of(path, root)):
            rule = broken_rule(me, name)
            if rule:
                out.append(f"{me} imports {name}: {rule}")
    return out


def broken_rule(me: str, name: str) -> str | None:
    """The rule `me` importing `name` breaks, or None."""
    if _under(me, "handlers") and _under(name, "storage"):
        return "handlers call services, never storage"
    if _under(me, "storage"):
        if _under(name, "telegram") or _under(name, "handlers") or _under(name, "sandbox"):
            return "storage imports nothing above it"
        if _under(name, "bot") and name != "bot" and not _is_model(name):
            return "storage may use bot/ model modules only"
    if _under(me, "bot") and me not in BOT_INFRA:
        if _under(name, "telegram"):
            return "domain modules never import telegram"
        if _under(name, "handlers"):
            return "domain modules never import handlers"
        if any(_under(name, driver) for driver in DRIVERS):
            return "only storage/ talks to the database driver"
    if _under(me, "sandbox") and any(_under(name, top) for top in ("bot", "handlers", "storage")):
        return "the fake Telegram is independent of the bot"
    return None


def _is_model(name: str) -> bool:
    parts = name.split(".")
    # bot.models, bot.<feature>.models, or a name imported from one (bot.x.models.Thing)
    return "models" in parts[1:3]


@pytest.mark.parametrize("layer", ["handlers", "storage", "bot", "sandbox"])
def test_layer_imports_follow_the_rules(layer: str) -> None:
    assert violations(layer) == []


def test_the_rules_catch_a_forbidden_import() -> None:
    assert broken_rule("handlers.notices.compose", "storage.notices")
    assert broken_rule("storage.members", "telegram")
    assert broken_rule("storage.members", "bot.members.service")
    assert broken_rule("storage.members", "bot.members.models") is None
    assert broken_rule("bot.notices.service", "telegram.ext")
    assert broken_rule("bot.ledger.service", "sqlite3")
    assert broken_rule("bot.app", "telegram") is None
    assert broken_rule("sandbox.server", "storage.db")


def test_imports_inside_functions_and_relative_imports_are_seen(tmp_path: Path) -> None:
    (tmp_path / "handlers" / "feature").mkdir(parents=True)
    (tmp_path / "handlers" / "probe.py").write_text("def f():\n    from storage import db\n", encoding="utf-8")
    (tmp_path / "handlers" / "feature" / "flow.py").write_text("from ...storage import db\n", encoding="utf-8")
    found = violations("handlers", tmp_path)
    assert "handlers.probe imports storage: handlers call services, never storage" in found
    assert "handlers.feature.flow imports storage: handlers call services, never storage" in found
