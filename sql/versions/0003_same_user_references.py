"""Same-user references: a row may only refer to rows of its own user, and fills without ids get stable keys.

Every reference from one user-owned row to another becomes a composite foreign key on (reference, user_id)
against a UNIQUE (id, user_id) of the referred table, so the database itself refuses a cross-user reference.
A reference that is set to NULL when its target goes (orders referred to by trades and decisions) keeps its
single-column ON DELETE SET NULL key and gains a deferred composite key: a composite SET NULL would null
user_id too, and a deferred check runs after the SET NULL, on both backends, whatever the trigger order.

Existing rows are repaired first, so a populated database upgrades: a nullable reference to another user's
row is set to NULL (the row never owned it), a row that cannot exist without it (a fill of another user's
order, a ledger under another user's account) is deleted; each repair is logged.

Fills stored without an exchange trade id were keyed "<order id>:<ms>:<amount>:<price>"; they are re-keyed
"position:<n>" (n = their order among the order's id-less fills), the key OrderRepository now computes.

SQLite recreates each table (batch mode): db.migrate turns foreign keys off for the migration, and its views are
dropped here and recreated unchanged afterwards (a table rename is refused while a view refers to a dropped
table).

Revision ID: 0003
Revises: 0002
"""

import logging
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from alembic import op

from sql.sqlite_views import drop_sqlite_views, restore_sqlite_views

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

#: Tables other rows refer to, made referable by (id, user_id).
REFERRED = ("exchange_accounts", "user_pairs", "orders")
#: (table, column, referred table, nullable): ON DELETE CASCADE references; the single-column key is replaced.
CASCADING = (
    ("user_pairs", "account_id", "exchange_accounts", True),
    ("orders", "account_id", "exchange_accounts", True),
    ("paper_ledgers", "account_id", "exchange_accounts", False),
    ("fills", "order_id", "orders", False),
    ("trades", "pair_id", "user_pairs", True),
    ("positions", "pair_id", "user_pairs", True),
    ("trade_decisions", "pair_id", "user_pairs", True),
)
#: (table, column, referred table): ON DELETE SET NULL references; the single-column key stays.
NULLING = (
    ("trades", "entry_order_id", "orders"),
    ("trades", "exit_order_id", "orders"),
    ("trade_decisions", "order_id", "orders"),
)
#: Parents before children: PostgreSQL needs the UNIQUE (id, user_id) before a key may refer to it.
TABLES = (
    "exchange_accounts",
    "user_pairs",
    "orders",
    "paper_ledgers",
    "fills",
    "trades",
    "positions",
    "trade_decisions",
)


def _same_user(table: str, column: str) -> str:
    return f"fk_{table}_{column}_same_user"


def _unique(table: str) -> str:
    return f"uq_{table}_id_user_id"


def _foreign_rows(table: str, column: str, referred: str) -> str:
    return (
        f"{table}.{column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {referred} r"
        f" WHERE r.id = {table}.{column} AND r.user_id = {table}.user_id)"
    )


def _repair(bind: sa.Connection) -> None:
    """Detach (or delete) every existing reference to another user's row, so the new keys can be added."""
    for table, column, referred, nullable in CASCADING:
        where = _foreign_rows(table, column, referred)
        if nullable:
            statement = f"UPDATE {table} SET {column} = NULL WHERE {where}"
        else:
            statement = f"DELETE FROM {table} WHERE {where}"
        _run_repair(bind, statement, table, column)
    for table, column, referred in NULLING:
        statement = f"UPDATE {table} SET {column} = NULL WHERE {_foreign_rows(table, column, referred)}"
        _run_repair(bind, statement, table, column)


def _run_repair(bind: sa.Connection, statement: str, table: str, column: str) -> None:
    count = bind.execute(sa.text(statement)).rowcount
    if count:
        action = "deleted" if statement.startswith("DELETE") else f"{column} set to NULL"
        log.warning("%s: %d row(s) referred through %s to another user's row or none; %s", table, count, column, action)


def _is_legacy_key(key: str, exchange_order_id: str | None) -> bool:
    """The key the old code derived for a fill without a trade id: '<order id>:<ms>:<amount>:<price>'."""
    prefix = f"{exchange_order_id or ''}:"
    parts = key.removeprefix(prefix).split(":") if key.startswith(prefix) else []
    if len(parts) != 3 or not parts[0].isdigit():
        return False
    try:
        Decimal(parts[1]), Decimal(parts[2])
    except InvalidOperation:
        return False
    return True


def _rekey_fills(bind: sa.Connection) -> None:
    rows = bind.execute(
        sa.text(
            "SELECT f.id, f.order_id, f.exchange_trade_id, o.exchange_order_id FROM fills f"
            " JOIN orders o ON o.id = f.order_id ORDER BY f.order_id, f.id"
        )
    ).all()
    positions: dict[int, int] = {}
    for fill_id, order_id, key, exchange_order_id in rows:
        if _is_legacy_key(key, exchange_order_id):
            position = positions.get(order_id, 0)
            positions[order_id] = position + 1
            bind.execute(
                sa.text("UPDATE fills SET exchange_trade_id = :key WHERE id = :id"),
                {"key": f"position:{position}", "id": fill_id},
            )


def upgrade() -> None:
    bind = op.get_bind()
    _repair(bind)
    _rekey_fills(bind)
    views = drop_sqlite_views(bind)
    for table in TABLES:  # one batch per table: SQLite recreates it once
        with op.batch_alter_table(table) as batch:
            if table in REFERRED:
                batch.create_unique_constraint(_unique(table), ["id", "user_id"])
            for name, column, referred, _ in CASCADING:
                if name == table:
                    batch.drop_constraint(f"fk_{table}_{column}_{referred}", type_="foreignkey")
                    batch.create_foreign_key(
                        _same_user(table, column), referred, [column, "user_id"], ["id", "user_id"], ondelete="CASCADE"
                    )
            for name, column, referred in NULLING:
                if name == table:
                    batch.create_foreign_key(
                        _same_user(table, column),
                        referred,
                        [column, "user_id"],
                        ["id", "user_id"],
                        deferrable=True,
                        initially="DEFERRED",
                    )
    restore_sqlite_views(views)


def downgrade() -> None:
    views = drop_sqlite_views(op.get_bind())
    for table in reversed(TABLES):
        with op.batch_alter_table(table) as batch:
            for name, column, _ in NULLING:
                if name == table:
                    batch.drop_constraint(_same_user(table, column), type_="foreignkey")
            for name, column, referred, _ in CASCADING:
                if name == table:
                    batch.drop_constraint(_same_user(table, column), type_="foreignkey")
                    batch.create_foreign_key(
                        f"fk_{table}_{column}_{referred}", referred, [column], ["id"], ondelete="CASCADE"
                    )
            if table in REFERRED:
                batch.drop_constraint(_unique(table), type_="unique")
    restore_sqlite_views(views)
