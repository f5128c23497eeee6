"""An in-memory VoteRecorder: for tests, the demo and anywhere votes need not outlive the process."""

from __future__ import annotations

import asyncio

from domain.snapshot import SnapshotKey
from domain.vote import ConsensusResult


class InMemoryVoteRecorder:
    """Keeps every recorded ensemble call in order; bounded so a long demo does not grow without limit."""

    def __init__(self, max_records: int = 10_000) -> None:
        self.records: list[tuple[SnapshotKey, ConsensusResult]] = []
        self._max_records = max_records
        self._lock = asyncio.Lock()

    async def record(self, snapshot_key: SnapshotKey, result: ConsensusResult, key: str = "") -> None:
        async with self._lock:
            self.records.append((snapshot_key, result))
            del self.records[: max(len(self.records) - self._max_records, 0)]
