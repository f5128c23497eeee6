"""A balance is computed once per ledger revision: it must never lag a change of the totals or reservations."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.exchange.errors import InsufficientFunds
from adapters.exchange.paper import Ledger, PaperConfig, PaperExchange
from domain.trading import Balance, OrderRequest, OrderSide, OrderStatus, OrderType

from .scripted_feed import HOUR, ScriptedFeed, ladder, perp_market, spot_market

D = Decimal
PERP = "BTC/USDT:USDT"
SPOT = "ETH/USDT"


def fresh(ledger: Ledger, ts: int) -> Balance:
    """The balance of a ledger rebuilt from its state: nothing cached."""
    return Ledger.from_state(ledger.to_state()).balance(ts)


def test_ledger_balance_when_any_change_then_the_next_balance_shows_it() -> None:
    ledger = Ledger({"USDT": D(1000)})
    seen = [ledger.balance(0)]
    steps = [
        lambda: ledger.credit("BTC", D("0.5")),
        lambda: ledger.debit("USDT", D(10), "a fee"),
        lambda: ledger.reserve("order:1", "USDT", D(100), "an order"),
        lambda: ledger.release("order:1", D(40)),
        lambda: ledger.release("order:1"),
        lambda: ledger.reserve("position:X", "USDT", D(50), "a position"),
        lambda: ledger.spend_reserved("position:X", "USDT", D(70)),  # funding beyond the margin
        lambda: ledger.spend_reserved("position:X", "USDT", D(-20)),  # and back to zero
    ]
    snapshot = None
    for step in steps:
        step()
        balance = ledger.balance(0)
        assert balance == fresh(ledger, 0) and balance != seen[-1]
        seen.append(balance)
        if snapshot is None:
            snapshot = ledger.snapshot()
    assert snapshot is not None
    ledger.restore(snapshot)
    assert ledger.balance(0) == fresh(ledger, 0) == seen[1]
    with pytest.raises(InsufficientFunds):
        ledger.debit("USDT", D(10**6), "too much")
    assert ledger.balance(5) == fresh(ledger, 5) and ledger.balance(5).ts == 5


def test_ledger_balance_when_a_caller_edits_its_dict_then_the_next_balance_is_untouched() -> None:
    ledger = Ledger({"USDT": D(1000)})
    ledger.balance(0).currencies.clear()
    assert ledger.balance(0) == fresh(ledger, 0) and ledger.balance(0).free("USDT") == D(1000)


async def test_exchange_balance_when_fill_cancel_funding_liquidation_at_one_time_then_never_stale() -> None:
    feed = ScriptedFeed(perp_market(PERP), spot_market(SPOT))
    config = PaperConfig(maker_fee=D("0.0002"), taker_fee=D("0.0005"))
    paper = await PaperExchange.open(feed, starting_balances={"USDT": D(1000)}, config=config, clock=feed.clock)
    ledger = paper.account.ledger
    answers: list[Balance] = []

    async def check() -> None:
        balance = await paper.fetch_balance()
        assert balance == fresh(ledger, feed.now)
        assert balance == await paper.fetch_balance()  # asked twice at one time, as the engine does
        answers.append(balance)

    await paper.set_leverage(PERP, 10)
    feed.set_price(PERP, D(100), ladder(D(100), levels=3, gap=D(0), amount=D(1000)))
    await check()
    await paper.create_order(OrderRequest(PERP, OrderSide.BUY, OrderType.MARKET, D(5), "open"))  # a fill
    await check()
    limit = await paper.create_order(OrderRequest(PERP, OrderSide.BUY, OrderType.LIMIT, D(1), "rest", price=D(90)))
    await check()  # its margin is reserved
    await paper.cancel_order(limit.id, PERP)
    await check()  # and released
    await paper.create_order(OrderRequest(SPOT, OrderSide.BUY, OrderType.MARKET, D(1), "spot"))  # a spot swap
    await check()
    feed.funding_rate = D("0.01")
    feed.now += 8 * HOUR  # one funding time
    await check()
    assert paper.account.funding and answers[-1] != answers[-2]
    feed.set_price(PERP, D(50))  # at the same time: the long is liquidated
    [liquidation] = await paper.process([PERP])
    assert liquidation.status is OrderStatus.FILLED and not paper.account.positions
    await check()
    assert answers[-1].total("USDT") < answers[-2].total("USDT")
    # every step moved the balance, but the cancel, which gave back exactly what the limit reserved
    assert answers[2] != answers[1] and answers[3].currencies == answers[1].currencies
    assert len({(b.free("USDT"), b.total("USDT"), b.total("ETH")) for b in answers}) == len(answers) - 1
