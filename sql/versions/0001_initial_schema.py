"""Initial schema: every table of SPEC.md "Data", with foreign keys (cascade) and indexes.

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ai_decisions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("consultation_key", sa.String(length=160), nullable=False),
        sa.Column("exchange", sa.String(length=32), nullable=True),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("candle_ts", sa.BigInteger(), nullable=True),
        sa.Column("position_side", sa.String(length=8), nullable=True),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=True),
        sa.Column("prompt_version", sa.String(length=16), nullable=True),
        sa.Column("action", sa.String(length=8), nullable=True),
        sa.Column("confidence", db.types.Money(), nullable=True),
        sa.Column("stop_loss", db.types.Money(), nullable=True),
        sa.Column("take_profit", db.types.Money(), nullable=True),
        sa.Column("reasoning", sa.Text(), nullable=True),
        sa.Column("raw_answer", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            db.types.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_decisions")),
        sa.UniqueConstraint("consultation_key", "provider", name="uq_ai_decisions_consultation_key_provider"),
    )
    with op.batch_alter_table("ai_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ai_decisions_consultation_key"), ["consultation_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_ai_decisions_symbol"), ["symbol"], unique=False)

    op.create_table(
        "news_items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("symbols", sa.JSON(), nullable=False),
        sa.Column("sentiment", sa.Float(), nullable=False),
        sa.Column("published_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "fetched_at",
            db.types.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_news_items")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_news_items_fingerprint")),
    )
    with op.batch_alter_table("news_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_news_items_published_at"), ["published_at"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("display_name", sa.String(length=128), nullable=True),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("live_confirmed_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column(
            "created_at",
            db.types.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            db.types.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("telegram_id", name=op.f("uq_users_telegram_id")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column(
            "created_at",
            db.types.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_audit_log_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_symbol"), ["symbol"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_user_id"), ["user_id"], unique=False)

    op.create_table(
        "engine_heartbeats",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cycles", sa.Integer(), nullable=False),
        sa.Column("last_cycle_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "updated_at",
            db.types.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_engine_heartbeats_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engine_heartbeats")),
        sa.UniqueConstraint("user_id", "symbol", name="uq_engine_heartbeats_user_id_symbol"),
    )
    with op.batch_alter_table("engine_heartbeats", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_engine_heartbeats_symbol"), ["symbol"], unique=False)
        batch_op.create_index(batch_op.f("ix_engine_heartbeats_user_id"), ["user_id"], unique=False)

    op.create_table(
        "exchange_accounts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("exchange", sa.String(length=32), nullable=False),
        sa.Column("market_type", sa.String(length=16), nullable=False),
        sa.Column("is_paper", sa.Boolean(), nullable=False),
        sa.Column("testnet", sa.Boolean(), nullable=False),
        sa.Column("api_key_enc", sa.LargeBinary(), nullable=True),
        sa.Column("api_secret_enc", sa.LargeBinary(), nullable=True),
        sa.Column("api_password_enc", sa.LargeBinary(), nullable=True),
        sa.Column("paper_start_balance", db.types.Money(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            db.types.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            db.types.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_exchange_accounts_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_accounts")),
    )
    with op.batch_alter_table("exchange_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exchange_accounts_user_id"), ["user_id"], unique=False)

    op.create_table(
        "user_states",
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("balance", db.types.Money(), nullable=False),
        sa.Column("equity", db.types.Money(), nullable=False),
        sa.Column("realized_pnl", db.types.Money(), nullable=False),
        sa.Column("unrealized_pnl", db.types.Money(), nullable=False),
        sa.Column("peak_equity", db.types.Money(), nullable=False),
        sa.Column("day_start_equity", db.types.Money(), nullable=False),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("trades_today", sa.Integer(), nullable=False),
        sa.Column("breaker", sa.JSON(), nullable=False),
        sa.Column("breaker_status", sa.String(length=16), nullable=False),
        sa.Column(
            "updated_at",
            db.types.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_states_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_states")),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("client_order_id", sa.String(length=64), nullable=False),
        sa.Column("exchange_order_id", sa.String(length=64), nullable=True),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("type", sa.String(length=24), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("amount", db.types.Money(), nullable=False),
        sa.Column("filled", db.types.Money(), nullable=False),
        sa.Column("price", db.types.Money(), nullable=True),
        sa.Column("average", db.types.Money(), nullable=True),
        sa.Column("stop_price", db.types.Money(), nullable=True),
        sa.Column("fee", db.types.Money(), nullable=False),
        sa.Column("fee_currency", sa.String(length=16), nullable=True),
        sa.Column("reduce_only", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            db.types.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            db.types.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["exchange_accounts.id"],
            name=op.f("fk_orders_account_id_exchange_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_orders_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("client_order_id", name=op.f("uq_orders_client_order_id")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_symbol"), ["symbol"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_user_id"), ["user_id"], unique=False)

    op.create_table(
        "paper_ledgers",
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column(
            "updated_at",
            db.types.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["exchange_accounts.id"],
            name=op.f("fk_paper_ledgers_account_id_exchange_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_paper_ledgers_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_paper_ledgers")),
    )
    with op.batch_alter_table("paper_ledgers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_paper_ledgers_user_id"), ["user_id"], unique=False)

    op.create_table(
        "user_pairs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("budget", db.types.Money(), nullable=False),
        sa.Column("leverage", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("risk_overrides", sa.JSON(), nullable=False),
        sa.Column("breaker", sa.JSON(), nullable=False),
        sa.Column("breaker_status", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at",
            db.types.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            db.types.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["exchange_accounts.id"],
            name=op.f("fk_user_pairs_account_id_exchange_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_pairs_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_pairs")),
        sa.UniqueConstraint("user_id", "symbol", name="uq_user_pairs_user_id_symbol"),
    )
    with op.batch_alter_table("user_pairs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_pairs_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_user_pairs_symbol"), ["symbol"], unique=False)
        batch_op.create_index(batch_op.f("ix_user_pairs_user_id"), ["user_id"], unique=False)

    op.create_table(
        "fills",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("exchange_trade_id", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("price", db.types.Money(), nullable=False),
        sa.Column("amount", db.types.Money(), nullable=False),
        sa.Column("fee", db.types.Money(), nullable=False),
        sa.Column("fee_currency", sa.String(length=16), nullable=True),
        sa.Column("executed_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_fills_order_id_orders"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_fills_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fills")),
        sa.UniqueConstraint("order_id", "exchange_trade_id", name="uq_fills_order_id_trade"),
    )
    with op.batch_alter_table("fills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fills_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_fills_symbol"), ["symbol"], unique=False)
        batch_op.create_index(batch_op.f("ix_fills_user_id"), ["user_id"], unique=False)

    op.create_table(
        "positions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("pair_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("amount", db.types.Money(), nullable=False),
        sa.Column("entry_price", db.types.Money(), nullable=False),
        sa.Column("leverage", sa.Integer(), nullable=False),
        sa.Column("margin", db.types.Money(), nullable=False),
        sa.Column("stop_loss", db.types.Money(), nullable=True),
        sa.Column("take_profit", db.types.Money(), nullable=True),
        sa.Column("liquidation_price", db.types.Money(), nullable=True),
        sa.Column("mark_price", db.types.Money(), nullable=True),
        sa.Column("unrealized_pnl", db.types.Money(), nullable=False),
        sa.Column("opened_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "updated_at",
            db.types.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["pair_id"], ["user_pairs.id"], name=op.f("fk_positions_pair_id_user_pairs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_positions_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_positions")),
        sa.UniqueConstraint("user_id", "symbol", name="uq_positions_user_id_symbol"),
    )
    with op.batch_alter_table("positions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_positions_pair_id"), ["pair_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_positions_symbol"), ["symbol"], unique=False)
        batch_op.create_index(batch_op.f("ix_positions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "trade_decisions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("pair_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("consultation_key", sa.String(length=160), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("confidence", db.types.Money(), nullable=True),
        sa.Column("stop_loss", db.types.Money(), nullable=True),
        sa.Column("take_profit", db.types.Money(), nullable=True),
        sa.Column("consensus_reason", sa.String(length=32), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason_code", sa.String(length=48), nullable=True),
        sa.Column("reason_message", sa.Text(), nullable=True),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "created_at",
            db.types.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_trade_decisions_order_id_orders"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["pair_id"], ["user_pairs.id"], name=op.f("fk_trade_decisions_pair_id_user_pairs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_trade_decisions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trade_decisions")),
    )
    with op.batch_alter_table("trade_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trade_decisions_consultation_key"), ["consultation_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_trade_decisions_pair_id"), ["pair_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_trade_decisions_symbol"), ["symbol"], unique=False)
        batch_op.create_index(batch_op.f("ix_trade_decisions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "trades",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("pair_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("amount", db.types.Money(), nullable=False),
        sa.Column("entry_price", db.types.Money(), nullable=False),
        sa.Column("exit_price", db.types.Money(), nullable=True),
        sa.Column("fees", db.types.Money(), nullable=False),
        sa.Column("realized_pnl", db.types.Money(), nullable=True),
        sa.Column("leverage", sa.Integer(), nullable=False),
        sa.Column("entry_order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("exit_order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("close_reason", sa.String(length=24), nullable=True),
        sa.Column("opened_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["entry_order_id"], ["orders.id"], name=op.f("fk_trades_entry_order_id_orders"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["exit_order_id"], ["orders.id"], name=op.f("fk_trades_exit_order_id_orders"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["pair_id"], ["user_pairs.id"], name=op.f("fk_trades_pair_id_user_pairs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_trades_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trades")),
    )
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trades_pair_id"), ["pair_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_trades_symbol"), ["symbol"], unique=False)
        batch_op.create_index(batch_op.f("ix_trades_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trades_user_id"))
        batch_op.drop_index(batch_op.f("ix_trades_symbol"))
        batch_op.drop_index(batch_op.f("ix_trades_pair_id"))

    op.drop_table("trades")
    with op.batch_alter_table("trade_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trade_decisions_user_id"))
        batch_op.drop_index(batch_op.f("ix_trade_decisions_symbol"))
        batch_op.drop_index(batch_op.f("ix_trade_decisions_pair_id"))
        batch_op.drop_index(batch_op.f("ix_trade_decisions_consultation_key"))

    op.drop_table("trade_decisions")
    with op.batch_alter_table("positions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_positions_user_id"))
        batch_op.drop_index(batch_op.f("ix_positions_symbol"))
        batch_op.drop_index(batch_op.f("ix_positions_pair_id"))

    op.drop_table("positions")
    with op.batch_alter_table("fills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fills_user_id"))
        batch_op.drop_index(batch_op.f("ix_fills_symbol"))
        batch_op.drop_index(batch_op.f("ix_fills_order_id"))

    op.drop_table("fills")
    with op.batch_alter_table("user_pairs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_pairs_user_id"))
        batch_op.drop_index(batch_op.f("ix_user_pairs_symbol"))
        batch_op.drop_index(batch_op.f("ix_user_pairs_account_id"))

    op.drop_table("user_pairs")
    with op.batch_alter_table("paper_ledgers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_paper_ledgers_user_id"))

    op.drop_table("paper_ledgers")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_user_id"))
        batch_op.drop_index(batch_op.f("ix_orders_symbol"))
        batch_op.drop_index(batch_op.f("ix_orders_account_id"))

    op.drop_table("orders")
    op.drop_table("user_states")
    with op.batch_alter_table("exchange_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_accounts_user_id"))

    op.drop_table("exchange_accounts")
    with op.batch_alter_table("engine_heartbeats", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_engine_heartbeats_user_id"))
        batch_op.drop_index(batch_op.f("ix_engine_heartbeats_symbol"))

    op.drop_table("engine_heartbeats")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_user_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_symbol"))

    op.drop_table("audit_log")
    op.drop_table("users")
    with op.batch_alter_table("news_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_news_items_published_at"))

    op.drop_table("news_items")
    with op.batch_alter_table("ai_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ai_decisions_symbol"))
        batch_op.drop_index(batch_op.f("ix_ai_decisions_consultation_key"))

    op.drop_table("ai_decisions")
