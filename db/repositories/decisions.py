from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AiDecision, TradeDecision


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


class DecisionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_decision(self, user_id: int, symbol: str, consultation_key: str, action: str, outcome: str,
                           pair_id: int | None = None, confidence: Decimal | None = None,
                           stop_loss: Decimal | None = None, take_profit: Decimal | None = None,
                           consensus_reason: str | None = None, reason_code: str | None = None,
                           reason_message: str | None = None, order_id: int | None = None,
                           votes: Sequence[VoteRow] = ()) -> TradeDecision:
        """Store one cycle's decision for one user, the risk verdict with it, and every provider's vote."""
        decision = TradeDecision(
            user_id=user_id, pair_id=pair_id, symbol=symbol, consultation_key=consultation_key, action=action,
            outcome=outcome, confidence=confidence, stop_loss=stop_loss, take_profit=take_profit,
            consensus_reason=consensus_reason, reason_code=reason_code, reason_message=reason_message,
            order_id=order_id,
        )
        self.session.add(decision)
        await self.session.flush()
        for vote in votes:
            self.session.add(AiDecision(
                user_id=user_id, decision_id=decision.id, consultation_key=consultation_key, symbol=symbol,
                provider=vote.provider, model=vote.model, prompt_version=vote.prompt_version, action=vote.action,
                confidence=vote.confidence, stop_loss=vote.stop_loss, take_profit=vote.take_profit,
                reasoning=vote.reasoning, raw_answer=vote.raw_answer, error=vote.error, latency_ms=vote.latency_ms,
                prompt_tokens=vote.prompt_tokens, completion_tokens=vote.completion_tokens,
            ))
        await self.session.flush()
        return decision

    async def recent_decisions(self, user_id: int, symbol: str | None = None, limit: int = 20) -> list[TradeDecision]:
        query = select(TradeDecision).where(TradeDecision.user_id == user_id)
        if symbol is not None:
            query = query.where(TradeDecision.symbol == symbol)
        return list(await self.session.scalars(query.order_by(TradeDecision.id.desc()).limit(limit)))

    async def votes(self, user_id: int, decision_id: int) -> list[AiDecision]:
        return list(await self.session.scalars(
            select(AiDecision).where(AiDecision.user_id == user_id, AiDecision.decision_id == decision_id)
            .order_by(AiDecision.provider)
        ))

    async def recent_votes(self, user_id: int, symbol: str, limit: int = 20) -> list[AiDecision]:
        return list(await self.session.scalars(
            select(AiDecision).where(AiDecision.user_id == user_id, AiDecision.symbol == symbol)
            .order_by(AiDecision.id.desc()).limit(limit)
        ))

    async def provider_stats(self, user_id: int) -> list[dict[str, object]]:
        result = await self.session.execute(
            text("SELECT * FROM ai_provider_stats_by_user WHERE user_id = :uid ORDER BY provider"), {"uid": user_id}
        )
        return [dict(row) for row in result.mappings()]
