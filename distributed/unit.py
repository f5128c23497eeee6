"""One job, one transaction: a Database whose transactions inside `unit()` all join one PostgreSQL transaction.

The engine writes through many small transactions (claim the candle, record the order, book the fill, save the
state, queue the alert...). In one process that is right: a crash between them is repaired at restart by the
engine's reconciliation. In a worker, a job killed half-way would leave its candle claimed and its decision
unrecorded, and the retried job would skip the candle. Inside a unit, every one of those writes is part of the
job's single transaction: the job commits all of it or, killed, nothing, and its retry processes the candle as
if for the first time.

A paper account's ledger lives in the same database, so its whole cycle is atomic. A live account's orders leave
for the exchange: the unit is not used for them (see WorkerNode), and the engine's write-ahead order rows and
reconciliation by client order id stay the defence, as in one process.

Each inner transaction ends by flushing and detaching what it loaded, as a committed session of its own would,
so the engine sees the same objects either way. An inner failure fails the whole unit: it is rolled back and the
job fails (and is retried), never half applied.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from db.database import Database


class UnitFailed(RuntimeError):
    """A write inside the unit failed: the unit is rolled back as a whole."""


@dataclass(slots=True)
class _Unit:
    session: AsyncSession
    failure: BaseException | None = None


_UNIT: ContextVar[_Unit | None] = ContextVar("quorum_unit", default=None)


class UnitDatabase(Database):
    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        unit = _UNIT.get()
        if unit is None:
            async with super().transaction() as session:
                yield session
            return
        if unit.failure is not None:
            raise UnitFailed("an earlier write of this job failed") from unit.failure
        try:
            yield unit.session
            await unit.session.flush()
        except BaseException as exc:
            unit.failure = exc
            raise
        finally:
            unit.session.expunge_all()

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[None]:
        """Every transaction of this task (and of the tasks it starts) inside is one: all or nothing."""
        if _UNIT.get() is not None:
            raise RuntimeError("units do not nest")
        async with super().transaction() as session:
            unit = _Unit(session)
            token = _UNIT.set(unit)
            try:
                yield
                if unit.failure is not None:
                    raise UnitFailed(f"a write of this job failed: {unit.failure!r}") from unit.failure
            finally:
                _UNIT.reset(token)
