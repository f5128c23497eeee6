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
    """All candles of a file, oldest first; CandleFileError on any bad row or ordering."""
    path = Path(path)
    candles = _read_plain(path)
    return candles if candles is not None else _read_checked(path)


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME = re.compile(r"[0-9]{2}:[0-9]{2}:[0-9]{2}")


def _read_plain(path: Path) -> list[Candle] | None:
    """The candles of a file that holds nothing unusual, else None (then _read_checked reads it and names what
    is wrong, so errors are unchanged).

    Plain means: no quote or NUL character and no carriage return outside a CRLF, so that csv.reader's rows are
    the lines split at commas; every row passes _parse_row's checks and follows the previous one. The candles are
    then those _read_checked builds. A timestamp in format_timestamp's form (YYYY-MM-DDTHH:MM:SSZ, ASCII digits;
    other forms go through parse_timestamp) is its date's midnight, from parse_timestamp (which checks the date),
    plus the time of day in whole seconds: exactly what datetime.timestamp() * 1000 gives for it (integral
    seconds, far below 2**53 ms), each date and time of day worked out once. The checks below hold exactly when
    _parse_row's pass: low > 0 and the bracket make every price positive, and a finite high bounds them."""
    try:
        with _open_text(path, "r") as handle:
            text = handle.read()
    except Exception:  # noqa: BLE001 - _read_checked reports it
        return None
    if '"' in text or "\0" in text:
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            return None
    lines = text.split("\n")
    if tuple(cell.strip().lower() for cell in lines[0].split(",")) != COLUMNS:
        return None
    midnights: dict[str, int] = {}  # date -> ms of its midnight
    times: dict[str, int] = {}  # time of day -> ms since midnight
    candles: list[Candle] = []
    append = candles.append
    previous = None
    try:
        for index in range(1, len(lines)):
            line = lines[index]
            if not line:
                continue
            stamp, open_text, high_text, low_text, close_text, volume_text = line.split(",")
            if len(stamp) == 20 and stamp[10] == "T" and stamp[19] == "Z":
                date, time = stamp[:10], stamp[11:19]
                midnight, since_midnight = midnights.get(date), times.get(time)
                if midnight is None:
                    if _DATE.fullmatch(date) is None:
                        return None
                    midnight = midnights[date] = parse_timestamp(date + "T00:00:00Z")
                if since_midnight is None:
                    since_midnight = times[time] = _time_of_day(time)
                ts = midnight + since_midnight
            else:
                ts = parse_timestamp(stamp)
            open_, high, low = Decimal(open_text), Decimal(high_text), Decimal(low_text)
            close, volume = Decimal(close_text), Decimal(volume_text)
            if not (
                low > 0
                and volume >= 0
                and high >= open_
                and high >= close
                and high >= low
                and low <= open_
                and low <= close
                and high.is_finite()
                and volume.is_finite()
            ):
                return None
            if previous is not None and ts <= previous:
                return None
            previous = ts
            append(Candle(ts, open_, high, low, close, volume))  # positional: cheaper than keywords
    except Exception:  # noqa: BLE001 - _read_checked reports it
        return None
    return candles or None


def _time_of_day(text: str) -> int:
    """Milliseconds since midnight of HH:MM:SS (ASCII digits, a valid time); ValueError otherwise."""
    if _TIME.fullmatch(text) is None:
        raise ValueError(text)
    hour, minute, second = int(text[:2]), int(text[3:5]), int(text[6:8])
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(text)
    return hour * 3_600_000 + minute * 60_000 + second * 1000


def _read_checked(path: Path) -> list[Candle]:
    """read_candles row by row through csv.reader, naming the file and line of anything wrong."""
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
                    raise CandleFileError(
                        f"{path.name}: line {reader.line_num}: timestamp {format_timestamp(candle.ts)} is not after "
                        f"the previous row's {format_timestamp(candles[-1].ts)}; rows must be sorted oldest first"
                    )
                candles.append(candle)
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise CandleFileError(f"{path.name}: cannot read the file: {exc}") from exc
    if not candles:
        raise CandleFileError(f"{path.name}: the file has a header but no candles")
    return candles


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
