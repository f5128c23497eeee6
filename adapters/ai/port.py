"""The ports of the AI ensemble: an analyst that votes, and where votes are recorded."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from domain.snapshot import MarketSnapshot, SnapshotKey
from domain.vote import ConsensusResult, Vote


@runtime_checkable
class AIProvider(Protocol):
    """One analyst. analyse never raises: a timeout, an error or a bad answer comes back as an abstention."""

    name: str
    model: str

    async def analyse(self, snapshot: MarketSnapshot) -> Vote: ...

    async def close(self) -> None: ...


@runtime_checkable
class VoteRecorder(Protocol):
    """Stores every vote of one ensemble call (table ai_decisions); called once per ensemble call."""

    async def record(self, snapshot_key: SnapshotKey, result: ConsensusResult, key: str) -> None:
        """key: the consultation's text key (domain.snapshot.consultation_key: the snapshot key and the ensemble's
        fingerprint), the one trade_decisions.consultation_key refers to."""
        ...
