"""Whole-gate properties over random inputs: an open breaker blocks every entry, approved sizes respect the
budget and the risk, and a restart (breaker states through JSON) never changes a later decision."""

import json
from datetime import timedelta
from decimal import Decimal

from hypothesis import event, given, settings
from hypothesis import strategies as st

from domain.decision import Action, Decision
from domain.market import MarketType
from domain.trading import PositionSide
from risk import (
    AccountState,
    Approved,
    BreakerStatus,
    DailyLossState,
    LossStreakState,
    MarketConditions,
    PairContext,
    RiskManager,
)
from tests.risk.factories import T0, limits, market

D = Decimal
PRICE = D("40000")

decisions = st.builds(
    Decision,
    action=st.sampled_from(list(Action)),
    confidence=st.decimals(min_value=D("0"), max_value=D("1"), places=2),
    stop_loss=st.one_of(st.none(), st.decimals(min_value=D("30000"), max_value=D("50000"), places=1)),
    take_profit=st.one_of(st.none(), st.decimals(min_value=D("30000"), max_value=D("50000"), places=1)),
)


@st.composite
def sane_entries(draw) -> Decision:
    """Entries that pass the decision rules, so the properties exercise sizing and the breakers."""
    action = draw(st.sampled_from([Action.BUY, Action.SELL]))
    stop_distance = PRICE * draw(st.decimals(min_value=D("0.002"), max_value=D("0.15"), places=4))
    reward = stop_distance * draw(st.decimals(min_value=D("1.6"), max_value=D("5"), places=2))
    sign = 1 if action is Action.BUY else -1
    return Decision(
        action,
        draw(st.decimals(min_value=D("0.6"), max_value=D("1"), places=2)),
        PRICE - sign * stop_distance,
        PRICE + sign * reward,
    )


any_decisions = st.one_of(decisions, sane_entries())
market_conditions = st.builds(
    MarketConditions,
    price=st.just(PRICE),
    atr_fraction=st.decimals(min_value=D("0"), max_value=D("0.2"), places=4),
    quote_volume=st.decimals(min_value=D("0"), max_value=D("1e9"), places=0),
    spread_fraction=st.one_of(st.none(), st.decimals(min_value=D("0"), max_value=D("0.01"), places=4)),
)
equities = st.decimals(min_value=D("100"), max_value=D("100000"), places=2)


@st.composite
def accounts(draw) -> AccountState:
    equity = draw(equities)
    return AccountState(
        equity=equity,
        peak_equity=equity + draw(st.decimals(min_value=D("0"), max_value=D("50000"), places=2)),
        day_start_equity=draw(equities),
        realized_pnl_today=draw(st.decimals(min_value=D("-5000"), max_value=D("5000"), places=2)),
        unrealized_pnl=draw(st.decimals(min_value=D("-5000"), max_value=D("5000"), places=2)),
        trades_today=draw(st.integers(0, 12)),
        open_positions=draw(st.integers(0, 6)),
    )


@st.composite
def pairs(draw) -> PairContext:
    side = draw(st.sampled_from(list(PositionSide)))
    amount = (
        D("0") if side is PositionSide.FLAT else draw(st.decimals(min_value=D("0.001"), max_value=D("1"), places=3))
    )
    return PairContext(
        budget=draw(st.decimals(min_value=D("0"), max_value=D("50000"), places=2)),
        leverage=draw(st.integers(1, 50)),
        position_side=side,
        position_amount=amount,
    )


@st.composite
def healthy_accounts(draw) -> AccountState:
    equity = draw(equities)
    return AccountState(equity=equity, peak_equity=equity, day_start_equity=equity)


@st.composite
def entries_with_pairs(draw) -> tuple[Decision, PairContext]:
    """A sane entry and a pair that is flat or already holds a small position on the same side."""
    decision = draw(sane_entries())
    held_side = PositionSide.LONG if decision.action is Action.BUY else PositionSide.SHORT
    side = draw(st.sampled_from([PositionSide.FLAT, held_side]))
    pair = PairContext(
        budget=draw(st.decimals(min_value=D("50"), max_value=D("50000"), places=2)),
        leverage=draw(st.integers(1, 50)),
        position_side=side,
        position_amount=D("0") if side is PositionSide.FLAT else draw(st.sampled_from([D("0.001"), D("0.01")])),
    )
    return decision, pair


markets = st.sampled_from([market(), market(type=MarketType.SPOT, max_leverage=1), market(min_notional=D("100"))])
risk_limits = st.sampled_from([limits(), limits(risk_per_trade="0.05", min_confidence="0", min_quote_volume="0")])


@st.composite
def open_breakers(draw) -> tuple[LossStreakState, DailyLossState, timedelta]:
    """At least one breaker open at T0 + elapsed, with the cooldown still running."""
    tripped = T0 - timedelta(minutes=draw(st.integers(0, 239)))
    reopens = tripped + timedelta(hours=4)
    pair_state = LossStreakState(BreakerStatus.OPEN, 3, tripped, reopens)
    daily_state = DailyLossState(BreakerStatus.OPEN, tripped.date(), D("0"), D("10000"), tripped, reopens)
    which = draw(st.sampled_from(["pair", "daily", "both"]))
    return (
        pair_state if which != "daily" else LossStreakState(),
        daily_state if which != "pair" else DailyLossState(),
        timedelta(minutes=draw(st.integers(0, int((reopens - T0).total_seconds() // 60) - 1))),
    )


GOOD_CONDITIONS = MarketConditions(PRICE, D("0.01"), D("1e9"), D("0.0001"))


@st.composite
def gate_inputs(draw) -> tuple[Decision, MarketConditions, AccountState, PairContext]:
    """Half anything at all, half inputs that would pass every rule if the breakers were running."""
    if draw(st.booleans()):
        return draw(any_decisions), draw(market_conditions), draw(accounts()), draw(pairs())
    decision, pair = draw(entries_with_pairs())
    return decision, GOOD_CONDITIONS, draw(healthy_accounts()), pair


@settings(max_examples=150, deadline=None)
@given(gate_inputs(), markets, risk_limits, open_breakers())
def test_check_when_a_breaker_is_open_then_no_entry_ever_passes(inputs, the_market, the_limits, breakers):
    decision, the_conditions, account, pair = inputs
    pair_breaker, daily_breaker, elapsed = breakers
    manager = RiskManager(the_limits)
    arguments = {"market": the_market, "conditions": the_conditions, "account": account, "pair": pair}
    result = manager.check(
        decision, **arguments, pair_breaker=pair_breaker, daily_breaker=daily_breaker, now=T0 + elapsed
    )
    running = manager.check(
        decision, **arguments, pair_breaker=LossStreakState(), daily_breaker=DailyLossState(), now=T0 + elapsed
    )
    if running.approved and not running.verdict.is_exit:
        event("an entry the open breaker had to stop")
    if isinstance(result.verdict, Approved):
        assert result.verdict.is_exit
        assert pair.position_side is not PositionSide.FLAT


@settings(max_examples=150, deadline=None)
@given(entries_with_pairs(), markets, healthy_accounts(), risk_limits)
def test_check_when_entry_approved_then_within_budget_leverage_and_risk(case, the_market, account, the_limits):
    decision, pair = case
    the_conditions = MarketConditions(PRICE, D("0.01"), D("1e9"))
    result = RiskManager(the_limits).check(
        decision,
        market=the_market,
        conditions=the_conditions,
        account=account,
        pair=pair,
        pair_breaker=LossStreakState(),
        daily_breaker=DailyLossState(),
        now=T0,
    )
    verdict = result.verdict
    if not isinstance(verdict, Approved) or verdict.is_exit:
        event(f"not an approved entry: {result.verdict.code}")
        return
    event("entry approved")
    leverage = min(pair.leverage, the_limits.max_leverage, the_market.max_leverage)
    held = pair.position_amount * PRICE
    assert verdict.notional + held <= pair.budget * (leverage if the_market.type is MarketType.PERPETUAL else 1)
    assert verdict.risk_amount <= account.equity * the_limits.risk_per_trade
    assert verdict.amount * abs(PRICE - verdict.stop_loss) <= account.equity * the_limits.risk_per_trade
    assert verdict.amount >= the_market.min_amount and verdict.notional >= the_market.min_notional


cycle_steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("check"), any_decisions, st.one_of(accounts(), healthy_accounts()), pairs(), st.integers(0, 600)
        ),
        st.tuples(st.just("trade"), st.integers(-100, 100), st.none(), st.none(), st.integers(0, 600)),
        st.tuples(st.just("resume"), st.none(), st.none(), st.none(), st.integers(0, 600)),
    ),
    max_size=25,
)


@settings(max_examples=100, deadline=None)
@given(steps=cycle_steps, restarts=st.sets(st.integers(0, 24)))
def test_check_when_states_reloaded_from_storage_then_every_later_decision_identical(steps, restarts):
    manager = RiskManager(limits(min_confidence="0", min_quote_volume="0"))
    the_market, the_conditions = market(), MarketConditions(PRICE, D("0.01"), D("1e9"), D("0.0001"))
    live = (LossStreakState(), DailyLossState())
    restored = live
    now = T0
    for index, (kind, first, account, pair, wait) in enumerate(steps):
        now += timedelta(minutes=wait)
        if index in restarts:
            restored = (
                LossStreakState.from_dict(json.loads(json.dumps(restored[0].to_dict()))),
                DailyLossState.from_dict(json.loads(json.dumps(restored[1].to_dict()))),
            )
        outcomes = []
        for pair_breaker, daily_breaker in (live, restored):
            if kind == "check":
                result = manager.check(
                    first,
                    market=the_market,
                    conditions=the_conditions,
                    account=account,
                    pair=pair,
                    pair_breaker=pair_breaker,
                    daily_breaker=daily_breaker,
                    now=now,
                )
                outcomes.append((result.verdict, (result.pair_breaker, result.daily_breaker), result.events))
            elif kind == "trade":
                step = manager.record_trade(pair_breaker, D(first), now)
                outcomes.append((None, (step.state, daily_breaker), step.events))
            else:
                pair_step = manager.streak_breaker.resume(pair_breaker, now)
                daily_step = manager.daily_breaker.resume(daily_breaker, now)
                outcomes.append((None, (pair_step.state, daily_step.state), pair_step.events + daily_step.events))
        assert outcomes[0] == outcomes[1]
        live, restored = outcomes[0][1], outcomes[1][1]
