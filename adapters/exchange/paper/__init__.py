"""Paper trading: simulated fills on real (live or replayed) market data, behind the ExchangePort."""

from .account import FundingEvent, Mark, PaperAccount
from .config import PaperConfig, SpotFeeCurrency
from .exchange import PaperExchange
from .fills import BookWalk, LevelFill, anchored_levels, walk_book
from .ledger import Ledger
from .perpetual import PerpPosition
from .state import (
    InMemoryPaperStateStore,
    JsonFilePaperStateStore,
    PaperStateError,
    PaperStateStore,
    account_from_state,
    account_to_state,
)

__all__ = [
    "BookWalk",
    "FundingEvent",
    "InMemoryPaperStateStore",
    "JsonFilePaperStateStore",
    "Ledger",
    "LevelFill",
    "Mark",
    "PaperAccount",
    "PaperConfig",
    "PaperExchange",
    "PaperStateError",
    "PaperStateStore",
    "PerpPosition",
    "SpotFeeCurrency",
    "account_from_state",
    "account_to_state",
    "anchored_levels",
    "walk_book",
]
