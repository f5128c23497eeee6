"""The ensemble's VoteRecorder backed by ai_decisions: one row per provider per shared consultation."""

from __future__ import annotations

from db.database import Database
from db.repositories.decisions import ConsultationInfo, DecisionRepository, VoteRow
from domain.money import to_decimal
from domain.snapshot import SnapshotKey
from domain.vote import ConsensusResult, Vote


def vote_row(vote: Vote) -> VoteRow:
    decision = vote.decision
    return VoteRow(
        provider=vote.provider,
        model=vote.model,
        action=decision.action.value if decision else None,
        confidence=to_decimal(decision.confidence) if decision else None,
        stop_loss=decision.stop_loss if decision else None,
        take_profit=decision.take_profit if decision else None,
        reasoning=decision.reasoning if decision else None,
        raw_answer=vote.raw_answer or None,
        error=vote.abstain_reason,
        latency_ms=vote.latency_ms,
        prompt_tokens=vote.prompt_tokens,
        completion_tokens=vote.completion_tokens,
        prompt_version=vote.prompt_version or None,
    )


class DbVoteRecorder:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def record(self, snapshot_key: SnapshotKey, result: ConsensusResult, key: str) -> None:
        """key: domain.snapshot.consultation_key(snapshot_key, fingerprint), as the engine's decisions hold it."""
        info = ConsultationInfo(
            key=key,
            exchange=snapshot_key.exchange,
            symbol=snapshot_key.symbol,
            candle_ts=snapshot_key.candle_ts,
            position_side=snapshot_key.position_side.value,
        )
        async with self._database.transaction() as session:
            await DecisionRepository(session).record_consultation(info, [vote_row(v) for v in result.votes])
