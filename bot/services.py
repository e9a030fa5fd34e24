"""The service container built once at start-up and reached as `context.services`."""

from __future__ import annotations

from dataclasses import dataclass

from bot.backup import BackupService
from bot.clock import Clock
from bot.config import Settings
from bot.i18n import Catalog
from bot.ledger import LedgerService
from bot.roles import RoleService
from bot.users import UserService
from storage.audit import AuditRepo
from storage.db import Database
from storage.ledger import LedgerRepo
from storage.roles import RoleRepo
from storage.users import UserRepo


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    catalog: Catalog
    users: UserService
    roles: RoleService
    audit: AuditRepo
    ledger: LedgerService
    backup: BackupService

    @classmethod
    def create(cls, settings: Settings, db: Database, clock: Clock, catalog: Catalog) -> Services:
        return cls(
            settings=settings,
            db=db,
            clock=clock,
            catalog=catalog,
            users=UserService(UserRepo(db), clock, settings.language),
            roles=RoleService(RoleRepo(db), settings.owners),
            audit=AuditRepo(db),
            ledger=LedgerService(LedgerRepo(db), settings, clock),
            backup=BackupService(db, LedgerRepo(db), settings, clock),
        )
