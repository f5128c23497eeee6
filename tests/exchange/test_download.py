"""Candle download: pagination, resume after an interruption, rate limits, file format, and the CLI."""

from __future__ import annotations

import asyncio
import gzip
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.exchange.candle_file import format_timestamp, read_candles
from adapters.exchange.ccxt_live import CcxtExchange
from adapters.exchange.download import (
    CandleDownloadError,
    DownloadResult,
    download_candles,
)
from adapters.exchange.errors import TransientExchangeError
from quorum.cli_data import data_app
from tests.exchange.binance_emulator import BinanceEmulator, Fault
from tests.exchange.binance_market_state import expected_close
from tests.exchange.conftest import FAST_RETRIES, RecordingSleep

HOUR = 3_600_000
JAN_1 = 1_704_067_200_000  # 2024-01-01T00:00Z
FAR_FUTURE = JAN_1 + 3_650 * 86_400_000


def assert_contiguous_hours(path: Path, first: int, count: int) -> None:
    candles = read_candles(path)
    assert [c.ts for c in candles] == [first + i * HOUR for i in range(count)]
    assert all(c.close == expected_close(c.ts, HOUR) for c in candles)


async def test_download_candles_when_range_spans_pages_then_all_pages_written_in_order(
    spot: CcxtExchange, emulator: BinanceEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "btc.csv"

    result = await download_candles(
        spot,
        "BTC/USDT",
        "1h",
        out,
        since_ms=JAN_1,
        until_ms=JAN_1 + 120 * HOUR,
        page_limit=50,
        now_ms=lambda: FAR_FUTURE,
    )

    assert result.written == 120 and result.resumed_after is None
    assert result.last_ts == JAN_1 + 119 * HOUR
    assert emulator.calls("GET", "/api/v3/klines") == 3
    assert_contiguous_hours(out, JAN_1, 120)
    assert out.read_text().splitlines()[:2] == [
        "timestamp,open,high,low,close,volume",
        "2024-01-01T00:00:00Z,30758,30770,30748,30760,1.5",
    ]


async def test_download_candles_when_interrupted_then_rerun_resumes_after_last_row_without_duplicates(
    spot: CcxtExchange, emulator: BinanceEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "btc.csv.gz"
    await spot.load_markets()
    outage = Fault("status", status=503)
    emulator.inject_after(
        ("GET", "/api/v3/klines"), "GET", "/api/v3/klines", outage, times=FAST_RETRIES.max_retries + 1
    )

    async def run() -> DownloadResult:
        return await download_candles(
            spot,
            "BTC/USDT",
            "1h",
            out,
            since_ms=JAN_1,
            until_ms=JAN_1 + 120 * HOUR,
            page_limit=50,
            now_ms=lambda: FAR_FUTURE,
        )

    with pytest.raises(TransientExchangeError):
        await run()
    assert_contiguous_hours(out, JAN_1, 50)
    emulator.requests.clear()

    result = await run()

    assert result.resumed_after == JAN_1 + 49 * HOUR and result.written == 70
    first_request = next(r for r in emulator.requests if r.path == "/api/v3/klines")
    assert int(first_request.params["startTime"]) == JAN_1 + 50 * HOUR
    assert_contiguous_hours(out, JAN_1, 120)
    with gzip.open(out, "rt") as handle:
        assert handle.readline().strip() == "timestamp,open,high,low,close,volume"


async def test_download_candles_when_rate_limited_mid_download_then_waits_and_completes(
    spot: CcxtExchange, emulator: BinanceEmulator, sleep: RecordingSleep, tmp_path: Path
) -> None:
    out = tmp_path / "btc.csv"
    await spot.load_markets()
    emulator.inject_after(
        ("GET", "/api/v3/klines"), "GET", "/api/v3/klines", Fault("status", status=429, retry_after=30), times=2
    )

    result = await download_candles(
        spot,
        "BTC/USDT",
        "1h",
        out,
        since_ms=JAN_1,
        until_ms=JAN_1 + 100 * HOUR,
        page_limit=40,
        now_ms=lambda: FAR_FUTURE,
    )

    assert result.written == 100
    assert sleep.delays == [FAST_RETRIES.max_delay_s, FAST_RETRIES.max_delay_s]
    assert emulator.calls("GET", "/api/v3/klines") == 3 + 2
    assert_contiguous_hours(out, JAN_1, 100)


async def test_download_candles_when_no_end_given_then_stops_before_the_forming_candle(
    spot: CcxtExchange, tmp_path: Path
) -> None:
    out = tmp_path / "btc.csv"
    now = JAN_1 + 5 * HOUR + 30 * 60_000  # 05:30: the 05:00 candle is still forming

    result = await download_candles(spot, "BTC/USDT", "1h", out, since_ms=JAN_1, now_ms=lambda: now)

    assert result.last_ts == JAN_1 + 4 * HOUR
    assert_contiguous_hours(out, JAN_1, 5)


async def test_download_candles_when_file_is_not_a_candle_file_then_refuses_to_append(
    spot: CcxtExchange, tmp_path: Path
) -> None:
    out = tmp_path / "notes.csv"
    out.write_text("name,value\nx,1\n")

    with pytest.raises(CandleDownloadError, match="header"):
        await download_candles(spot, "BTC/USDT", "1h", out, since_ms=JAN_1, now_ms=lambda: FAR_FUTURE)
    assert out.read_text() == "name,value\nx,1\n"


async def test_download_candles_when_last_row_truncated_then_clear_error_naming_line(
    spot: CcxtExchange, tmp_path: Path
) -> None:
    out = tmp_path / "btc.csv"
    out.write_text(
        "timestamp,open,high,low,close,volume\n2024-01-01T00:00:00Z,1,2,0.5,1.5,3\n2024-01-01T01:00:00Z,1,2\n"
    )

    with pytest.raises(CandleDownloadError, match="line 3 is incomplete"):
        await download_candles(spot, "BTC/USDT", "1h", out, since_ms=JAN_1, now_ms=lambda: FAR_FUTURE)


# --- the CLI: `quorum data download` ---
@pytest.fixture
def threaded_emulator() -> Iterator[BinanceEmulator]:
    """The emulator on its own event loop thread, for the synchronous CLI (which runs asyncio.run itself)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    emulator = BinanceEmulator()
    asyncio.run_coroutine_threadsafe(emulator.start(), loop).result(5)
    yield emulator
    asyncio.run_coroutine_threadsafe(emulator.stop(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def test_cli_download_when_run_twice_then_second_run_resumes(
    threaded_emulator: BinanceEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "btc.csv.gz"
    base = [
        "download",
        "--exchange",
        "binance",
        "--symbol",
        "BTC/USDT",
        "--timeframe",
        "1h",
        "--since",
        "2024-01-01",
        "--out",
        str(out),
        "--url-override",
        threaded_emulator.base_url,
    ]

    first = CliRunner().invoke(data_app, [*base, "--until", "2024-01-02"])
    second = CliRunner().invoke(data_app, [*base, "--until", "2024-01-03"])

    assert first.exit_code == 0, first.output
    assert "Done: 24 new candles" in first.output
    assert second.exit_code == 0, second.output
    assert f"Resumed after {format_timestamp(JAN_1 + 23 * HOUR)}" in second.output
    assert "Done: 24 new candles" in second.output
    assert_contiguous_hours(out, JAN_1, 48)


def test_cli_download_when_perpetual_market_then_futures_klines(
    threaded_emulator: BinanceEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "perp.csv"

    result = CliRunner().invoke(
        data_app,
        [
            "download",
            "--symbol",
            "BTC/USDT",
            "--timeframe",
            "4h",
            "--since",
            "2024-01-01",
            "--until",
            "2024-01-02",
            "--market",
            "perpetual",
            "--out",
            str(out),
            "--url-override",
            threaded_emulator.base_url,
        ],
    )

    assert result.exit_code == 0, result.output
    assert len(read_candles(out)) == 6
    assert threaded_emulator.calls("GET", "/fapi/v1/klines") >= 1


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--since", "01/01/2024", "YYYY-MM-DD"),
        ("--market", "margin", "spot or perpetual"),
        ("--timeframe", "3m", "use one of"),
    ],
)
def test_cli_download_when_option_malformed_then_usage_error_and_no_file(
    tmp_path: Path, option: str, value: str, message: str
) -> None:
    out = tmp_path / "never.csv"
    arguments = {"--symbol": "BTC/USDT", "--since": "2024-01-01", "--out": str(out), option: value}

    result = CliRunner().invoke(data_app, ["download", *[item for pair in arguments.items() for item in pair]])

    assert result.exit_code == 2
    assert message in result.output
    assert not out.exists()


def test_cli_download_when_exchange_unknown_then_exit_1_with_suggestion(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        data_app,
        [
            "download",
            "--exchange",
            "binanse",
            "--symbol",
            "BTC/USDT",
            "--since",
            "2024-01-01",
            "--out",
            str(tmp_path / "x.csv"),
        ],
    )

    assert result.exit_code == 1
    assert "Did you mean binance" in result.output
