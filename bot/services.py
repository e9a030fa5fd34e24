"""The service container built once at start-up and reached as `context.services`."""

from __future__ import annotations

from dataclasses import dataclass

from bot.activities import ActivityService
from bot.backup import BackupService
from bot.clock import Clock
from bot.config import Settings
from bot.delivery import DeliveryService
from bot.feedback import FeedbackService
from bot.i18n import Catalog
from bot.ledger import LedgerService
from bot.members import MemberService
from bot.notices.service import NoticeService
from bot.org import OrgService
from bot.roles import RoleService
from bot.surveys import SurveyService
from bot.users import UserService
from storage.audit import AuditRepo
from storage.db import Database
from storage.feedback import FeedbackRepo
from storage.groups import GroupRepo
from storage.invites import InviteRepo
from storage.ledger import LedgerRepo
from storage.members import MemberRepo
from storage.roles import RoleRepo
from storage.surveys import SurveyRepo
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
            ledger=LedgerService(LedgerRepo(db), settings, clock),
            backup=BackupService(db, LedgerRepo(db), settings, clock),
            activities=ActivityService(db, clock, catalog, settings.zone),
            feedback=FeedbackService(FeedbackRepo(db), roles, clock, settings),
            surveys=SurveyService(SurveyRepo(db), roles, clock, settings),
            members=MemberService(MemberRepo(db), clock, settings.profile_refresh_days),
            org=OrgService(GroupRepo(db), InviteRepo(db), MemberRepo(db), clock),
            delivery=delivery,
            notices=NoticeService.build(settings, db, clock, catalog, roles, delivery),
        )
