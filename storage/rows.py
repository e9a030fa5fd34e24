"""A result row of the PostgreSQL backend that behaves like `sqlite3.Row` (no driver import).

By position (`row[0]`, slices), by column name (`row["id"]`, case-insensitively as in SQLite),
`keys()`, iteration over the values, `len`, `dict(row)`. One class per column list, cached, so
building a row is building a tuple.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any


class PgRow(tuple[Any, ...]):
    __slots__ = ()
    _index: dict[str, int] = {}  # noqa: RUF012 - set per column list by `row_class`
    _names: tuple[str, ...] = ()

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            index = self._index.get(key)
            if index is None:
                index = self._index.get(key.lower())
                if index is None:
                    raise IndexError(f"No item with that key: {key!r}")
            return tuple.__getitem__(self, index)
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)

    def __repr__(self) -> str:
        return "PgRow(" + ", ".join(f"{k}={v!r}" for k, v in zip(self._names, self, strict=False)) + ")"


@lru_cache(maxsize=2048)
def row_class(names: tuple[str, ...]) -> type[PgRow]:
    """The row type of one column list (the first column of a repeated name wins, as in sqlite3)."""
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        index.setdefault(name, i)
        index.setdefault(name.lower(), i)
    return type("PgRow", (PgRow,), {"__slots__": (), "_index": index, "_names": names})
