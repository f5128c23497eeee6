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


ROWS = [
    "2024-01-01T00:00:00Z,1,2,0.5,1.5,10",
    "2024-01-01T01:00:00Z,1.5,1.6,1.4,1.5,0",
    "1704074400000,1.5,1.7,1.5,1.6,2",
]


@pytest.mark.parametrize(
    "text",
    [
        HEADER + "\n".join(ROWS) + "\n",  # split on newlines directly
        HEADER.replace("\n", "\r\n") + "\r\n".join(ROWS) + "\r\n",  # the shipped file's line endings
        HEADER + "\n".join(ROWS),  # no final newline
        HEADER + "\n\n".join(ROWS) + "\n\n",  # blank lines are skipped
        HEADER + "\r\n".join(ROWS) + "\n",  # mixed line endings: read by the csv reader
        HEADER + "\r".join(ROWS) + "\r",  # carriage returns alone
        HEADER + "\n".join(row.replace(",1.5,", ',"1.5",') for row in ROWS) + "\n",  # quoted cells
        HEADER + "\n".join(row.replace(",", ", ") for row in ROWS) + "\n",  # spaces around numbers
    ],
    ids=["lf", "crlf", "no-final-newline", "blank-lines", "mixed", "cr", "quoted", "spaces"],
)
def test_read_candles_when_same_rows_written_differently_then_same_candles(tmp_path, text):
    path = tmp_path / "candles.csv"
    path.write_bytes(text.encode())

    assert read_candles(path) == [
        Candle(1_704_067_200_000, D(1), D(2), D("0.5"), D("1.5"), D(10)),
        Candle(1_704_070_800_000, D("1.5"), D("1.6"), D("1.4"), D("1.5"), D(0)),
        Candle(1_704_074_400_000, D("1.5"), D("1.7"), D("1.5"), D("1.6"), D(2)),
    ]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize(
    "row, message",
    [
        ("2024-02-30T00:00:00Z,1,2,0.5,1.5,1", "line 4: "),  # the shipped form, but no such day
        ("2024-01-01T24:00:00Z,1,2,0.5,1.5,1", "line 4: "),
        ("2024-01-01T03:00:00Z,1,2,0.5,NaN,1", "line 4: not a finite number: 'NaN'"),
        ("2024-01-01T03:00:00Z,1,Infinity,0.5,1.5,1", "line 4: not a finite number: 'Infinity'"),
        ("2024-01-01T03:00:00Z,1,2,0.5,1.5,-1", "line 4: volume must not be negative"),
        ("2024-01-01T03:00:00Z,0,2,0,1.5,1", "line 4: prices must be positive"),
        ("2024-01-01T03:00:00Z,1,2,1.2,1.5,1", "line 4: invalid OHLC"),
        ("2024-01-01T01:00:00Z,1,2,0.5,1.5,1", "line 4: timestamp 2024-01-01T01:00:00Z is not after"),
    ],
)
def test_read_candles_when_third_row_bad_then_same_error_whatever_the_line_endings(tmp_path, newline, row, message):
    rows = ["2024-01-01T00:00:00Z,1,2,0.5,1.5,1", "2024-01-01T02:00:00Z,1,2,0.5,1.5,1", row]
    path = tmp_path / "candles.csv"
    path.write_bytes(newline.join([HEADER.strip(), *rows]).encode())
    quoted = tmp_path / "quoted.csv"  # a quote in the header: only the csv reader reads this one
    quoted.write_bytes(newline.join(['"timestamp",open,high,low,close,volume', *rows]).encode())

    with pytest.raises(CandleFileError, match=message) as caught:
        read_candles(path)
    with pytest.raises(CandleFileError) as through_csv:
        read_candles(quoted)

    assert str(caught.value) == str(through_csv.value).replace("quoted.csv", "candles.csv")
