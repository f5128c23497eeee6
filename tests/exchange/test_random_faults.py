"""Random faults of the emulators: a seeded share of the private (signed) requests fail, public ones never; the
kinds dealt are counted and logged on the request; one seed always deals the same sequence; a fault after processing
hides a refusal as it hides an acceptance."""

from __future__ import annotations

import aiohttp
import pytest

from tests.exchange.binance_emulator import BinanceEmulator
from tests.exchange.bybit_emulator import BybitEmulator
from tests.exchange.emulator_server import RANDOM_FAULT_MIX, Fault, RandomFaults


async def _statuses(emulator: BinanceEmulator, path: str, count: int) -> list[int]:
    """`count` unsigned GETs of `path`: a private path answers 401 unless a fault answers first (0: the
    connection was dropped)."""
    statuses = []
    async with aiohttp.ClientSession() as session:
        for _ in range(count):
            try:
                async with session.get(emulator.base_url + path) as response:
                    statuses.append(response.status)
            except aiohttp.ClientError:
                statuses.append(0)
    return statuses


async def test_random_faults_when_enabled_then_only_private_requests_fail_at_the_seeded_rate(
    emulator: BinanceEmulator,
) -> None:
    emulator.random_faults = RandomFaults(rate=0.25, seed=7, mix=(("503", Fault("status", status=503)),))

    public = await _statuses(emulator, "/api/v3/time", 200)
    private = await _statuses(emulator, "/api/v3/account", 400)

    assert set(public) == {200}
    assert set(private) == {401, 503}  # refused for want of a key, or failed first
    failed = private.count(503)
    assert emulator.random_faults.counts == {"503": failed}
    assert 60 <= failed <= 140  # 100 expected
    assert [r.fault for r in emulator.requests if r.fault] == ["503"] * failed


async def test_random_faults_when_seeded_alike_then_same_sequence_and_every_kind_is_dealt() -> None:
    sequences = []
    for _ in range(2):
        emulator = BinanceEmulator(random_faults=RandomFaults(rate=0.5, seed=11, mix=RANDOM_FAULT_MIX))
        await emulator.start()
        emulator.hang_seconds = 0.01
        try:
            statuses = await _statuses(emulator, "/api/v3/openOrders", 150)
        finally:
            await emulator.stop()
        sequences.append([r.fault for r in emulator.requests])
        assert statuses.count(401) == sequences[-1].count("")  # a fault, before or after the refusal, hides it
    assert sequences[0] == sequences[1] and len(sequences[0]) >= 150  # aiohttp resends a GET dropped on reuse
    assert {name for name, _ in RANDOM_FAULT_MIX} == set(sequences[0]) - {""}


async def test_random_faults_when_disabled_or_invalid_then_nothing_is_dealt() -> None:
    faults = RandomFaults(rate=1.0, enabled=False)
    assert [faults.draw() for _ in range(10)] == [None] * 10 and not faults.counts
    with pytest.raises(ValueError, match="rate"):
        RandomFaults(rate=1.5)


async def test_random_faults_when_set_on_bybit_then_its_private_requests_fail_too() -> None:
    emulator = BybitEmulator(random_faults=RandomFaults(rate=1.0, mix=(("503", Fault("status", status=503)),)))
    await emulator.start()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(emulator.base_url + "/v5/account/wallet-balance") as private:
                assert private.status == 503
            async with session.get(emulator.base_url + "/v5/market/time") as public:
                assert public.status == 200
    finally:
        await emulator.stop()
    assert emulator.random_faults is not None and emulator.random_faults.counts == {"503": 1}
