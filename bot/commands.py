"""Every command and button of Quorum on one Router, transport-neutral: Telegram and the console feed it text and
button data and send back what it answers.

    router = build_router(service, bot_username="quorum_bot", candles=runtime_candles)
    replies = await router.text(Actor(telegram_id), "/addpair btc/usdt 1000 3")

The handlers call only the service (engine/service.py) and render its typed results as HTML; a refusal is the
service's own sentence. Commands by feature: commands_account.py, commands_pairs.py, commands_reports.py,
commands_profit.py, commands_settings.py, commands_admin.py (operators only).
"""

from __future__ import annotations

from bot.commands_account import AccountCommands
from bot.commands_admin import AdminCommands
from bot.commands_pairs import PairCommands
from bot.commands_profit import CandleSource, Charts, MatplotlibCharts, ProfitCommands
from bot.commands_reports import ReportCommands
from bot.commands_settings import SettingsCommands, help_command
from bot.router import RateLimit, Router
from engine.service import QuorumService

__all__ = ["CandleSource", "Charts", "MatplotlibCharts", "build_router"]


def build_router(
    service: QuorumService,
    *,
    bot_username: str | None = None,
    charts: Charts | None = None,
    candles: CandleSource | None = None,
    rate: RateLimit | None = None,
) -> Router:
    """charts draws /profit's and /chart's PNGs (default: matplotlib); candles feeds /chart with the recent candles
    of (exchange, market type, symbol), from the running engines' market data (without it /chart says it cannot
    draw); rate is the per-user command limit (default: Router's)."""
    router = Router(bot_username, rate, audit=service.accounts.log_command)
    AccountCommands(service).register(router)
    PairCommands(service).register(router)
    ReportCommands(service).register(router)
    ProfitCommands(service, charts or MatplotlibCharts(), candles).register(router)
    SettingsCommands(service).register(router)
    AdminCommands(service).register(router)
    router.command(help_command(router))
    return router
