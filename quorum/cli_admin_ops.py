"""`quorum admin users|pairs|trades|stats|pause|resume|reset-breaker|broadcast`: the operator's view and levers.

Each command is one call of the service's admin API (engine/service_admin.py, engine/service_admin_pairs.py), the
same calls the Telegram admins' /users, /stats, /pauseuser, /resumeuser and /broadcast make, acting as the
operator (audited as admin-cli:<login>). Mounted on admin_app in quorum/cli_admin.py; the service, the database
and rich are imported when a command runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from quorum.admin_service import PICKUP, call_service, reflowed

if TYPE_CHECKING:
    from engine.service import QuorumService
    from engine.service_admin import AdminStats, UserPage, UserStatusChanged
    from engine.service_admin_pairs import AdminPairPage, BreakersReset
    from engine.service_reports import TradePage
    from engine.service_trading import BreakerPreview
    from engine.service_views import BreakerView

User = Annotated[str, typer.Argument(metavar="TELEGRAM_ID", help="The user's Telegram id (`quorum admin users`).")]
Page = Annotated[int, typer.Option("--page", min=1, help="Which page (1 is the first).")]


def _operator() -> int:
    from engine.service_admin_access import OPERATOR

    return OPERATOR


def users(page: Page = 1) -> None:
    """Every registered user: mode, status, pairs, account and equity (never a key)."""
    from quorum.admin_tables import show, users_table

    async def work(service: QuorumService) -> UserPage:
        return await service.admin.users(_operator(), page, 50)

    show(users_table(call_service(work)))


def pairs(
    user: Annotated[
        str | None, typer.Argument(metavar="TELEGRAM_ID", help="Only this user's pairs (default: everyone's).")
    ] = None,
    page: Page = 1,
) -> None:
    """Pairs (everyone's, or one user's): budget, position, breakers, last cycle, engine heartbeat."""
    from quorum.admin_tables import pairs_table, show

    async def work(service: QuorumService) -> AdminPairPage:
        return await service.admin.pairs(_operator(), user, page)

    show(pairs_table(call_service(work)))


def trades(
    user: User,
    symbol: Annotated[str | None, typer.Option("--symbol", help="Only this pair's trades, e.g. BTC/USDT.")] = None,
    page: Page = 1,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100, help="Trades per page.")] = 20,
) -> None:
    """A user's trades, newest first, with P&L net of fees."""
    from quorum.admin_tables import show, trades_table

    async def work(service: QuorumService) -> TradePage:
        return await service.admin.trades(_operator(), user, page, limit, symbol)

    found = call_service(work)
    show(trades_table(found, int(user)))


def stats() -> None:
    """Users, pairs, open positions, trades today, alerts waiting, engines beating."""
    from quorum.admin_tables import show, stats_table

    async def work(service: QuorumService) -> AdminStats:
        return await service.admin.stats(_operator())

    show(stats_table(call_service(work)))


def pause(
    user: User,
    reason: Annotated[str | None, typer.Option("--reason", help="Told to the user, e.g. 'KYC pending'.")] = None,
) -> None:
    """Pause every pair of a user; they are told in their chat.

    Their engines open no new position (open ones keep their stop loss and take profit) and the user cannot resume
    the pairs themselves. A running `quorum run` applies it at its next configuration refresh (within 30 s).
    """

    async def work(service: QuorumService) -> UserStatusChanged:
        return await service.admin.set_user_status(_operator(), user, "paused", reason)

    _changed(call_service(work), "paused", "no pair needed pausing")


def resume(user: User) -> None:
    """Resume a user the operator paused; they are told in their chat.

    The pairs the operator paused trade again; pairs the user paused themselves stay paused. A running
    `quorum run` applies it at its next configuration refresh (within 30 s).
    """

    async def work(service: QuorumService) -> UserStatusChanged:
        return await service.admin.set_user_status(_operator(), user, "active")

    _changed(call_service(work), "resumed", "no pair was paused by the operator")


def reset_breaker(
    user: User,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Reset without asking.")] = False,
) -> None:
    """Reset every open circuit breaker of a user; shows them and asks first, unless --yes.

    Their pairs' losing-streak breakers and their daily loss limit reopen, as their own /resumebreaker would. The
    database changes at once; a running `quorum run` resets its engines at its next configuration refresh (within
    30 s) and the user is told in their chat.
    """
    from engine.service_admin_pairs import BreakersReset
    from quorum.admin_tables import breakers_table, show

    async def look(service: QuorumService) -> tuple[BreakerView, ...]:
        return await service.admin.breakers(_operator(), user)

    async def reset(service: QuorumService) -> BreakerPreview | BreakersReset:
        return await service.admin.reset_breaker(_operator(), user, confirm=True)

    if not yes:
        open_now = call_service(look)
        if open_now:
            show(breakers_table(open_now))
            typer.confirm(f"Reset {len(open_now)} breaker(s) of user {user}?", abort=True)
    done = call_service(reset)
    assert isinstance(done, BreakersReset)  # confirm=True never previews
    names = ", ".join(view.symbol or "daily loss limit" for view in done.breakers)
    typer.echo(f"user {done.telegram_id}: reset {names}.")
    typer.echo(PICKUP if not done.applied else " ".join(done.messages))
    if done.told:
        typer.echo("They were told in their chat (alert outbox).")


def broadcast(
    text: Annotated[str, typer.Argument(metavar="TEXT", help="The message (plain text; quote it in the shell).")],
) -> None:
    """Send a message to every user who is not blocked, through the alert outbox.

    The running bot delivers it with its retries and flood control; while no `quorum run` runs, it goes out when
    the bot starts.
    """

    async def work(service: QuorumService) -> int:
        return await service.admin.broadcast(_operator(), text)

    count = call_service(work)
    typer.echo(f"queued for {count} user{'s' if count != 1 else ''}; the running bot delivers it shortly.")


def _changed(changed: UserStatusChanged, done: str, nothing: str) -> None:
    pairs = ", ".join(changed.pairs) or nothing
    typer.echo(f"user {changed.telegram_id} is {changed.status} (was {changed.previous}); {done}: {pairs}.")
    if changed.unchanged:
        typer.echo(f"left as they were: {', '.join(changed.unchanged)}.")
    if changed.pairs:
        typer.echo(PICKUP)
    typer.echo("They were told in their chat (alert outbox)." if changed.told else "Nothing changed.")


def register(app: typer.Typer) -> None:
    for name, command in (
        ("users", users), ("pairs", pairs), ("trades", trades), ("stats", stats), ("pause", pause),
        ("resume", resume), ("reset-breaker", reset_breaker), ("broadcast", broadcast),
    ):  # fmt: skip
        app.command(name, help=reflowed(command.__doc__))(command)
