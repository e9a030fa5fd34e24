"""The command menu and home buttons, filled by each feature's `register`.

One registry per application: features add their commands for the lowest role that may
use them; /help and the Telegram command menus are derived from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.roles import Role


@dataclass(frozen=True)
class MenuCommand:
    command: str
    description_key: str
    role: Role
    in_groups: bool = False  # answered in group chats too (see handlers/chatpolicy.py)


@dataclass(frozen=True)
class HomeButton:
    text_key: str
    callback_data: str
    role: Role


@dataclass
class CommandMenu:
    commands: list[MenuCommand] = field(default_factory=list)
    home: list[HomeButton] = field(default_factory=list)

    def add(self, command: str, description_key: str, role: Role = Role.STRANGER, *, in_groups: bool = False) -> None:
        if any(c.command == command for c in self.commands):
            raise ValueError(f"command /{command} registered twice")
        self.commands.append(MenuCommand(command, description_key, role, in_groups))

    def allowed_in_groups(self, command: str) -> bool:
        return any(c.command == command and c.in_groups for c in self.commands)

    def add_home(self, text_key: str, callback_data: str, role: Role = Role.MEMBER) -> None:
        self.home.append(HomeButton(text_key, callback_data, role))

    def for_role(self, role: Role) -> list[MenuCommand]:
        return [c for c in self.commands if _allowed(c.role, role)]

    def home_for(self, role: Role) -> list[HomeButton]:
        return [b for b in self.home if _allowed(b.role, role)]


def _allowed(needed: Role, actual: Role) -> bool:
    if needed == Role.STRANGER:
        return True
    if needed == Role.PENDING:
        return actual >= Role.PENDING
    return actual >= needed
