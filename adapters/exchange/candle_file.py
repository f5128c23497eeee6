"""Candle files: the CSV format of the shipped history and of downloaded candles.

Format (plain or gzip when the name ends in `.gz`): a header `timestamp,open,high,low,close,volume`, then one row
per candle, oldest first. `timestamp` is the candle's open time: ISO 8601 with a UTC offset
(`2017-07-01T11:00:00Z`) or integer UTC milliseconds. Volume is in the base currency.

A bad file is refused with the file name, the line number and what is wrong: candles are never silently skipped.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import zlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import IO

from domain.market import TIMEFRAME_MS, Candle
from domain.money import ms_to_datetime

COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
SHIPPED_BTC_USD_1H = "btc_usd_1h_coinbase_2017_2019.csv.gz"
_ZERO = Decimal(0)


class CandleFileError(ValueError):
    """A candle file that cannot be read as it is; the message names the file and line."""


def shipped_candle_file(name: str = SHIPPED_BTC_USD_1H) -> Path:
    """Path of a candle file shipped inside the package (adapters/exchange/data), usable with no network."""
    resource = resources.files("adapters.exchange").joinpath("data", name)
    if not resource.is_file():
        raise FileNotFoundError(f"no shipped candle file named {name!r} in adapters/exchange/data")
    return Path(str(resource))


def parse_timestamp(text: str) -> int:
    """ISO 8601 with an offset, or integer milliseconds, to UTC milliseconds."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no timezone; write it in UTC, e.g. 2017-07-01T11:00:00Z")
    return int(parsed.astimezone(UTC).timestamp() * 1000)


def format_timestamp(ms: int) -> str:
    return ms_to_datetime(ms).strftime("%Y-%m-%dT%H:%M:%SZ")


def _open_text(path: Path, mode: str) -> IO[str]:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.GzipFile(path, mode + "b"), encoding="utf-8", newline="")
    return open(path, mode, encoding="utf-8", newline="")


def _number(cell: str) -> Decimal:
    """to_decimal(cell.strip()), without its checks for other types (Decimal ignores surrounding whitespace)."""
    try:
        value = Decimal(cell)
    except InvalidOperation:
        raise ValueError(f"not a number: {cell.strip()!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite number: {cell.strip()!r}")
    return value


def _parse_row(row: list[str]) -> Candle:
    if len(row) != len(COLUMNS):
        raise ValueError(f"expected {len(COLUMNS)} columns ({','.join(COLUMNS)}), found {len(row)}")
    ts = parse_timestamp(row[0])
    open_, high, low, close, volume = (
        _number(row[1]),
        _number(row[2]),
        _number(row[3]),
        _number(row[4]),
        _number(row[5]),
    )
    if min(open_, high, low, close) <= 0:
        raise ValueError("prices must be positive")
    if volume < 0:
        raise ValueError("volume must not be negative")
    if high < max(open_, close, low) or low > min(open_, close):
        raise ValueError(f"invalid OHLC: high {high} and low {low} must bracket open {open_} and close {close}")
    return Candle(ts=ts, open=open_, high=high, low=low, close=close, volume=volume)


def read_candles(path: str | os.PathLike[str]) -> list[Candle]:
    """All candles of a file, oldest first; CandleFileError on any bad row or ordering.

    A file that reads and decodes in one go and holds nothing the csv module would treat specially (quotes,
    NUL, mixed line endings, very long lines) is split into lines and cells directly and its well-formed rows take
    a shortcut (_quick_candle); every other file and row goes through the csv reader and _parse_row, which say
    what is wrong. Both give the same candles and the same errors."""
    path = Path(path)
    lines = _plain_lines(path)
    candles = _read_lines(path.name, lines) if lines is not None else _read_csv(path)
    if not candles:
        raise CandleFileError(f"{path.name}: the file has a header but no candles")
    return candles


def _plain_lines(path: Path) -> list[str] | None:
    """The file's lines when it can be read and decoded whole and split on newlines exactly as the csv reader
    would; None otherwise (then _read_csv reads it, and reports any error where it meets it)."""
    try:
        if path.suffix == ".gz":
            with gzip.GzipFile(path, "rb") as handle:
                data = handle.read()
        else:
            data = path.read_bytes()
        text = data.decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError, zlib.error):
        return None
    if '"' in text or "\0" in text:
        return None
    crlf = text.count("\r\n")  # the csv reader ends a row at \n, \r\n or \r: one of the first two throughout
    if text.count("\r") != crlf or (crlf and text.count("\n") != crlf):
        return None
    lines = text.split("\r\n" if crlf else "\n")
    if max(map(len, lines)) > csv.field_size_limit():
        return None
    return lines


def _read_lines(name: str, lines: list[str]) -> list[Candle]:
    """read_candles over the lines of a plain file (_plain_lines): a line is a csv row split at its commas."""
    if tuple(cell.strip().lower() for cell in lines[0].split(",")) != COLUMNS:
        raise CandleFileError(f"{name}: line 1: the header must be {','.join(COLUMNS)}")
    candles: list[Candle] = []
    append = candles.append
    days: dict[str, int] = {}
    clocks: dict[str, int] = {}
    previous: Candle | None = None
    for number, line in enumerate(lines[1:], 2):
        if not line:
            continue
        row = line.split(",")
        candle = _quick_candle(row, days, clocks)
        if candle is None:
            try:
                candle = _parse_row(row)
            except ValueError as exc:
                raise CandleFileError(f"{name}: line {number}: {exc}") from None
        if previous is not None and candle.ts <= previous.ts:
            raise _unsorted(name, number, candle, previous)
        append(candle)
        previous = candle
    return candles


# the shipped timestamp form YYYY-MM-DDTHH:MM:SSZ, whose two halves are checked once per distinct value
_DAY = re.compile(r"\d{4}-\d\d-\d\d", re.ASCII)
_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d):([0-5]\d)", re.ASCII)


def _quick_candle(row: list[str], days: dict[str, int], clocks: dict[str, int]) -> Candle | None:
    """The candle of a row in the shipped form that _parse_row accepts, with the same values; None for any other
    row (_parse_row then reads it or says what is wrong). `days` and `clocks` hold the UTC milliseconds of each
    date and time of day met (midnight UTC of the day; since midnight)."""
    if len(row) != 6:
        return None
    stamp, open_text, high_text, low_text, close_text, volume_text = row
    if len(stamp) != 20 or stamp[10] != "T" or stamp[19] != "Z":
        return None
    day_ms = days.get(stamp[:10])
    if day_ms is None:
        day_ms = _day_ms(stamp[:10])
        if day_ms is None:
            return None
        days[stamp[:10]] = day_ms
    clock_ms = clocks.get(stamp[11:19])
    if clock_ms is None:
        clock = _CLOCK.fullmatch(stamp[11:19])
        if clock is None:
            return None
        hours, minutes, seconds = map(int, clock.groups())
        clock_ms = clocks[stamp[11:19]] = (hours * 3600 + minutes * 60 + seconds) * 1000
    try:
        open_, high, low, close = Decimal(open_text), Decimal(high_text), Decimal(low_text), Decimal(close_text)
        volume = Decimal(volume_text)
        # low > 0 and high finite bound open and close, so these are _parse_row's checks for such a row
        if not (
            high.is_finite() and volume.is_finite() and _ZERO < low <= open_ <= high and low <= close <= high
            and volume >= _ZERO
        ):  # fmt: skip
            return None
    except InvalidOperation:  # not a number, or a NaN compared
        return None
    return Candle(ts=day_ms + clock_ms, open=open_, high=high, low=low, close=close, volume=volume)


def _day_ms(day: str) -> int | None:
    """parse_timestamp of the day's midnight UTC; None when `day` is not YYYY-MM-DD or no such day exists."""
    if _DAY.fullmatch(day) is None:
        return None
    try:
        return parse_timestamp(f"{day}T00:00:00Z")
    except ValueError:
        return None


def _read_csv(path: Path) -> list[Candle]:
    """read_candles through the csv reader, for any file (its errors as it meets them)."""
    candles: list[Candle] = []
    try:
        with _open_text(path, "r") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or tuple(cell.strip().lower() for cell in header) != COLUMNS:
                raise CandleFileError(f"{path.name}: line 1: the header must be {','.join(COLUMNS)}")
            for row in reader:
                if not row:
                    continue
                try:
                    candle = _parse_row(row)
                except ValueError as exc:
                    raise CandleFileError(f"{path.name}: line {reader.line_num}: {exc}") from None
                if candles and candle.ts <= candles[-1].ts:
                    raise _unsorted(path.name, reader.line_num, candle, candles[-1])
                candles.append(candle)
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise CandleFileError(f"{path.name}: cannot read the file: {exc}") from exc
    return candles


def _unsorted(name: str, line: int, candle: Candle, previous: Candle) -> CandleFileError:
    return CandleFileError(
        f"{name}: line {line}: timestamp {format_timestamp(candle.ts)} is not after "
        f"the previous row's {format_timestamp(previous.ts)}; rows must be sorted oldest first"
    )


def write_candles(path: str | os.PathLike[str], candles: Iterable[Candle]) -> int:
    """Write candles in the file format (atomically: a crash never leaves half a file); returns the row count."""
    path = Path(path)
    tmp = path.with_name(path.name + ".partial" + (".gz" if path.suffix == ".gz" else ""))
    count = 0
    with _open_text(tmp, "w") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for candle in candles:
            writer.writerow(
                [format_timestamp(candle.ts)]
                + [format(value, "f") for value in (candle.open, candle.high, candle.low, candle.close, candle.volume)]
            )
            count += 1
    os.replace(tmp, path)
    return count


def infer_timeframe(candles: Sequence[Candle]) -> str:
    """The base timeframe of a series: the smallest gap between consecutive candles, as a timeframe name."""
    if len(candles) < 2:
        raise ValueError("need at least two candles to infer the timeframe")
    step = min(later.ts - earlier.ts for earlier, later in pairwise(candles))
    for name, ms in TIMEFRAME_MS.items():
        if ms == step:
            return name
    raise ValueError(f"candles are {step} ms apart, which is not a supported timeframe ({', '.join(TIMEFRAME_MS)})")
