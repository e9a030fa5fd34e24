"""Migrations written on separate branches must not create the same index twice: the second
CREATE INDEX fails the upgrade of every database (seen when two issues' branches met)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parent.parent / "storage" / "migrations"
CREATED = re.compile(r"CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", re.I)
DROPPED = re.compile(r"DROP\s+INDEX\s+(?:IF\s+EXISTS\s+)?(\w+)", re.I)


def _names(dialect_suffix: str) -> Counter[str]:
    """Index names created and not dropped before, over the migrations one backend runs."""
    created: Counter[str] = Counter()
    by_step: dict[str, Path] = {}
    for path in sorted(MIGRATIONS.glob("*.sql")):
        step = path.name.split(".")[0]
        if path.name.endswith(".pg.sql") != (dialect_suffix == ".pg.sql") and step in by_step:
            continue  # the other backend's variant of a step already chosen
        by_step[step] = path
    for step in sorted(by_step):
        text = by_step[step].read_text(encoding="utf-8")
        events = [(m.start(), "drop", m.group(1)) for m in DROPPED.finditer(text)]
        events += [(m.start(), "create", m.group(1)) for m in CREATED.finditer(text)]
        for _, kind, name in sorted(events):
            if kind == "drop":
                created[name] = 0
            else:
                created[name] += 1
    return created


def test_no_migration_creates_an_index_another_already_created() -> None:
    for suffix in (".sql", ".pg.sql"):
        twice = sorted(name for name, n in _names(suffix).items() if n > 1)
        assert twice == [], f"index names created twice ({suffix}): {twice}"
