"""Download historical candles page by page into a candle file, resuming where an earlier run stopped.

The file format is the one of the shipped history (see candle_file.py): header
`timestamp,open,high,low,close,volume`, ISO-8601 UTC open times, oldest first, gzip when the name ends in .gz.
Each page is appended and flushed before the next request, so an interrupted download keeps every whole page
and the next run continues after the file's last timestamp. Only closed candles are written.
Rate limits are the source's business: CcxtExchange retries HTTP 429 with backoff (honouring Retry-After)
and ccxt's own throttle spaces the requests.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from adapters.exchange.candle_file import COLUMNS, format_timestamp, parse_timestamp
from adapters.exchange.port import MarketData
from domain.market import Candle, timeframe_ms
from domain.money import datetime_to_ms, utc_now

DEFAULT_PAGE_LIMIT = 1000


class CandleDownloadError(ValueError):
    """The output file cannot be resumed as it is; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class DownloadResult:
    path: Path
    written: int  # candles appended by this run
    resumed_after: int | None  # UTC ms of the file's last candle before this run, None for a fresh file
    last_ts: int | None  # UTC ms of the file's last candle after this run


def _open(path: Path, mode: str) -> IO[str]:
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.GzipFile(path, mode + "b"), encoding="utf-8", newline="")
    return open(path, mode, encoding="utf-8", newline="")


def last_timestamp(path: Path) -> int | None:
    """Open time (UTC ms) of the file's last candle; None when the file is missing or has only a header."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        with _open(path, "r") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or tuple(cell.strip().lower() for cell in header) != COLUMNS:
                raise CandleDownloadError(
                    f"{path.name}: line 1 must be the header {','.join(COLUMNS)}; refusing to append to another file"
                )
            last_row: list[str] | None = None
            for row in reader:
                if row:
                    last_row = row
            line = reader.line_num
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise CandleDownloadError(f"{path.name}: cannot read the existing file to resume it: {exc}") from None
    if last_row is None:
        return None
    if len(last_row) != len(COLUMNS):
        raise CandleDownloadError(
            f"{path.name}: line {line} is incomplete ({len(last_row)} of {len(COLUMNS)} columns); "
            "delete that line and run the download again to resume"
        )
    try:
        return parse_timestamp(last_row[0])
    except ValueError as exc:
        raise CandleDownloadError(f"{path.name}: line {line}: {exc}") from None


def _append(path: Path, candles: list[Candle], with_header: bool) -> None:
    with _open(path, "a") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        if with_header:
            writer.writerow(COLUMNS)
        for candle in candles:
            writer.writerow(
                [format_timestamp(candle.ts)]
                + [
                    format(value.normalize(), "f")
                    for value in (candle.open, candle.high, candle.low, candle.close, candle.volume)
                ]
            )


async def download_candles(
    source: MarketData,
    symbol: str,
    timeframe: str,
    out: Path,
    *,
    since_ms: int,
    until_ms: int | None = None,
    page_limit: int = DEFAULT_PAGE_LIMIT,
    now_ms: Callable[[], int] = lambda: datetime_to_ms(utc_now()),
    on_page: Callable[[int, int], None] | None = None,
) -> DownloadResult:
    """Append candles with open time in [since_ms, until_ms) to `out`, continuing after its last candle.

    on_page(count, last_ts) is called after each page is safely on disk.
    """
    step = timeframe_ms(timeframe)
    if until_ms is not None and until_ms <= since_ms:
        raise ValueError("the end date must be after the start date")
    resumed_after = last_timestamp(out)
    needs_header = not out.exists() or out.stat().st_size == 0
    cursor = max(since_ms, resumed_after + step) if resumed_after is not None else since_ms
    newest_closed = now_ms() - step  # a candle opening later than this is still forming
    last_allowed = newest_closed if until_ms is None else min(newest_closed, until_ms - 1)
    written = 0
    last_ts = resumed_after
    if needs_header:
        out.parent.mkdir(parents=True, exist_ok=True)
        _append(out, [], with_header=True)
    while cursor <= last_allowed:
        page = await source.fetch_ohlcv(symbol, timeframe, since=cursor, limit=page_limit)
        fresh = [candle for candle in page if cursor <= candle.ts <= last_allowed]
        if not fresh:
            break
        _append(out, fresh, with_header=False)
        written += len(fresh)
        last_ts = fresh[-1].ts
        cursor = last_ts + step
        if on_page is not None:
            on_page(len(fresh), last_ts)
    return DownloadResult(path=out, written=written, resumed_after=resumed_after, last_ts=last_ts)
