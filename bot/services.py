"""The service container built once at start-up and reached as `context.services`."""

from __future__ import annotations

from dataclasses import dataclass

from bot.activities import ActivityService
from bot.clock import Clock
from bot.config import Settings
from bot.delivery import DeliveryService
from bot.feedback import FeedbackService
from bot.i18n import Catalog
from bot.ledger.backup import BackupService
from bot.ledger.service import LedgerService
from bot.members.org import OrgService
from bot.members.service import MemberService
from bot.notices import NoticeService
from bot.roles import RoleService
from bot.surveys import SurveyService
from bot.users import UserService
from storage.audit import AuditRepo
from storage.db import Database
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
    activities: ActivityService
    feedback: FeedbackService
    surveys: SurveyService
    members: MemberService
    org: OrgService
    delivery: DeliveryService
    notices: NoticeService

    @classmethod
    def create(cls, settings: Settings, db: Database, clock: Clock, catalog: Catalog) -> Services:
        users = UserService(UserRepo(db), clock, settings.language)
        roles = RoleService(RoleRepo(db), settings.owners)
        delivery = DeliveryService.create(db, clock, catalog, users)
        return cls(
            settings=settings,
            db=db,
            clock=clock,
            catalog=catalog,
            users=users,
            roles=roles,
            audit=AuditRepo(db),
            ledger=LedgerService(db, settings, clock),
            backup=BackupService(db, settings, clock),
            activities=ActivityService(db, clock, catalog, settings.zone),
            feedback=FeedbackService(db, roles, clock, settings, catalog, users, delivery.wake),
            surveys=SurveyService(db, roles, clock, settings, catalog, delivery.wake),
            members=MemberService(db, clock, settings.profile_refresh_days, catalog),
            org=OrgService(db, clock),
            delivery=delivery,
            notices=NoticeService.build(settings, db, clock, catalog, roles, delivery),
        )
