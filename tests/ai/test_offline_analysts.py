"""The built-in analysts over real BTC/USD hourly candles (2017-2019)."""

from decimal import Decimal

import pytest

from adapters.ai.offline import offline_analyst
from domain.decision import Action
from domain.trading import PositionSide
from tests.ai.market_data import history_snapshot

NAMES = ("trend", "mean_reversion", "breakout")

# candle indices where the analysts' logic visibly diverges on the same snapshot (found by sweeping the data)
DISAGREEMENTS = {
    982: {"trend": Action.BUY, "mean_reversion": Action.SELL},
    1467: {"mean_reversion": Action.SELL, "breakout": Action.BUY},
    1564: {"mean_reversion": Action.BUY, "breakout": Action.SELL},
}


@pytest.mark.parametrize("end", sorted(DISAGREEMENTS))
async def test_analyse_when_same_snapshot_then_strategies_disagree_as_their_logic_says(end):
    snapshot = history_snapshot(end, hours=250)
    for name, expected in DISAGREEMENTS[end].items():
        vote = await offline_analyst(name).analyse(snapshot)
        assert vote.action is expected, (name, vote)


@pytest.mark.parametrize("end", [982, 1467, 1564, 1661, 7093])
async def test_analyse_when_entry_signal_then_atr_levels_on_the_correct_side(end):
    snapshot = history_snapshot(end, hours=250)
    price = snapshot.price
    atr = Decimal(str(snapshot.base.indicators.atr))
    for name in NAMES:
        vote = await offline_analyst(name).analyse(snapshot)
        decision = vote.decision
        assert decision is not None and "\n" not in decision.reasoning and decision.reasoning
        assert Decimal(0) <= decision.confidence <= Decimal(1)
        if decision.action is Action.BUY:
            assert decision.stop_loss < price < decision.take_profit
            assert price - decision.stop_loss <= 3 * atr
        if decision.action is Action.SELL:
            assert decision.take_profit < price < decision.stop_loss
            assert decision.stop_loss - price <= 3 * atr


async def test_analyse_when_too_few_candles_then_abstains_insufficient_data():
    snapshot = history_snapshot(5000, hours=12)
    for name in NAMES:
        vote = await offline_analyst(name).analyse(snapshot)
        assert vote.abstained and vote.abstain_reason.startswith("insufficient_data"), (name, vote)


async def test_analyse_when_long_in_a_downtrend_then_trend_analyst_closes():
    snapshot = history_snapshot(1661, hours=250, position_side=PositionSide.LONG, entry_price=Decimal("2700"))
    vote = await offline_analyst("trend").analyse(snapshot)
    assert vote.action is Action.CLOSE


async def test_analyse_when_position_open_then_never_opens_the_opposite_side():
    for end in (982, 1467, 1564, 1661):
        for side in (PositionSide.LONG, PositionSide.SHORT):
            snapshot = history_snapshot(end, hours=250, position_side=side, entry_price=Decimal("2500"))
            for name in NAMES:
                vote = await offline_analyst(name).analyse(snapshot)
                assert vote.action in (Action.HOLD, Action.CLOSE), (end, side, name, vote)


def test_offline_analyst_when_unknown_name_then_clear_error():
    with pytest.raises(ValueError, match="unknown offline analyst 'astrology'"):
        offline_analyst("astrology")
