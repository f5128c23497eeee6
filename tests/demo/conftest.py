"""Demo runs shared by the tests: each replays real shipped candles through the engine once and keeps what it
printed, the summary it returned and the rows it left in its database."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import date

import pytest
from sqlalchemy import select

from config.settings import Settings
from db.database import Database
from db.models import (
    AiDecision,
    EquitySnapshot,
    FillRow,
    OrderRow,
    PositionRow,
    TradeDecision,
    TradeRow,
    UserPair,
    UserState,
)
from db.repositories import AccountRepository, PaperLedgerRepository
from quorum.demo import DemoOptions, run_demo
from quorum.demo_summary import DemoSummary

# Three losing shorts in a row (11, 14 and 29 Jan 2018) trip the breaker on 29 Jan 15:00; the analysts signal
# new shorts on 4 and 5 Feb, inside a one-week cooldown, and again on 6 Feb 04:00, after it.
BREAKER_SPAN = DemoOptions(start=date(2018, 1, 11), days=27, verbose=True)
WEEK_COOLDOWN_MINUTES = 7 * 24 * 60
# A short opened on 5 Feb 2018 12:00 and closed by its take profit at 19:00.
TAKE_PROFIT_SPAN = DemoOptions(start=date(2018, 2, 5), days=1)
# A long opened on 5 Mar 2018 00:00 is still open when the day ends: the replay closes it (end_of_replay).
OPEN_AT_END_SPAN = DemoOptions(start=date(2018, 3, 5), days=1)


def offline_settings(**overrides: object) -> Settings:
    return Settings(_env_file=None, **overrides)


@dataclass
class DemoResult:
    summary: DemoSummary
    lines: list[str]
    url: str


@dataclass
class DemoRows:
    """Everything the run left in the database for its demo user."""

    orders: list[OrderRow]
    fills: list[FillRow]
    trades: list[TradeRow]
    decisions: list[TradeDecision]
    votes: list[AiDecision]
    positions: list[PositionRow]
    equity: list[EquitySnapshot]
    pair: UserPair
    state: UserState
    paper_state: dict


def run(options: DemoOptions, url: str, settings: Settings | None = None) -> DemoResult:
    lines: list[str] = []
    options = replace(options, database_url=url)
    summary = asyncio.run(run_demo(options, settings or offline_settings(), emit=lines.append))
    return DemoResult(summary, lines, offline_settings(database_url=url).database_url)  # with its async driver


async def _load_rows(url: str, user_id: int) -> DemoRows:
    database = Database(url)
    try:
        async with database.transaction() as session:

            async def rows(model, *order):  # type: ignore[no-untyped-def]
                query = select(model).where(model.user_id == user_id).order_by(*order)
                return list(await session.scalars(query))

            account = await AccountRepository(session).active(user_id)
            assert account is not None
            keys = select(TradeDecision.consultation_key).where(TradeDecision.user_id == user_id)
            return DemoRows(
                orders=await rows(OrderRow, OrderRow.id),
                fills=await rows(FillRow, FillRow.id),
                trades=await rows(TradeRow, TradeRow.id),
                decisions=await rows(TradeDecision, TradeDecision.id),
                votes=list(await session.scalars(select(AiDecision).where(AiDecision.consultation_key.in_(keys)))),
                positions=await rows(PositionRow, PositionRow.id),
                equity=await rows(EquitySnapshot, EquitySnapshot.id),
                pair=(await rows(UserPair, UserPair.id))[0],
                state=(await rows(UserState, UserState.user_id))[0],
                paper_state=await PaperLedgerRepository(session).load(user_id, account.id) or {},
            )
    finally:
        await database.dispose()


def load_rows(result: DemoResult) -> DemoRows:
    return asyncio.run(_load_rows(result.url, result.summary.user_id))


@pytest.fixture(scope="session")
def breaker_run(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('demo') / 'breaker.db'}"
    return run(BREAKER_SPAN, url, offline_settings(breaker_cooldown_minutes=WEEK_COOLDOWN_MINUTES))


@pytest.fixture(scope="session")
def breaker_rows(breaker_run: DemoResult) -> DemoRows:
    return load_rows(breaker_run)
