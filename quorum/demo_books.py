"""The demo's books: every user, account, pair, order, trade, decision and breaker state goes through the real
repositories, so a demo run leaves the same rows a live engine would."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from db.database import Database
from db.repositories import (
    AccountRepository,
    DecisionRepository,
    OrderRepository,
    PairRepository,
    PositionRepository,
    TradeRepository,
    UserRepository,
    UserStateRepository,
)
from domain.trading import Order, OrderRequest, Position
from risk import DailyLossState, LossStreakState

DEMO_USERNAME = "demo"


@dataclass(frozen=True, slots=True)
class AccountFigures:
    """What user_states shows for the demo user after a cycle or a close."""

    balance: Decimal
    equity: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    peak_equity: Decimal
    day_start_equity: Decimal
    day: date
    trades_today: int
    position: Position | None = None  # the open position, marked to market


class DemoBooks:
    """One transaction per bookkeeping step; ids of the demo's user, paper account and pair once set up."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.user_id = 0
        self.account_id = 0
        self.pair_id = 0
        self.symbol = ""

    async def setup(self, symbol: str, balance: Decimal, budget: Decimal, leverage: int, exchange: str) -> None:
        """A new demo user (a negative Telegram id no real person has) with a paper account and the pair."""
        async with self.database.transaction() as session:
            users = UserRepository(session)
            taken = [user.telegram_id for user in await users.list_all() if user.telegram_id < 0]
            user, _ = await users.register(min(taken, default=0) - 1, DEMO_USERNAME, "Quorum demo")
            account = await AccountRepository(session).add_paper(
                user.id, balance, exchange=exchange, market_type="perpetual"
            )
            pair = await PairRepository(session).add(user.id, symbol, budget, leverage, account.id)
            await UserStateRepository(session).update(
                user.id, balance=balance, equity=balance, peak_equity=balance, day_start_equity=balance
            )
            self.user_id, self.account_id, self.pair_id, self.symbol = user.id, account.id, pair.id, symbol

    def client_order_id(self, tag: str, purpose: str) -> str:
        """Unique in the database (client ids are unique across users): the demo user, the cycle, the purpose."""
        return f"demo-u{self.user_id}-{tag}-{purpose}"

    async def order_pending(self, request: OrderRequest, purpose: str) -> int:
        """Recorded BEFORE the order is sent, as the live engine must."""
        async with self.database.transaction() as session:
            row = await OrderRepository(session).add_pending(self.user_id, request, self.account_id, purpose)
            return row.id

    async def order_update(self, order: Order, purpose: str = "exit") -> int:
        """The exchange's view of an order; an order the exchange made itself (a liquidation) gets its row here."""
        async with self.database.transaction() as session:
            orders = OrderRepository(session)
            row = await orders.apply_update(self.user_id, order)
            if row is None:
                request = OrderRequest(
                    order.symbol, order.side, order.type, order.amount, order.client_order_id, order.price,
                    order.stop_price, order.reduce_only,
                )  # fmt: skip
                await orders.add_pending(self.user_id, request, self.account_id, purpose)
                row = await orders.apply_update(self.user_id, order)
            assert row is not None
            return row.id

    async def order_failed(self, client_order_id: str, error: str) -> None:
        async with self.database.transaction() as session:
            await OrderRepository(session).mark_failed(self.user_id, client_order_id, error)

    async def open_trade(
        self, position: Position, entry_price: Decimal, opened_at: datetime, order_row: int, fees: Decimal,
        stop_loss: Decimal, take_profit: Decimal,
    ) -> int:  # fmt: skip
        """The round trip and the positions row, as the position opens."""
        async with self.database.transaction() as session:
            trade = await TradeRepository(session).open(
                self.user_id, self.symbol, position.side.value, position.amount, entry_price, opened_at, self.pair_id,
                order_row, fees, position.leverage,
            )  # fmt: skip
            await self._save_position(session, position, opened_at, stop_loss=stop_loss, take_profit=take_profit)
            return trade.id

    async def close_trade(
        self, trade_id: int, exit_price: Decimal, pnl: Decimal, closed_at: datetime, reason: str,
        order_row: int | None, exit_fees: Decimal,
    ) -> None:  # fmt: skip
        async with self.database.transaction() as session:
            await TradeRepository(session).close(
                self.user_id, trade_id, exit_price, pnl, closed_at, reason, order_row, exit_fees
            )
            await PositionRepository(session).remove(self.user_id, self.symbol)

    async def decision(
        self,
        consultation_key: str,
        action: str,
        outcome: str,
        *,
        confidence: Decimal | None,
        stop_loss: Decimal | None,
        take_profit: Decimal | None,
        consensus_reason: str,
        code: str,
        message: str,
        order_row: int | None = None,
        state: tuple[LossStreakState, DailyLossState, AccountFigures] | None = None,
    ) -> None:
        """One cycle's decision with the risk verdict; with `state`, the breakers and figures in the same commit."""
        async with self.database.transaction() as session:
            await DecisionRepository(session).add_decision(
                self.user_id,
                self.symbol,
                consultation_key,
                action,
                outcome,
                pair_id=self.pair_id,
                confidence=confidence,
                stop_loss=stop_loss,
                take_profit=take_profit,
                consensus_reason=consensus_reason,
                reason_code=code,
                reason_message=message,
                order_id=order_row,
            )
            if state is not None:
                await self._save_state(session, *state)

    async def save_state(
        self, pair_breaker: LossStreakState, daily_breaker: DailyLossState, figures: AccountFigures | None = None
    ) -> None:
        """Breaker states (pair and user-wide) and, when given, the account figures, in one transaction."""
        async with self.database.transaction() as session:
            await self._save_state(session, pair_breaker, daily_breaker, figures)

    async def _save_state(
        self,
        session: AsyncSession,
        pair_breaker: LossStreakState,
        daily_breaker: DailyLossState,
        figures: AccountFigures | None,
    ) -> None:
        await PairRepository(session).save_breaker(
            self.user_id, self.symbol, pair_breaker.to_dict(), pair_breaker.status.value
        )
        values: dict[str, object] = {"breaker": daily_breaker.to_dict(), "breaker_status": daily_breaker.status.value}
        if figures is not None and figures.position is not None:
            await self._save_position(session, figures.position)
        if figures is not None:
            values.update(
                balance=figures.balance,
                equity=figures.equity,
                realized_pnl=figures.realized_pnl,
                unrealized_pnl=figures.unrealized_pnl,
                peak_equity=figures.peak_equity,
                day_start_equity=figures.day_start_equity,
                day=figures.day,
                trades_today=figures.trades_today,
            )
        await UserStateRepository(session).update(self.user_id, **values)

    async def _save_position(
        self, session: AsyncSession, position: Position, opened_at: datetime | None = None, **levels: Decimal
    ) -> None:
        await PositionRepository(session).upsert(
            self.user_id,
            self.symbol,
            opened_at,
            pair_id=self.pair_id,
            side=position.side.value,
            amount=position.amount,
            entry_price=position.entry_price,
            leverage=position.leverage,
            margin=position.margin,
            liquidation_price=position.liquidation_price,
            mark_price=position.mark_price,
            unrealized_pnl=position.unrealized_pnl,
            **levels,
        )

    async def pause_pair(self) -> None:
        async with self.database.transaction() as session:
            await PairRepository(session).set_status(self.user_id, self.symbol, "paused")
