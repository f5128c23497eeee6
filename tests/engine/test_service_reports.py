"""The reports of the service over what real engines recorded, on SQLite and PostgreSQL.

One scenario per backend, read by every test here (reports change nothing): Alice trades BTC/USDT (2,000 USDT,
3x) and Bob ETH/USDT (1,000 USDT, 2x) for 50 hourly cycles from 2017-07-14 00:00 UTC. Alice's engine takes
profit on the 14th, is stopped out on the 15th and holds a third short from 01:00 on the 16th.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import pytest_asyncio
from sqlalchemy import select

from db.database import Database
from db.models import EquitySnapshot, TradeRow, User
from engine.service_errors import InvalidInput, PairNotFound
from tests.conftest import BACKENDS
from tests.engine.service_world import BTC, ETH, World

pytestmark = pytest.mark.asyncio(loop_scope="module")
LAST_CYCLE = datetime(2017, 7, 16, 1, tzinfo=UTC)


@dataclass
class Scenario:
    world: World
    alice: int
    bob: int
    alice_id: int


@pytest.fixture(scope="module", params=BACKENDS)
def scenario_url(request: pytest.FixtureRequest, migrated_urls: dict[str, Callable[[str], str]]) -> str:
    return migrated_urls["get"](request.param)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def scenario(scenario_url: str) -> AsyncIterator[Scenario]:
    database = Database(scenario_url)
    world = World.build(database)
    alice, bob = (uuid.uuid4().int % 10**12 + 10**6 for _ in range(2))
    await world.trader(alice, "Alice")
    await world.trader(bob, "Bob", balance="5000")
    await world.service.pairs.add(alice, BTC, "2000", 3)
    await world.service.pairs.add(bob, ETH, "1000", 2)
    await world.run_hours(50)
    async with database.transaction() as session:
        user = await session.scalar(select(User).where(User.telegram_id == alice))
        assert user is not None
        alice_id = user.id
    try:
        yield Scenario(world, alice, bob, alice_id)
    finally:
        await world.close()
        await database.dispose()


async def _trades(scenario: Scenario) -> list[TradeRow]:
    async with scenario.world.database.transaction() as session:
        rows = await session.scalars(select(TradeRow).where(TradeRow.user_id == scenario.alice_id))
        return list(rows)


async def test_status_when_position_open_then_pair_budget_leverage_position_and_last_cycle(scenario: Scenario) -> None:
    status = await scenario.world.service.reports.status(scenario.alice)

    [line] = status.pairs
    assert (line.pair.symbol, line.pair.budget, line.pair.leverage, line.pair.status) == (BTC, 2000, 3, "active")
    assert line.position is not None and line.position.side == "short"
    assert line.last_cycle_at == LAST_CYCLE and line.breaker is None and status.daily_breaker is None
    assert status.account is not None and status.account.paper and status.user.name == "Alice"
    assert status.equity == status.balance + status.unrealized_pnl


async def test_positions_when_marked_then_unrealized_pnl_at_the_last_mark(scenario: Scenario) -> None:
    [position] = await scenario.world.service.reports.positions(scenario.alice)

    assert position.symbol == BTC and position.mark_price is not None
    assert position.opened_at == LAST_CYCLE and position.leverage == 3
    sign = 1 if position.side == "long" else -1
    assert position.unrealized_pnl == sign * (position.mark_price - position.entry_price) * position.amount
    assert [p.symbol for p in await scenario.world.service.reports.positions(scenario.bob)] == [ETH]


async def test_trades_when_paged_then_newest_first_and_a_page_past_the_end_is_empty(scenario: Scenario) -> None:
    reports = scenario.world.service.reports
    pages = [await reports.trades(scenario.alice, page=n, per_page=1) for n in (1, 2, 3, 4)]

    assert [p.total for p in pages] == [3] * 4 and pages[0].pages == 3
    assert [[t.status for t in p.trades] for p in pages] == [["open"], ["closed"], ["closed"], []]
    assert [p.trades[0].close_reason for p in pages[1:3]] == ["stop_loss", "take_profit"]
    opened = [p.trades[0].opened_at for p in pages[:3]]
    assert opened == sorted(opened, reverse=True)
    assert (await reports.trades(scenario.alice, pair="btcusdt")).total == 3
    with pytest.raises(InvalidInput, match="The page must be a whole number"):
        await reports.trades(scenario.alice, page="0")


async def test_profit_when_trades_closed_then_totals_match_the_books_exactly(scenario: Scenario) -> None:
    profit = await scenario.world.service.profit.profit(scenario.alice)

    closed = [t for t in await _trades(scenario) if t.status == "closed"]
    net = sum((t.realized_pnl or Decimal(0) for t in closed), Decimal(0))
    [pair] = profit.pairs
    assert pair.symbol == BTC and pair.net_pnl == net and pair.metrics.trades == 2
    assert (pair.metrics.wins, pair.metrics.losses) == (1, 1) and pair.metrics.start_equity == Decimal(2000)
    assert pair.metrics.end_equity == Decimal(2000) + net
    assert profit.starting_balance == Decimal(10000) and profit.total.trades == 2
    async with scenario.world.database.transaction() as session:
        last = await session.scalar(
            select(EquitySnapshot.equity)
            .where(EquitySnapshot.user_id == scenario.alice_id)
            .order_by(EquitySnapshot.at.desc(), EquitySnapshot.id.desc())
            .limit(1)
        )
    assert profit.total.end_equity == last == profit.curve[-1][1]
    assert profit.total.profit == last - Decimal(10000)


async def test_decisions_when_cycles_ran_then_last_votes_of_each_analyst_and_the_consensus(scenario: Scenario) -> None:
    report = await scenario.world.service.reports.decisions(scenario.alice, "BTC-USDT")

    assert report.symbol == BTC and report.action in {"BUY", "SELL", "HOLD", "CLOSE"}
    assert sorted(vote.provider for vote in report.votes) == ["breakout", "mean_reversion", "trend"]
    assert all(vote.action is not None or vote.error for vote in report.votes)
    assert report.candle_at is not None and report.candle_at <= LAST_CYCLE
    assert report.outcome in {"executed", "rejected", "hold", "skipped"}


async def test_balance_when_paper_then_ledger_figures_and_budgets_allotted(scenario: Scenario) -> None:
    balance = await scenario.world.service.reports.balance(scenario.alice)

    [usdt] = balance.currencies
    assert usdt.currency == "USDT" and usdt.total == usdt.free + usdt.used and usdt.used > 0  # the short's margin
    assert balance.allotted == (("USDT", Decimal(2000)),)
    assert balance.equity == (await scenario.world.service.reports.status(scenario.alice)).equity


async def test_reports_when_read_by_another_user_then_only_their_own_rows(scenario: Scenario) -> None:
    service = scenario.world.service

    bob_trades = await service.reports.trades(scenario.bob, per_page=50)
    bob_profit = await service.profit.profit(scenario.bob)

    assert {t.symbol for t in bob_trades.trades} == {ETH}
    assert [p.symbol for p in bob_profit.pairs] == [ETH] and bob_profit.starting_balance == Decimal(5000)
    assert [line.pair.symbol for line in (await service.reports.status(scenario.bob)).pairs] == [ETH]
    with pytest.raises(PairNotFound, match="You have no BTC/USDT pair. Your pairs: ETH/USDT."):
        await service.reports.decisions(scenario.bob, BTC)
    alice_trade_ids = {t.id for t in await _trades(scenario)}
    assert not alice_trade_ids & {t.id for t in bob_trades.trades}
