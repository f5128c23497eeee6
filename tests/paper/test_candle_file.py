"""Reading and writing candle files: the shipped format, and clear refusals of bad files."""

from __future__ import annotations

import gzip
from decimal import Decimal

import pytest

from adapters.exchange.candle_file import CandleFileError, infer_timeframe, read_candles, write_candles
from domain.market import Candle

D = Decimal
HEADER = "timestamp,open,high,low,close,volume\n"


def write(tmp_path, body: str, name: str = "candles.csv"):
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def test_read_candles_when_iso_and_millisecond_timestamps_then_both_parse_to_utc_ms(tmp_path):
    path = write(tmp_path, "2024-01-01T00:00:00Z,1,2,0.5,1.5,10\n1704070800000,1.5,1.6,1.4,1.5,0\n")

    candles = read_candles(path)

    assert [c.ts for c in candles] == [1_704_067_200_000, 1_704_070_800_000]
    assert candles[0] == Candle(1_704_067_200_000, D(1), D(2), D("0.5"), D("1.5"), D(10))
    assert infer_timeframe(candles) == "1h"


def test_write_candles_when_gzip_name_then_round_trips_exactly(tmp_path):
    candles = [
        Candle(1_704_067_200_000 + i * 300_000, D("42000.1"), D("42100"), D("41999.99"), D("42050"), D("0.123"))
        for i in range(3)
    ]
    path = tmp_path / "out.csv.gz"

    assert write_candles(path, candles) == 3

    assert read_candles(path) == candles
    with gzip.open(path, "rt") as handle:
        assert handle.readline().strip() == "timestamp,open,high,low,close,volume"
    assert not list(tmp_path.glob("*.partial*"))


@pytest.mark.parametrize(
    "body, message",
    [
        ("2024-01-01T00:00:00Z,1,2,0.5,1.5\n", "line 2: expected 6 columns"),
        ("2024-01-01T00:00:00,1,2,0.5,1.5,1\n", "line 2: timestamp '2024-01-01T00:00:00' has no timezone"),
        ("2024-01-01T00:00:00Z,1,1.2,0.5,1.5,1\n", "line 2: invalid OHLC"),
        ("2024-01-01T00:00:00Z,1,2,0.5,abc,1\n", "line 2: not a number: 'abc'"),
        (
            "2024-01-01T01:00:00Z,1,2,0.5,1.5,1\n2024-01-01T00:00:00Z,1,2,0.5,1.5,1\n",
            "line 3: timestamp 2024-01-01T00:00:00Z is not after",
        ),
        ("", "has a header but no candles"),
    ],
)
def test_read_candles_when_row_is_bad_then_error_names_file_and_line(tmp_path, body, message):
    with pytest.raises(CandleFileError, match=message) as caught:
        read_candles(write(tmp_path, body))
    assert str(caught.value).startswith("candles.csv: ")


def test_read_candles_when_header_wrong_then_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("time,o,h,l,c,v\n", encoding="utf-8")

    with pytest.raises(CandleFileError, match="line 1: the header must be timestamp,open,high,low,close,volume"):
        read_candles(path)


def test_infer_timeframe_when_gap_unsupported_then_clear_error():
    candles = [Candle(0, D(1), D(1), D(1), D(1), D(0)), Candle(7_000, D(1), D(1), D(1), D(1), D(0))]

    with pytest.raises(ValueError, match="7000 ms apart"):
        infer_timeframe(candles)
