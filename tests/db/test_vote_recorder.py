"""The shared ensemble's votes land in ai_decisions once per consultation, on both databases."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy import func, select

from adapters.ai.factory import build_shared_ensemble
from config.settings import Settings
from db.database import Database
from db.models import AiDecision
from db.repositories import DecisionRepository, UserRepository
from db.vote_recorder import DbVoteRecorder
from domain.snapshot import consultation_key
from domain.trading import PositionSide
from tests.ai.market_data import history_snapshot


async def test_shared_ensemble_when_many_users_ask_then_each_vote_stored_once(
    database: Database, telegram_id: Callable[[], int]
) -> None:
    settings = Settings(
        _env_file=None,
        openai_api_key=None,
        anthropic_api_key=None,
        deepseek_api_key=None,
        openai_compatible_base_url=None,
    )
    shared = build_shared_ensemble(settings, recorder=DbVoteRecorder(database))
    symbol = f"T{telegram_id()}/USDT"  # a symbol of this test's own, so the shared database holds no other votes
    snapshot = history_snapshot(5_000, symbol=symbol)
    try:
        results = await asyncio.gather(*(shared.decide(snapshot) for _ in range(25)))
        long_snapshot = history_snapshot(
            5_000, symbol=symbol, position_side=PositionSide.LONG, entry_price=snapshot.price
        )
        await shared.decide(long_snapshot)
    finally:
        await shared.close()

    assert shared.calls == 2
    key = consultation_key(snapshot.key, shared.ensemble.fingerprint)  # what the engine's decisions refer to
    assert len({id(result) for result in results}) == 1
    providers = sorted(vote.provider for vote in results[0].votes)
    async with database.transaction() as session:
        rows = list(await session.scalars(select(AiDecision).where(AiDecision.symbol == symbol)))
        assert len(rows) == 2 * len(providers)
        flat = sorted(r.provider for r in rows if r.consultation_key == key)
        assert flat == providers
        user, _ = await UserRepository(session).register(telegram_id())
        decision = await DecisionRepository(session).add_decision(
            user.id, symbol, key, results[0].decision.action.value, "hold"
        )
        votes = await DecisionRepository(session).votes(user.id, decision.id)
        assert [v.provider for v in votes] == providers
        assert all(v.latency_ms is not None and v.prompt_version for v in votes)
        count = await session.scalar(
            select(func.count()).select_from(AiDecision).where(AiDecision.consultation_key == key)
        )
        assert count == len(providers)


async def test_record_consultation_when_an_llm_vote_carries_the_prompt_version_then_it_is_stored(
    database: Database, telegram_id: Callable[[], int]
) -> None:
    """The LLM providers stamp PROMPT_VERSION on their votes; the column holds it on both databases (it was
    two characters too narrow for PostgreSQL before migration 0006)."""
    from adapters.ai.prompt import PROMPT_VERSION
    from db.repositories.decisions import ConsultationInfo, VoteRow

    symbol = f"T{telegram_id()}/USDT"
    key = f"llm:{symbol}"
    vote = VoteRow("openai", "gpt-4o-mini", "buy", latency_ms=120, prompt_version=PROMPT_VERSION)
    async with database.transaction() as session:
        await DecisionRepository(session).record_consultation(ConsultationInfo(key, "binance", symbol), [vote])
    async with database.transaction() as session:
        stored = await session.scalar(select(AiDecision.prompt_version).where(AiDecision.consultation_key == key))
    assert stored == PROMPT_VERSION and len(PROMPT_VERSION) > 16
