"""`quorum run --role gateway|worker`: the single-process run split across machines (distributed/).

- gateway: the Telegram Application (or the terminal chat), the service, the alert outbox sender, and the
  scheduler that defers one job per pair and tick (plus the sweeper for the jobs of dead workers). It runs no
  engine: `quorum run`'s assembly with the scheduler in place of the engines.
- worker: engines only, as procrastinate jobs; their alerts go to the database outbox, which the gateway drains.

Both need PostgreSQL; on SQLite they refuse with a message saying so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.outbox import OutboxNotifier
from config.settings import Settings
from db.encryption import SecretBox

if TYPE_CHECKING:
    from bot.run import Quorum, RunOptions

ROLES = ("all", "gateway", "worker")


def check_role(settings: Settings, options: RunOptions) -> None:
    """Raises distributed.app.NeedsPostgres (or ValueError for an unknown role) before anything starts."""
    from distributed.app import require_postgres

    if options.role not in ROLES:
        raise ValueError(f"unknown role {options.role!r}: use one of {', '.join(ROLES)}")
    require_postgres(settings.database_url)


async def start_scheduler(quorum: Quorum) -> None:
    """The gateway's scheduler on its runtime's clock and ticks (on replayed candles: the same as the workers')."""
    from distributed.control import JobControl
    from distributed.roles import start_scheduling

    scheduling = await start_scheduling(quorum.database, quorum.runtime)
    quorum.closers.append(scheduling.close)
    # /close, /stop and a breaker's /resume: jobs a worker runs under the user's lock, awaited here
    quorum.service.context.control = JobControl(scheduling.app, quorum.database, quorum.runtime.clock)


async def run_worker(settings: Settings, options: RunOptions, box: SecretBox | None) -> None:
    from distributed.roles import NodeOptions, build_worker

    node_options = NodeOptions(replay=options.replay, symbol=options.symbol, concurrency=options.concurrency)
    worker = await build_worker(settings, node_options, OutboxNotifier, box)
    try:
        await worker.run(node_options)
    finally:
        await worker.close()
