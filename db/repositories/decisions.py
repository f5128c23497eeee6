from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AiDecision, TradeDecision
from db.repositories.ownership import require_order, require_pair


@dataclass(frozen=True, slots=True)
class VoteRow:
    """One provider's answer as stored: action None means the provider abstained (error says why)."""

    provider: str
    model: str | None
    action: str | None
    confidence: Decimal | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    reasoning: str | None = None
    raw_answer: str | None = None
    error: str | None = None
    latency_ms: int | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    prompt_version: str | None = None


@dataclass(frozen=True, slots=True)
class ConsultationInfo:
    """What the shared ensemble call was about: the key every user's decision refers to."""

    key: str
    exchange: str
    symbol: str
    candle_ts: int | None = None
    position_side: str | None = None


class DecisionRepository:
    """Shared consultations (ai_decisions, stored once however many users consume them) and per-user
    decisions (trade_decisions). A user reaches votes only through a decision of their own."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record_consultation(self, info: ConsultationInfo, votes: Sequence[VoteRow]) -> int:
        """Store every vote of one ensemble call; a vote already stored for (key, provider) is kept as is.
        Returns how many rows were new."""
        stored = set(
            await self.session.scalars(select(AiDecision.provider).where(AiDecision.consultation_key == info.key))
        )
        new = 0
        for vote in votes:
            if vote.provider in stored:
                continue
            try:
                async with self.session.begin_nested():
                    self.session.add(
                        AiDecision(
                            consultation_key=info.key,
                            exchange=info.exchange,
                            symbol=info.symbol,
                            candle_ts=info.candle_ts,
                            position_side=info.position_side,
                            provider=vote.provider,
                            model=vote.model,
                            prompt_version=vote.prompt_version,
                            action=vote.action,
                            confidence=vote.confidence,
                            stop_loss=vote.stop_loss,
                            take_profit=vote.take_profit,
                            reasoning=vote.reasoning,
                            raw_answer=vote.raw_answer,
                            error=vote.error,
                            latency_ms=vote.latency_ms,
                            prompt_tokens=vote.prompt_tokens,
                            completion_tokens=vote.completion_tokens,
                        )
                    )
            except IntegrityError:  # a concurrent recorder stored it first
                continue
            stored.add(vote.provider)
            new += 1
        return new

    async def add_decision(
        self,
        user_id: int,
        symbol: str,
        consultation_key: str,
        action: str,
        outcome: str,
        pair_id: int | None = None,
        confidence: Decimal | None = None,
        stop_loss: Decimal | None = None,
        take_profit: Decimal | None = None,
        consensus_reason: str | None = None,
        reason_code: str | None = None,
        reason_message: str | None = None,
        order_id: int | None = None,
    ) -> TradeDecision:
        """Store one cycle's decision for one user, with the risk verdict (code and sentence) beside it."""
        await require_pair(self.session, user_id, pair_id)
        await require_order(self.session, user_id, order_id)
        decision = TradeDecision(
            user_id=user_id,
            pair_id=pair_id,
            symbol=symbol,
            consultation_key=consultation_key,
            action=action,
            outcome=outcome,
            confidence=confidence,
            stop_loss=stop_loss,
            take_profit=take_profit,
            consensus_reason=consensus_reason,
            reason_code=reason_code,
            reason_message=reason_message,
            order_id=order_id,
        )
        self.session.add(decision)
        await self.session.flush()
        return decision

    async def recent_decisions(self, user_id: int, symbol: str | None = None, limit: int = 20) -> list[TradeDecision]:
        query = select(TradeDecision).where(TradeDecision.user_id == user_id)
        if symbol is not None:
            query = query.where(TradeDecision.symbol == symbol)
        return list(await self.session.scalars(query.order_by(TradeDecision.id.desc()).limit(limit)))

    async def votes(self, user_id: int, decision_id: int) -> list[AiDecision]:
        return list(
            await self.session.scalars(
                select(AiDecision)
                .join(TradeDecision, TradeDecision.consultation_key == AiDecision.consultation_key)
                .where(TradeDecision.user_id == user_id, TradeDecision.id == decision_id)
                .order_by(AiDecision.provider)
            )
        )

    async def recent_votes(self, user_id: int, symbol: str, limit: int = 20) -> list[AiDecision]:
        """The newest votes on `symbol` from consultations this user's decisions used."""
        keys = (
            select(TradeDecision.consultation_key)
            .where(TradeDecision.user_id == user_id, TradeDecision.symbol == symbol)
            .distinct()
        )
        return list(
            await self.session.scalars(
                select(AiDecision)
                .where(AiDecision.consultation_key.in_(keys))
                .order_by(AiDecision.id.desc())
                .limit(limit)
            )
        )

    async def provider_stats(self, user_id: int) -> list[dict[str, object]]:
        result = await self.session.execute(
            text("SELECT * FROM ai_provider_stats_by_user WHERE user_id = :uid ORDER BY provider"), {"uid": user_id}
        )
        return [dict(row) for row in result.mappings()]
