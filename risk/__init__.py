"""Risk manager: circuit breaker, position sizer, validator. Pure logic, no I/O."""

from risk.breaker import BreakerTransition, DailyLossBreaker, LossStreakBreaker
from risk.breaker_state import (
    BreakerEvent,
    BreakerEventKind,
    BreakerScope,
    BreakerStatus,
    DailyLossState,
    LossStreakState,
    TripReason,
)
from risk.inputs import AccountState, MarketConditions, PairContext
from risk.limits import USER_WIDE_LIMITS, OverrideScope, RiskConfigError, RiskLimits
from risk.manager import RiskCheck, RiskManager
from risk.sizer import PositionSize, PositionSizer
from risk.validator import EntryProposal, Validator
from risk.verdict import Approved, RejectCode, Rejected, Verdict

__all__ = [
    "USER_WIDE_LIMITS",
    "AccountState",
    "Approved",
    "BreakerEvent",
    "BreakerEventKind",
    "BreakerScope",
    "BreakerStatus",
    "BreakerTransition",
    "DailyLossBreaker",
    "DailyLossState",
    "EntryProposal",
    "LossStreakBreaker",
    "LossStreakState",
    "MarketConditions",
    "OverrideScope",
    "PairContext",
    "PositionSize",
    "PositionSizer",
    "RejectCode",
    "Rejected",
    "RiskCheck",
    "RiskConfigError",
    "RiskLimits",
    "RiskManager",
    "TripReason",
    "Validator",
    "Verdict",
]
