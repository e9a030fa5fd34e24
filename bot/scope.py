"""A coordinator's scope: the ONE definition of which part of the 1+6+N tree someone covers.

Owners and coordinators of the head association cover everything; other coordinators cover the
subtrees of their groups. `Scope.paths_or_none` is what storage's scope builders
(`storage/scope.py`) take: None for everything, else the subtree paths.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Scope:
    """The groups a coordinator covers: everything, or the subtrees under `paths`."""

    everything: bool = False
    paths: tuple[str, ...] = field(default_factory=tuple)

    def covers_path(self, path: str | None) -> bool:
        if self.everything:
            return True
        if path is None:
            return False
        return any(path.startswith(prefix) for prefix in self.paths)

    def covers_any(self, paths: Iterable[str]) -> bool:
        return self.everything or any(self.covers_path(p) for p in paths)

    def covers_all(self, paths: Iterable[str]) -> bool:
        listed = list(paths)
        return self.everything or (bool(listed) and all(self.covers_path(p) for p in listed))

    def visible(self, paths: Iterable[str]) -> list[str]:
        """Those of `paths` inside the scope (a member card lists only these groups)."""
        return [p for p in paths if self.covers_path(p)]

    @property
    def empty(self) -> bool:
        return not self.everything and not self.paths

    @property
    def paths_or_none(self) -> tuple[str, ...] | None:
        return None if self.everything else self.paths


EVERYTHING = Scope(everything=True)
NOTHING = Scope()
