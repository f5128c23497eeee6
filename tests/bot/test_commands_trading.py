"""Commands over what real engines did: positions, closing, stopping, the breaker's /resume, /profit with its
chart, /chart, /decisions and /trades, on SQLite and PostgreSQL.

Two replays per backend, shared by the tests here (each test acts only for its own users). On the shipped
candles from 2017-07-14 00:00 UTC the offline analysts open a BTC short at 13:00 and take profit at 17:00, open
again on the 15th at 13:00 and are stopped out at 18:00:
- `opened`: 14 hourly cycles, every user holds a BTC/USDT short;
- `tripped`: 43 cycles; the resumer (a breaker after 1 loss, a 0.5% daily loss limit) has both breakers open.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
import pytest_asyncio

from bot.commands import MatplotlibCharts
from bot.router import Actor
from db.database import Database
from tests.bot.commands_support import PNG_SIGNATURE, Chat, TinyCharts, buttons, holdings, router_for
from tests.conftest import BACKENDS
from tests.engine.service_world import World

pytestmark = pytest.mark.asyncio(loop_scope="module")
OPENED = ("reader", "closer", "stopper", "remover", "bystander")
TRIPPED = ("resumer", "reporter")


@dataclass
class Replay:
    world: World
    charts: TinyCharts
    users: dict[str, Chat]

    def ids(self, name: str) -> int:
        return self.users[name].actor.telegram_id


@pytest.fixture(scope="module", params=BACKENDS)
def replay_url(request: pytest.FixtureRequest, migrated_urls: dict[str, Callable[[str], str]]) -> str:
    return migrated_urls["get"](request.param)


async def _replay(url: str, names: tuple[str, ...], hours: int, careful: tuple[str, ...] = ()) -> Replay:
    world = World.build(Database(url))
    charts = TinyCharts()
    router = router_for(world, charts)
    users = {name: Chat(router, Actor(uuid.uuid4().int % 10**12 + 10**6, name=name.title())) for name in names}
    for name, user in users.items():
        await user.send("/start")
        await user.send("/connect paper 10000")
        if name in careful:
            await user.send("/settings breaker_max_consecutive_losses 1")
            await user.send("/settings breaker_daily_loss_pct 0.5%")
        if name != "bystander":
            assert "Added" in (await user.one("/addpair BTC/USDT 2000 3")).text
    await world.run_hours(hours)
    return Replay(world, charts, users)


async def _close(replay: Replay) -> None:
    await replay.world.close()
    await replay.world.database.dispose()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def opened(replay_url: str) -> AsyncIterator[Replay]:
    replay = await _replay(replay_url, OPENED, 14)
    try:
        yield replay
    finally:
        await _close(replay)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def tripped(replay_url: str) -> AsyncIterator[Replay]:
    replay = await _replay(replay_url, TRIPPED, 43, careful=("resumer",))
    try:
        yield replay
    finally:
        await _close(replay)


async def test_status_when_position_open_then_shown_and_refresh_edits_in_place(opened: Replay) -> None:
    reader, bystander = opened.users["reader"], opened.users["bystander"]

    status = await reader.one("/status")
    refreshed = await reader.press(buttons(status)["🔄 Refresh"])
    foreign = await bystander.press(buttons(status)["🔄 Refresh"])

    lines = status.text.splitlines()
    assert lines[0] == "Status · paper mode · paper (perpetual, replay prices)"
    assert lines[3] == "▶️ BTC/USDT · budget 2,000 USDT · 3x · active"
    assert lines[4].startswith("   SHORT ") and " @ " in lines[4] and "USDT" in lines[4]
    assert lines[6] == "   last cycle 14 Jul 2017 13:00 UTC"
    assert refreshed.edit and refreshed.text == status.text and refreshed.buttons == status.buttons
    assert "someone else's message" in foreign.text and not foreign.edit


async def test_positions_when_open_then_listed_with_pnl_and_refresh_edits_in_place(opened: Replay) -> None:
    reader = opened.users["reader"]

    positions = await reader.one("/positions")
    refreshed = await reader.press(buttons(positions)["🔄 Refresh"])
    empty = await opened.users["bystander"].one("/positions")

    assert positions.text.splitlines()[:2] == ["Open positions (1)", "BTC/USDT"]
    assert "SL " in positions.text and "TP " in positions.text and "Unrealized in all" in positions.text
    assert refreshed.edit and refreshed.text == positions.text
    assert empty.text.startswith("No open position")


async def test_close_when_position_open_then_closed_at_market_with_its_pnl(opened: Replay) -> None:
    closer = opened.users["closer"]

    closed = await closer.one("/close btcusdt")

    assert closed.text.startswith("✅ Closed at market: BTC/USDT short ")
    assert "closed on request" in closed.text and "USDT" in closed.text
    assert "No open position" in (await closer.one("/positions")).text
    assert "no open position on BTC/USDT" in (await closer.one("/close BTC/USDT")).text


async def test_stop_when_confirmed_then_positions_closed_and_pairs_paused_but_a_foreign_press_does_nothing(
    opened: Replay,
) -> None:
    stopper, reader = opened.users["stopper"], opened.users["reader"]
    asked = await stopper.one("/stop")
    before = await holdings(opened.world.database, opened.ids("reader"))

    foreign = await reader.press(buttons(asked)["Stop everything"])
    cancelled = await reader.press(buttons(asked)["Cancel"])
    stopped = await stopper.press(buttons(asked)["Stop everything"])

    assert asked.text == "⚠️ /stop closes 1 open position at market (BTC/USDT) and pauses your pair. Stop everything?"
    assert "someone else's message" in foreign.text and "someone else's message" in cancelled.text
    assert await holdings(opened.world.database, opened.ids("reader")) == before
    assert len(await opened.world.service.reports.positions(opened.ids("reader"))) == 1
    assert stopped.edit and stopped.text.startswith("⏹ Stopped: BTC/USDT paused.")
    assert "Closed: BTC/USDT short" in stopped.text
    assert await opened.world.service.reports.positions(opened.ids("stopper")) == ()
    assert "paused" in (await stopper.one("/pairs")).text


async def test_removepair_when_position_open_then_asks_and_the_button_closes_and_removes(opened: Replay) -> None:
    remover, bystander = opened.users["remover"], opened.users["bystander"]

    asked = await remover.one("/removepair BTC/USDT")
    close = buttons(asked)["Remove and close at market"]
    await bystander.send("/addpair BTC/USDT 1000")
    crafted = await bystander.press(close.replace(str(opened.ids("remover")), str(opened.ids("bystander")), 1))
    removed = await remover.press(close)

    assert "has an open position" in asked.text and "/removepair BTC/USDT close" in asked.text
    assert "not one of yours" in crafted.text
    assert "BTC/USDT" in (await bystander.one("/pairs")).text
    assert removed.edit and removed.text.startswith("🗑 Removed BTC/USDT")
    assert "Closed on the way out: BTC/USDT short" in removed.text
    assert await opened.world.service.reports.positions(opened.ids("remover")) == ()


async def test_resume_when_breaker_tripped_then_shows_why_and_resumes_only_on_the_owners_confirmation(
    tripped: Replay,
) -> None:
    resumer, reporter = tripped.users["resumer"], tripped.users["reporter"]
    status = await resumer.one("/status")

    [asked] = await resumer.send("/resume")
    foreign = await reporter.press(buttons(asked)["Resume"])
    own = await reporter.press(
        buttons(asked)["Resume"].replace(str(tripped.ids("resumer")), str(tripped.ids("reporter")))
    )
    still = await tripped.world.service.trading.breakers(tripped.ids("resumer"))
    resumed = await resumer.press(buttons(asked)["Resume"])

    assert "Daily loss limit hit on 15 Jul 2017 18:00 UTC" in status.text
    assert "BTC/USDT: circuit breaker tripped on 15 Jul 2017 18:00 UTC after 1 losing trade in a row" in status.text
    assert asked.text.startswith("⛔ BTC/USDT: circuit breaker tripped on 15 Jul 2017 18:00 UTC after 1 losing")
    assert asked.text.endswith("Resume trading now?") and set(buttons(asked)) == {"Resume", "Cancel"}
    assert "someone else's message" in foreign.text and "No circuit breaker is open" in own.text
    assert len(still) == 2
    assert resumed.edit and resumed.text.startswith("▶️ Circuit breaker reset (BTC/USDT, daily loss limit)")
    assert await tripped.world.service.trading.breakers(tripped.ids("resumer")) == ()
    assert "No circuit breaker is open" in (await resumer.press(buttons(asked)["Resume"])).text
    assert (await resumer.one("/resume")).text == "BTC/USDT: already trading."


def png_size(png: bytes | None) -> tuple[int, int]:
    assert png is not None and png.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", png[16:24])
    return width, height


async def test_profit_when_trades_closed_then_metrics_and_a_real_equity_png(tripped: Replay) -> None:
    router = router_for(tripped.world, MatplotlibCharts())  # the default charts, as build_router draws them
    reporter = Chat(router, tripped.users["reporter"].actor)

    report, chart = await reporter.send("/profit")
    candles = await reporter.one("/chart BTC/USDT")

    lines = report.text.splitlines()
    assert lines[0] == "Profit since 14 Jul 2017 00:00 UTC · starting balance 10,000.00 USDT"
    assert lines[2].startswith("ROI ") and "win rate 50.00%" in lines[2] and "Sharpe" in lines[2]
    assert "max drawdown" in lines[2] and "Trades 2 · win rate 50.00%" in report.text
    assert "BTC/USDT · budget 2,000 · " in report.text and "2 trades" in report.text
    assert png_size(chart.photo) == (1000, 600) and png_size(candles.photo) == (1000, 600)
    assert chart.text.startswith("Equity and drawdown, 14 Jul 2017 00:00 UTC to 15 Jul 2017 18:00 UTC")


async def test_chart_when_pair_traded_then_candles_with_its_entries_and_exits(tripped: Replay) -> None:
    reporter = tripped.users["reporter"]

    chart = await reporter.one("/chart btc-usdt")
    refused = await reporter.one("/chart ETH/USDT")

    candles, markers, title = tripped.charts.candle_calls[-1]
    assert chart.photo is not None and candles == 48 and title == "BTC/USDT · entries and exits"
    kinds = sorted((marker.kind, marker.side) for marker in markers)
    assert ("entry", "short") in kinds and ("exit", "short") in kinds
    entries = sum(1 for kind, _ in kinds if kind == "entry")
    assert f"{entries} entr" in chart.text and chart.text.startswith("BTC/USDT: 48 candles to ")
    assert "You have no ETH/USDT pair" in refused.text


async def test_decisions_when_cycles_ran_then_each_analysts_vote_and_the_consensus(tripped: Replay) -> None:
    reporter = tripped.users["reporter"]

    decisions = await reporter.one("/decisions BTCUSDT")

    lines = decisions.text.splitlines()
    assert lines[0] == "Last decision on BTC/USDT · candle 15 Jul 2017 17:00 UTC"
    assert lines[1].startswith("Consensus: ") and lines[2].startswith("Outcome: ")
    assert lines[3] == "Votes (3):"
    analysts = [line.split(" ", 2)[1] for line in lines if line.startswith("• ")]
    assert analysts == ["breakout", "mean_reversion", "trend"]


async def test_trades_when_asked_then_newest_first_and_paging_buttons_edit_in_place(tripped: Replay) -> None:
    reporter = tripped.users["reporter"]

    first = await reporter.one("/trades")
    past = await reporter.one("/trades 2 btc/usdt")
    back = await reporter.press(buttons(past)["◀️ Newer"])

    assert first.text.splitlines()[0] == "Trades · page 1 of 1 (2 in all)"
    stop, profit = first.text.splitlines()[1:3]
    assert "stop loss · 15 Jul 2017 18:00 UTC" in stop and "take profit · 14 Jul 2017 17:00 UTC" in profit
    assert "This page is past the last one." in past.text
    assert back.edit and back.text.splitlines()[0] == "Trades on BTC/USDT · page 1 of 1 (2 in all)"
    assert "The page must be a whole number" in (await reporter.one("/trades 0")).text
