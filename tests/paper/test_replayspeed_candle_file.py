"""read_candles' plain-file reader gives exactly what the row-by-row csv reader gives, or hands the file to it."""

from __future__ import annotations

import gzip
from decimal import Decimal

import pytest

from adapters.exchange.candle_file import (
    CandleFileError,
    _read_checked,
    _read_plain,
    read_candles,
    shipped_candle_file,
)

HEADER = "timestamp,open,high,low,close,volume"


def _fields(candles):
    return [(c.ts, *(str(value) for value in (c.open, c.high, c.low, c.close, c.volume))) for c in candles]


def _outcome(read, path):
    try:
        return "ok", _fields(read(path))
    except (CandleFileError, ValueError) as exc:
        return type(exc).__name__, str(exc)


def test_read_candles_when_shipped_file_then_plain_reader_gives_the_csv_readers_candles():
    path = shipped_candle_file()

    plain = _read_plain(path)

    assert plain is not None  # the shipped file takes the plain path
    assert _fields(plain) == _fields(_read_checked(path))
    assert plain == read_candles(path)


ROWS = [
    "2024-01-01T00:00:00Z,1,2,0.5,1.5,10",
    "2024-01-01T01:00:00Z,1.50,2.000,1.5,2,0",
    "1704074400000,2,2,2,2,-0",
    " 2024-01-01T03:00:00Z , 2 ,3,1, 2.5 ,1E+2",
    "2024-01-01T04:00:00+00:00,2,3,1,2.5,1",
    "2024-01-01T07:00:00+02:00,2,3,1,2.5,1",
    "2024-02-29T23:59:59Z,2,3,1,2.5,0.000001",
]
ACCEPTED = {  # unusual rows that the csv reader takes
    "2024-03-01T23:00:00.5Z,1,2,0.5,1.5,1",
    "2024-W10-1T12:00:00Z,1,2,0.5,1.5,1",
    '2024-03-01T12:00:00Z,"1",2,0.5,1.5,1',
}
BAD_ROWS = [
    "2024-02-30T00:00:00Z,1,2,0.5,1.5,1",  # no such day
    "2024-03-01T24:00:00Z,1,2,0.5,1.5,1",
    "2024-03-01T23:60:00Z,1,2,0.5,1.5,1",
    "2024-03-01T23:00:60Z,1,2,0.5,1.5,1",
    "2024-03-01T23:00:00.5Z,1,2,0.5,1.5,1",
    "2024-03-01T12:00:00,1,2,0.5,1.5,1",  # no zone
    "2024-W10-1T12:00:00Z,1,2,0.5,1.5,1",  # ISO week date
    "2024-03-01T1\u0662:00:00Z,1,2,0.5,1.5,1",  # a non-ASCII digit
    "2024-03-01T12:00:00Z,1,2,0.5,1.5",
    "2024-03-01T12:00:00Z,1,2,0.5,1.5,1,7",
    "2024-03-01T12:00:00Z,1,Infinity,0.5,1.5,1",
    "2024-03-01T12:00:00Z,1,2,0.5,1.5,Infinity",
    "2024-03-01T12:00:00Z,1,2,0.5,NaN,1",
    "2024-03-01T12:00:00Z,1,2,0.5,sNaN,1",
    "2024-03-01T12:00:00Z,1,2,-0.5,1.5,1",
    "2024-03-01T12:00:00Z,1,2,0,1.5,1",
    "2024-03-01T12:00:00Z,1,2,0.5,1.5,-1",
    "2024-03-01T12:00:00Z,1,1.2,0.5,1.5,1",  # high below close
    "2024-03-01T12:00:00Z,1,2,1.2,1.5,1",  # low above open
    "2024-03-01T12:00:00Z,2.5,2,0.5,1.5,1",  # high below open
    "2024-03-01T12:00:00Z,1,2,0.5,abc,1",
    '2024-03-01T12:00:00Z,"1",2,0.5,1.5,1',  # quoted
    "2024-01-01T00:00:00Z,1,2,0.5,1.5,1",  # not after the rows before it
]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("bad", [None, *BAD_ROWS])
@pytest.mark.parametrize("gzipped", [False, True])
def test_read_candles_when_any_file_then_same_candles_or_error_as_csv_reader(tmp_path, newline, bad, gzipped):
    rows = [*ROWS[:3], "", *ROWS[3:]] + ([bad] if bad is not None else [])
    text = newline.join([HEADER, *rows]) + newline
    path = tmp_path / ("candles.csv.gz" if gzipped else "candles.csv")
    if gzipped:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_bytes(text.encode())

    expected = _outcome(_read_checked, path)

    assert _outcome(read_candles, path) == expected
    if bad is None and newline != "\r":
        assert expected[0] == "ok" and _read_plain(path) is not None  # plain files take the plain path
    if bad is not None:
        assert (expected[0] == "ok") == (bad in ACCEPTED)
        if bad not in ACCEPTED:
            assert _read_plain(path) is None  # left to the csv reader, which names the line


def test_read_candles_when_mixed_line_endings_then_same_candles(tmp_path):
    path = tmp_path / "candles.csv"
    path.write_bytes(("\r\n".join([HEADER, ROWS[0]]) + "\n" + ROWS[1] + "\r\n\n" + ROWS[2]).encode())

    assert _read_plain(path) is not None
    assert _fields(read_candles(path)) == _fields(_read_checked(path))
    assert [c.volume for c in read_candles(path)] == [Decimal(10), Decimal(0), Decimal(0)]


def test_read_candles_when_header_only_or_missing_file_then_same_errors(tmp_path):
    path = tmp_path / "candles.csv"
    path.write_text(HEADER + "\n", encoding="utf-8")
    with pytest.raises(CandleFileError, match="has a header but no candles"):
        read_candles(path)
    with pytest.raises(FileNotFoundError):
        read_candles(tmp_path / "absent.csv")
