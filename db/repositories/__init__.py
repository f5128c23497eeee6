"""Async repositories, one per aggregate. Every method that touches user data takes the user id and filters by it,
so one user can never read or change another user's rows."""

from db.repositories.accounts import AccountRepository, rotate_master_key
from db.repositories.audit import AuditRepository
from db.repositories.decisions import ConsultationInfo, DecisionRepository, VoteRow
from db.repositories.heartbeats import HeartbeatRepository
from db.repositories.news import NewsRepository
from db.repositories.orders import OrderRepository
from db.repositories.ownership import NotOwned
from db.repositories.pairs import PairExists, PairRepository
from db.repositories.paper import DbPaperStateStore, PaperLedgerRepository
from db.repositories.positions import PositionRepository
from db.repositories.reports import ReportRepository
from db.repositories.states import UserStateRepository
from db.repositories.trades import TradeRepository
from db.repositories.users import UserRepository

__all__ = [
    "AccountRepository",
    "AuditRepository",
    "ConsultationInfo",
    "DbPaperStateStore",
    "DecisionRepository",
    "HeartbeatRepository",
    "NewsRepository",
    "NotOwned",
    "OrderRepository",
    "PairExists",
    "PairRepository",
    "PaperLedgerRepository",
    "PositionRepository",
    "ReportRepository",
    "TradeRepository",
    "UserRepository",
    "UserStateRepository",
    "VoteRow",
    "rotate_master_key",
]
