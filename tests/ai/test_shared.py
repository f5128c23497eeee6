import asyncio
from decimal import Decimal

from adapters.ai.ensemble import Ensemble
from adapters.ai.offline import offline_analyst
from adapters.ai.recorder import InMemoryVoteRecorder
from adapters.ai.shared import SharedEnsemble
from domain.trading import PositionSide
from tests.ai.market_data import history_snapshot


class CountingAnalyst:
    """Wraps an offline analyst to count how often the ensemble really asks it."""

    def __init__(self, name: str) -> None:
        self._inner = offline_analyst(name)
        self.name, self.model = self._inner.name, self._inner.model
        self.calls = 0

    async def analyse(self, snapshot):
        self.calls += 1
        await asyncio.sleep(0.05)  # a slow analyst widens the window in which engines pile up
        return await self._inner.analyse(snapshot)

    async def close(self) -> None:
        return None


def shared_ensemble() -> tuple[SharedEnsemble, list[CountingAnalyst], InMemoryVoteRecorder]:
    analysts = [CountingAnalyst(name) for name in ("trend", "mean_reversion", "breakout")]
    recorder = InMemoryVoteRecorder()
    return SharedEnsemble(Ensemble(analysts), recorder), analysts, recorder


async def test_decide_when_50_engines_ask_for_one_symbol_then_one_call_per_candle_and_side():
    shared, analysts, recorder = shared_ensemble()
    flat = history_snapshot(5000)
    long = history_snapshot(5000, position_side=PositionSide.LONG, entry_price=Decimal("11000"))
    next_candle = history_snapshot(5001)

    results = await asyncio.gather(*(shared.decide(flat if i % 2 else long) for i in range(50)))
    results += await asyncio.gather(*(shared.decide(next_candle) for _ in range(50)))

    assert shared.calls == 3
    assert all(analyst.calls == 3 for analyst in analysts)
    assert sorted(key for key, _ in recorder.records) == sorted([long.key, flat.key, next_candle.key])
    assert len({id(result) for result in results}) == 3
    # a late engine in the same candle gets the cached answer without a new call
    assert await shared.decide(flat) is results[1]
    assert shared.calls == 3


async def test_decide_when_one_waiting_engine_is_cancelled_then_others_still_get_the_answer():
    shared, _, recorder = shared_ensemble()
    snapshot = history_snapshot(5000)
    first = asyncio.create_task(shared.decide(snapshot))
    others = [asyncio.create_task(shared.decide(snapshot)) for _ in range(5)]
    await asyncio.sleep(0)
    first.cancel()
    results = await asyncio.gather(*others)
    assert len({id(result) for result in results}) == 1
    assert len(recorder.records) == 1


async def test_decide_when_recorder_fails_then_decision_still_returned():
    class BrokenRecorder:
        async def record(self, snapshot_key, result) -> None:
            raise RuntimeError("database down")

    shared = SharedEnsemble(Ensemble([offline_analyst("trend"), offline_analyst("breakout")]), BrokenRecorder())
    result = await shared.decide(history_snapshot(5000))
    assert result.votes


async def test_decide_when_different_exchanges_then_separate_calls():
    shared, _, recorder = shared_ensemble()
    await asyncio.gather(
        shared.decide(history_snapshot(5000, exchange="binance")),
        shared.decide(history_snapshot(5000, exchange="bybit")),
    )
    assert shared.calls == 2 and len(recorder.records) == 2


async def test_decide_when_a_straggler_asks_for_the_previous_candle_then_cached_and_older_ones_are_forgotten():
    shared, analysts, _ = shared_ensemble()
    first, second, third = history_snapshot(5000), history_snapshot(5001), history_snapshot(5002)
    answers = [await shared.decide(snapshot) for snapshot in (first, second)]
    assert await shared.decide(first) is answers[0]  # an engine still on the previous candle: no new call
    assert shared.calls == 2
    await shared.decide(third)
    again = await shared.decide(first)  # two candles on: forgotten, asked again (memory stays per stream)
    assert shared.calls == 4 and again is not answers[0] and again == answers[0]
    assert all(analyst.calls == 4 for analyst in analysts)
