"""Demo runs shared by the tests: the tour on spans of the shipped candles, each run once and kept with what it
printed, the report it returned and the rows it left in its database."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from config.settings import Settings
from db.database import Database
from db.models import AiDecision, AlertOutbox, FillRow, OrderRow, TradeDecision, TradeRow, User, UserPair, UserState
from quorum.demo import DemoOptions, DemoReport, run_demo
from quorum.demo_screen import Screen

# Losses on 11 and 15 Jan 2018: Ben's breaker (2 losses in a row) trips on 15 Jan 00:00 and he resumes it at once.
SHORT = DemoOptions(start=date(2018, 1, 10), days=6)
# Also the loss of 29 Jan 18:00: Ann's and Cid's breakers (3 in a row) trip; Ann resumes, Cid waits out his week.
TOUR = DemoOptions(start=date(2018, 1, 10), days=21)


def offline_settings(**overrides: object) -> Settings:
    return Settings(_env_file=None, **overrides)


@dataclass
class DemoRun:
    report: DemoReport
    lines: list[str]
    url: str  # with its async driver
    folder: Path  # the charts (and the SQLite file)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def without_paths(self) -> list[str]:
        """The lines with the run's folder (database, charts) written as <folder>."""
        return [line.replace(str(self.folder), "<folder>") for line in self.lines]


@dataclass
class UserRows:
    """Everything one demo person's run left in the database."""

    user: User
    state: UserState
    pair: UserPair
    trades: list[TradeRow]
    orders: list[OrderRow]
    fills: list[FillRow]
    decisions: list[TradeDecision]
    votes: list[AiDecision]
    alerts: list[AlertOutbox]

    @property
    def realized(self) -> Decimal:
        return sum((t.realized_pnl or Decimal(0) for t in self.trades if t.status == "closed"), Decimal(0))


def run(options: DemoOptions, folder: Path, url: str | None = None, settings: Settings | None = None) -> DemoRun:
    """The demo with its charts in `folder`, and its database there too unless `url` says where."""
    lines: list[str] = []
    url = url or f"sqlite:///{folder / 'demo.db'}"
    options = replace(options, database_url=url, charts=folder)
    report = asyncio.run(run_demo(options, settings or offline_settings(), Screen(lines.append)))
    return DemoRun(report, lines, offline_settings(database_url=url).database_url, folder)


async def _load(url: str) -> dict[str, UserRows]:
    database = Database(url)
    try:
        async with database.transaction() as session:

            async def rows(model, user_id: int, *order):  # type: ignore[no-untyped-def]
                query = select(model).where(model.user_id == user_id).order_by(*order)
                return list(await session.scalars(query))

            out = {}
            for user in await session.scalars(select(User).order_by(User.id)):
                keys = select(TradeDecision.consultation_key).where(TradeDecision.user_id == user.id)
                out[user.display_name or ""] = UserRows(
                    user=user,
                    state=(await rows(UserState, user.id, UserState.user_id))[0],
                    pair=(await rows(UserPair, user.id, UserPair.id))[0],
                    trades=await rows(TradeRow, user.id, TradeRow.id),
                    orders=await rows(OrderRow, user.id, OrderRow.id),
                    fills=await rows(FillRow, user.id, FillRow.id),
                    decisions=await rows(TradeDecision, user.id, TradeDecision.id),
                    votes=list(await session.scalars(select(AiDecision).where(AiDecision.consultation_key.in_(keys)))),
                    alerts=await rows(AlertOutbox, user.id, AlertOutbox.id),
                )
            return out
    finally:
        await database.dispose()


def load_rows(source: DemoRun | str) -> dict[str, UserRows]:
    """Each person's rows, by name, in a run's database (or the one at a URL)."""
    url = source.url if isinstance(source, DemoRun) else offline_settings(database_url=source).database_url
    return asyncio.run(_load(url))


@pytest.fixture(scope="session")
def tour_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    return run(TOUR, tmp_path_factory.mktemp("tour"))


@pytest.fixture(scope="session")
def tour_rows(tour_run: DemoRun) -> dict[str, UserRows]:
    return load_rows(tour_run)


def chart_paths(lines: list[str]) -> list[Path]:
    return [Path(line.split("equity chart:", 1)[1].strip()) for line in lines if "equity chart:" in line]
