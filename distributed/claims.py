"""One ensemble consultation per consultation key across every worker: a claim in the database.

The first worker to ask for a key inserts its claim and asks the analysts; the others wait for the votes it
stores and combine them exactly as it did (the same votes in the same order give the same consensus). A waiter
whose claimant's procrastinate worker stopped beating (killed) takes the claim over and asks itself, so a dead
worker never leaves a key unanswered; a live claimant that takes longer than the ensemble's own deadline is not
asked again: the waiter abstains for that candle (HOLD), never pays twice.

An ensemble of synchronous analysts (the offline ones: deterministic computation, cheaper than a round trip)
is not claimed: each worker computes it and the votes are stored once (ai_decisions keeps one row per provider).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

from loguru import logger
from sqlalchemy import text

from adapters.ai.answer_cache import vote_from_dict, vote_to_dict
from adapters.ai.ensemble import Ensemble
from adapters.ai.port import VoteRecorder
from adapters.ai.votes import abstention
from db.database import Database
from domain.snapshot import MarketSnapshot, consultation_key
from domain.vote import ConsensusResult, Vote

CLAIMS_SCHEMA = """
CREATE TABLE IF NOT EXISTS quorum_consultation_claims (
    consultation_key text PRIMARY KEY,
    owner_worker bigint,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    votes jsonb,
    answered_at timestamptz
)
"""
CLAIM_TIMEOUT = "timeout: the consultation is another worker's and it did not answer in time"


@dataclass(frozen=True, slots=True)
class Claim:
    owned: bool  # this worker asks the analysts
    votes: tuple[Vote, ...] | None = None  # the stored answer of another worker


class ConsultationClaims:
    """The claims table. worker_id: the procrastinate worker of this process (set by the job that asks)."""

    def __init__(
        self, database: Database, *, stalled_after_s: float = 10.0, poll_s: float = 0.025, clock=time.monotonic
    ) -> None:
        self.database = database
        self.stalled_after_s, self.poll_s, self._clock = stalled_after_s, poll_s, clock
        self.worker_id: int | None = None
        self.claimed = self.waited = self.taken_over = self.timed_out = 0

    async def claim(self, key: str, timeout_s: float) -> Claim:
        """Own the key, or the votes another worker stored for it, or neither once timeout_s has passed."""
        async with self.database.transaction() as session:
            won = await session.scalar(
                text(
                    "INSERT INTO quorum_consultation_claims (consultation_key, owner_worker) VALUES (:key, :owner) "
                    "ON CONFLICT (consultation_key) DO NOTHING RETURNING consultation_key"
                ),
                {"key": key, "owner": self.worker_id},
            )
        if won is not None:
            self.claimed += 1
            return Claim(owned=True)
        self.waited += 1
        deadline = self._clock() + timeout_s
        while True:
            async with self.database.transaction() as session:
                row = (
                    await session.execute(
                        text(
                            "SELECT c.votes, c.owner_worker, (w.id IS NULL OR w.last_heartbeat < now() - "
                            "make_interval(secs => :stalled)) AS dead FROM quorum_consultation_claims c "
                            "LEFT JOIN procrastinate_workers w ON w.id = c.owner_worker WHERE c.consultation_key = :key"
                        ),
                        {"key": key, "stalled": self.stalled_after_s},
                    )
                ).one_or_none()
                if row is None or (row.votes is None and row.dead):
                    if await self._take_over(session, key, None if row is None else row.owner_worker):
                        self.taken_over += 1
                        return Claim(owned=True)
                elif row.votes is not None:
                    stored = json.loads(row.votes) if isinstance(row.votes, str) else row.votes
                    return Claim(owned=False, votes=tuple(vote_from_dict(v) for v in stored))
            if self._clock() >= deadline:
                self.timed_out += 1
                return Claim(owned=False)
            await asyncio.sleep(self.poll_s)

    async def _take_over(self, session, key: str, previous: int | None) -> bool:
        """The claimant is gone (its worker stopped beating) or it gave the claim up: claim it for this worker."""
        taken = await session.scalar(
            text(
                "INSERT INTO quorum_consultation_claims (consultation_key, owner_worker) VALUES (:key, :owner) "
                "ON CONFLICT (consultation_key) DO UPDATE SET owner_worker = :owner, claimed_at = now() "
                "WHERE quorum_consultation_claims.votes IS NULL "
                "AND quorum_consultation_claims.owner_worker IS NOT DISTINCT FROM :previous "
                "RETURNING consultation_key"
            ),
            {"key": key, "owner": self.worker_id, "previous": previous},
        )
        return taken is not None

    async def answer(self, key: str, votes: tuple[Vote, ...]) -> None:
        async with self.database.transaction() as session:
            await session.execute(
                text(
                    "UPDATE quorum_consultation_claims SET votes = CAST(:votes AS jsonb), answered_at = now() "
                    "WHERE consultation_key = :key"
                ),
                {"key": key, "votes": json.dumps([vote_to_dict(v) for v in votes])},
            )

    async def give_up(self, key: str) -> None:
        """The claimant could not ask (cancelled, or a bug): the key is free for the next asker."""
        async with self.database.transaction() as session:
            await session.execute(
                text("DELETE FROM quorum_consultation_claims WHERE consultation_key = :key AND votes IS NULL"),
                {"key": key},
            )


class ClaimedEnsemble(Ensemble):
    """The ensemble behind the cross-worker claim; SharedEnsemble still dedupes the askers of one process."""

    def __init__(self, inner: Ensemble, claims: ConsultationClaims, recorder: VoteRecorder | None = None) -> None:
        super().__init__(inner.providers, inner.config)
        self.inner, self.claims, self._recorder = inner, claims, recorder
        self.synchronous = False  # always through decide(): the claim and the recording happen there
        self.wait_s = inner.config.overall_deadline_s + 5.0  # the claimant's own deadline, and a margin

    async def decide(self, snapshot: MarketSnapshot) -> ConsensusResult:
        key = consultation_key(snapshot.key, self.fingerprint)
        if self.inner.synchronous:
            result = self.inner.decide_now(snapshot)
            await self._record(snapshot, result, key)
            return result
        claim = await self.claims.claim(key, self.wait_s)
        if claim.votes is not None:
            return self._combine(list(claim.votes), snapshot)
        if not claim.owned:
            logger.bind(symbol=snapshot.symbol, candle=snapshot.candle_ts).warning("ensemble: {}", CLAIM_TIMEOUT)
            return self._combine([abstention(p.name, p.model, CLAIM_TIMEOUT) for p in self.providers], snapshot)
        try:
            result = await self.inner.decide(snapshot)
        except BaseException:
            await asyncio.shield(self.claims.give_up(key))
            raise
        await self.claims.answer(key, result.votes)
        await self._record(snapshot, result, key)
        return result

    async def _record(self, snapshot: MarketSnapshot, result: ConsensusResult, key: str) -> None:
        if self._recorder is None:
            return
        try:
            await self._recorder.record(snapshot.key, result, key)
        except Exception:  # noqa: BLE001 - a failing recorder never withholds a decision
            logger.bind(symbol=snapshot.symbol).exception("could not record the ensemble's votes")
