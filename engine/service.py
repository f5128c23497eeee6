"""The service API every transport calls (Telegram, the console chat, the admin CLI): one object, its calls
grouped by concept, each taking the acting user's Telegram id.

    service = QuorumService(database, settings, gateway=CcxtGateway(settings), box=box, control=control)
    added = await service.pairs.add(telegram_id, "btcusdt", "1000", 3)

Every call returns a typed, frozen result or raises a ServiceError whose message is the reply. Each reads and
writes only the acting user's rows, writes every change to the audit log (never a secret), and tells the
running engines through `control` after the database has the change; with control=None (another process than
the engines') the database changes stand and only closing positions and resetting breakers are refused.

    service.accounts   register, connect_paper, connect_live, disconnect, set_mode   engine/service_accounts.py
    service.pairs      show, add, remove, pause, resume             engine/service_pairs.py
    service.trading    close, stop_all, breakers, resume_breaker    engine/service_trading.py
    service.settings   show, set_risk, clear_risk, set_alert, set_leaderboard   engine/service_settings.py
    service.reports    status, positions, trades, balance, decisions          engine/service_reports.py
    service.profit     profit, leaderboard                          engine/service_profit.py
    service.admin      users, stats, set_user_status, broadcast     engine/service_admin.py (admins only)
                       pairs, trades, breakers, reset_breaker       engine/service_admin_pairs.py
"""

from __future__ import annotations

from config.settings import Settings
from db.database import Database
from db.encryption import SecretBox
from domain.market import MarketType
from engine.clock import Clock
from engine.control import EngineControl
from engine.service_accounts import AccountCalls
from engine.service_admin import AdminCalls
from engine.service_context import ServiceContext
from engine.service_gateway import ExchangeGateway
from engine.service_pairs import PairCalls
from engine.service_profit import ProfitCalls
from engine.service_reports import ReportCalls
from engine.service_settings import SettingsCalls
from engine.service_trading import TradingCalls


class QuorumService:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        gateway: ExchangeGateway,
        box: SecretBox | None = None,
        control: EngineControl | None = None,
        clock: Clock | None = None,
        channel: str = "telegram",
        paper_exchange: str | None = None,
        default_market_type: MarketType = MarketType.PERPETUAL,
        leaderboard_ttl_s: float = 60.0,
        operator: str | None = None,
    ) -> None:
        """channel names the transport in the audit log (telegram, console, admin-cli); paper_exchange is whose
        prices paper accounts trade on (default: settings.default_exchange); operator (the admin CLI only) names
        the person at the shell, and lets admin calls act as OPERATOR (engine/service_admin_access.py)."""
        self.context = ServiceContext(
            database, settings, gateway, box=box, control=control, clock=clock, channel=channel,
            paper_exchange=paper_exchange, default_market_type=default_market_type, operator=operator,
        )  # fmt: skip
        self.accounts = AccountCalls(self.context)
        self.pairs = PairCalls(self.context)
        self.trading = TradingCalls(self.context)
        self.settings = SettingsCalls(self.context)
        self.reports = ReportCalls(self.context)
        self.profit = ProfitCalls(self.context, leaderboard_ttl_s)
        self.admin = AdminCalls(self.context)
