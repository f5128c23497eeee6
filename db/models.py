"""ORM models: the schema of SPEC.md "Data". The migrations under sql/ create exactly these tables.

Every row that belongs to a user carries user_id with ON DELETE CASCADE, so deleting a user removes all of it.
A row that refers to another user-owned row does so through a composite key on (reference, user_id), against
the referred table's UNIQUE (id, user_id): the database refuses a reference to another user's row.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from db.types import BigId, Money, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _user_fk() -> Mapped[int]:
    return mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)


def _owned_by_id(table: str) -> UniqueConstraint:
    """What a same-user key refers to: (id, user_id) is unique because id is."""
    return UniqueConstraint("id", "user_id", name=f"uq_{table}_id_user_id")


def _same_user(table: str, column: str, referred: str, cascade: bool = True) -> ForeignKeyConstraint:
    """`column` may only refer to a row of `referred` with this row's user_id.

    cascade=False is for ON DELETE SET NULL references, which keep their single-column key for the SET NULL (a
    composite one would null user_id too): this key is then deferred, so it is checked after the SET NULL.
    """
    return ForeignKeyConstraint(
        [column, "user_id"],
        [f"{referred}.id", f"{referred}.user_id"],
        name=f"fk_{table}_{column}_same_user",
        ondelete="CASCADE" if cascade else None,
        deferrable=None if cascade else True,
        initially=None if cascade else "DEFERRED",
    )


def _created() -> Mapped[datetime]:
    return mapped_column(UTCDateTime, server_default=func.now(), nullable=False)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True, nullable=False)
    username: Mapped[str | None] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(128))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="active", nullable=False)  # active|paused|blocked
    mode: Mapped[str] = mapped_column(String(8), default="paper", nullable=False)  # paper|live
    live_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


class ExchangeAccount(Base):
    """An exchange connection (or a paper account). API key and secret are AES-GCM ciphertexts."""

    __tablename__ = "exchange_accounts"
    __table_args__ = (_owned_by_id("exchange_accounts"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = _user_fk()
    exchange: Mapped[str] = mapped_column(String(32), nullable=False)  # ccxt id, or "paper"
    market_type: Mapped[str] = mapped_column(String(16), default="spot", nullable=False)
    is_paper: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    testnet: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    api_key_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    api_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    api_password_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # passphrase (OKX, KuCoin ...)
    paper_start_balance: Mapped[Decimal | None] = mapped_column(Money)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()

    def __repr__(self) -> str:  # never show the ciphertexts, let alone what they hide
        return (
            f"ExchangeAccount(id={self.id}, user_id={self.user_id}, exchange={self.exchange!r}, paper={self.is_paper})"
        )


class UserPair(Base):
    __tablename__ = "user_pairs"
    __table_args__ = (
        UniqueConstraint("user_id", "symbol", name="uq_user_pairs_user_id_symbol"),
        _owned_by_id("user_pairs"),
        _same_user("user_pairs", "account_id", "exchange_accounts"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = _user_fk()
    account_id: Mapped[int | None] = mapped_column(BigId, index=True)
    symbol: Mapped[str] = mapped_column(String(32), index=True, nullable=False)
    budget: Mapped[Decimal] = mapped_column(Money, nullable=False)
    leverage: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="active", nullable=False)  # active|paused|stopped
    risk_overrides: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    breaker: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    breaker_status: Mapped[str] = mapped_column(String(16), default="running", nullable=False)
    status_reason: Mapped[str | None] = mapped_column(Text)  # why the pair is paused or in error
    last_candle_ts: Mapped[int | None] = mapped_column(BigInteger)  # the exactly-once guard (UTC ms)
    engine_state: Mapped[dict[str, Any]] = mapped_column(JSON, server_default="{}", nullable=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


class UserState(Base):
    """Per-user running figures and the user-wide breaker (daily loss limit)."""

    __tablename__ = "user_states"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    balance: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), nullable=False)
    equity: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), nullable=False)
    realized_pnl: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), nullable=False)
    unrealized_pnl: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), nullable=False)
    peak_equity: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), nullable=False)
    day_start_equity: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), nullable=False)
    day: Mapped[date | None] = mapped_column(Date)
    trades_today: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    breaker: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    breaker_status: Mapped[str] = mapped_column(String(16), default="running", nullable=False)
    updated_at: Mapped[datetime] = _created()


class OrderRow(Base):
    """Every order, recorded as pending BEFORE it is sent, so a crash can never lose or double it."""

    __tablename__ = "orders"
    __table_args__ = (_owned_by_id("orders"), _same_user("orders", "account_id", "exchange_accounts"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = _user_fk()
    account_id: Mapped[int | None] = mapped_column(BigId, index=True)
    symbol: Mapped[str] = mapped_column(String(32), index=True, nullable=False)
    client_order_id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    exchange_order_id: Mapped[str | None] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(4), nullable=False)
    type: Mapped[str] = mapped_column(String(24), nullable=False)
    purpose: Mapped[str] = mapped_column(
        String(16), default="entry", nullable=False
    )  # entry|exit|stop_loss|take_profit
    status: Mapped[str] = mapped_column(String(20), default="pending", nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    filled: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), nullable=False)
    price: Mapped[Decimal | None] = mapped_column(Money)
    average: Mapped[Decimal | None] = mapped_column(Money)
    stop_price: Mapped[Decimal | None] = mapped_column(Money)
    fee: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), nullable=False)
    fee_currency: Mapped[str | None] = mapped_column(String(16))
    reduce_only: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


class FillRow(Base):
    """Executions of an order; (order_id, exchange_trade_id) is unique so a replayed update never counts twice.

    exchange_trade_id is the exchange's trade id, or "position:<n>" for a fill reported without one (fill_key).
    """

    __tablename__ = "fills"
    __table_args__ = (
        UniqueConstraint("order_id", "exchange_trade_id", name="uq_fills_order_id_trade"),
        _same_user("fills", "order_id", "orders"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = _user_fk()
    order_id: Mapped[int] = mapped_column(BigId, index=True, nullable=False)
    exchange_trade_id: Mapped[str] = mapped_column(String(64), nullable=False)
    symbol: Mapped[str] = mapped_column(String(32), index=True, nullable=False)
    side: Mapped[str] = mapped_column(String(4), nullable=False)
    price: Mapped[Decimal] = mapped_column(Money, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    fee: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), nullable=False)
    fee_currency: Mapped[str | None] = mapped_column(String(16))
    executed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class TradeRow(Base):
    """A round trip: opened by an entry order, closed by an exit, stop loss, take profit or liquidation."""

    __tablename__ = "trades"
    __table_args__ = (
        _same_user("trades", "pair_id", "user_pairs"),
        _same_user("trades", "entry_order_id", "orders", cascade=False),
        _same_user("trades", "exit_order_id", "orders", cascade=False),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = _user_fk()
    pair_id: Mapped[int | None] = mapped_column(BigId, index=True)
    symbol: Mapped[str] = mapped_column(String(32), index=True, nullable=False)
    side: Mapped[str] = mapped_column(String(8), nullable=False)  # long|short
    status: Mapped[str] = mapped_column(String(8), default="open", nullable=False)  # open|closed
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    entry_price: Mapped[Decimal] = mapped_column(Money, nullable=False)
    exit_price: Mapped[Decimal | None] = mapped_column(Money)
    fees: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), nullable=False)
    realized_pnl: Mapped[Decimal | None] = mapped_column(Money)
    leverage: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    entry_order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("orders.id", ondelete="SET NULL"))
    exit_order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("orders.id", ondelete="SET NULL"))
    close_reason: Mapped[str | None] = mapped_column(String(24))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PositionRow(Base):
    __tablename__ = "positions"
    __table_args__ = (
        UniqueConstraint("user_id", "symbol", name="uq_positions_user_id_symbol"),
        _same_user("positions", "pair_id", "user_pairs"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = _user_fk()
    pair_id: Mapped[int | None] = mapped_column(BigId, index=True)
    symbol: Mapped[str] = mapped_column(String(32), index=True, nullable=False)
    side: Mapped[str] = mapped_column(String(8), nullable=False)  # long|short
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    entry_price: Mapped[Decimal] = mapped_column(Money, nullable=False)
    leverage: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    margin: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), nullable=False)
    stop_loss: Mapped[Decimal | None] = mapped_column(Money)
    take_profit: Mapped[Decimal | None] = mapped_column(Money)
    liquidation_price: Mapped[Decimal | None] = mapped_column(Money)
    mark_price: Mapped[Decimal | None] = mapped_column(Money)
    unrealized_pnl: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), nullable=False)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = _created()


class TradeDecision(Base):
    """One engine cycle's outcome for one user: the consensus, and what the risk manager made of it."""

    __tablename__ = "trade_decisions"
    __table_args__ = (
        _same_user("trade_decisions", "pair_id", "user_pairs"),
        _same_user("trade_decisions", "order_id", "orders", cascade=False),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = _user_fk()
    pair_id: Mapped[int | None] = mapped_column(BigId, index=True)
    symbol: Mapped[str] = mapped_column(String(32), index=True, nullable=False)
    consultation_key: Mapped[str] = mapped_column(String(160), index=True, nullable=False)
    action: Mapped[str] = mapped_column(String(8), nullable=False)
    confidence: Mapped[Decimal | None] = mapped_column(Money)
    stop_loss: Mapped[Decimal | None] = mapped_column(Money)
    take_profit: Mapped[Decimal | None] = mapped_column(Money)
    consensus_reason: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)  # executed|rejected|hold|skipped|error
    reason_code: Mapped[str | None] = mapped_column(String(48))
    reason_message: Mapped[str | None] = mapped_column(Text)
    order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("orders.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = _created()


class AiDecision(Base):
    """One provider's vote in one consultation (one row per provider per decision).

    A consultation is shared: one ensemble call per (exchange, symbol, candle, position side, ensemble) serves
    every user on that symbol, so votes are stored once and reach a user through trade_decisions.consultation_key.
    """

    __tablename__ = "ai_decisions"
    __table_args__ = (
        UniqueConstraint("consultation_key", "provider", name="uq_ai_decisions_consultation_key_provider"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    consultation_key: Mapped[str] = mapped_column(String(160), index=True, nullable=False)
    exchange: Mapped[str | None] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(32), index=True, nullable=False)
    candle_ts: Mapped[int | None] = mapped_column(BigInteger)
    position_side: Mapped[str | None] = mapped_column(String(8))
    provider: Mapped[str] = mapped_column(String(32), nullable=False)
    model: Mapped[str | None] = mapped_column(String(64))
    prompt_version: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str | None] = mapped_column(String(8))  # None: abstained
    confidence: Mapped[Decimal | None] = mapped_column(Money)
    stop_loss: Mapped[Decimal | None] = mapped_column(Money)
    take_profit: Mapped[Decimal | None] = mapped_column(Money)
    reasoning: Mapped[str | None] = mapped_column(Text)
    raw_answer: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = _created()


class NewsItemRow(Base):
    """Shared by every user: headlines are public, not user data."""

    __tablename__ = "news_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    source: Mapped[str] = mapped_column(String(64), nullable=False)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    url: Mapped[str] = mapped_column(Text, nullable=False)
    symbols: Mapped[list[str]] = mapped_column(JSON, default=list, nullable=False)
    sentiment: Mapped[float] = mapped_column(Float, default=0.0, nullable=False)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True, nullable=False)
    fetched_at: Mapped[datetime] = _created()


class AuditLog(Base):
    """Every command and every order, with who did it."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    actor: Mapped[str] = mapped_column(String(64), nullable=False)  # telegram:<id> | admin-cli | engine
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    symbol: Mapped[str | None] = mapped_column(String(32), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    created_at: Mapped[datetime] = _created()


class EngineHeartbeat(Base):
    __tablename__ = "engine_heartbeats"
    __table_args__ = (UniqueConstraint("user_id", "symbol", name="uq_engine_heartbeats_user_id_symbol"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = _user_fk()
    symbol: Mapped[str] = mapped_column(String(32), index=True, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # starting|running|paused|stopped|error
    cycles: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    last_cycle_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = _created()


class PaperLedger(Base):
    """The serialised state of one paper account (balances, open orders, positions), restored after a restart."""

    __tablename__ = "paper_ledgers"
    __table_args__ = (_same_user("paper_ledgers", "account_id", "exchange_accounts"),)

    account_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = _user_fk()
    state: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    updated_at: Mapped[datetime] = _created()


class EquitySnapshot(Base):
    """The account marked to market once per cycle: the equity curve /profit and the metrics read."""

    __tablename__ = "equity_snapshots"
    __table_args__ = (_same_user("equity_snapshots", "pair_id", "user_pairs"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = _user_fk()
    pair_id: Mapped[int | None] = mapped_column(BigId, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True, nullable=False)
    equity: Mapped[Decimal] = mapped_column(Money, nullable=False)
    balance: Mapped[Decimal] = mapped_column(Money, nullable=False)
    unrealized_pnl: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), nullable=False)


class AlertOutbox(Base):
    """An alert on its way to its owner: written when the engine emits it, deleted from the queue (sent_at set)
    only once Telegram accepted it, so an unreachable Telegram delays alerts and loses none."""

    __tablename__ = "alert_outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = _user_fk()
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)  # the rendered message (HTML, user strings escaped)
    created_at: Mapped[datetime] = _created()
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    dropped: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)  # Telegram refused it for good
    last_error: Mapped[str | None] = mapped_column(Text)
