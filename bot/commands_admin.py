"""/users, /stats, /pauseuser, /resumeuser, /broadcast: the operator's admins at work, from their chat.

The Router hides these commands from everyone whose Actor is not an admin (they read as unknown commands) and
keeps them out of Telegram's command menu; the service checks the admin again on every call, so a forged page
button or another transport cannot get past it. What a pause or resume changed is shown to the admin; the user
concerned is told through the alert outbox, like broadcasts.
"""

from __future__ import annotations

from bot.render import STALE, ButtonRefused, bold, button, code, money, pressed, safe, whole
from bot.replies import Button, Reply
from bot.router import Actor, Answer, Command, Router
from engine.service import QuorumService
from engine.service_admin import AdminStats, AdminUserView, UserStatusChanged

USERS_PER_PAGE = 20
_MARKS = {"active": "▶️", "paused": "⏸", "blocked": "⛔"}


def user_line(user: AdminUserView) -> str:
    name = safe(user.name, 64) if user.name else "<i>no name</i>"
    handle = f" @{safe(user.username, 64)}" if user.username and user.username != user.name else ""
    admin = " · admin" if user.is_admin else ""
    pairs = f"{user.pairs} pair{'s' if user.pairs != 1 else ''}"
    account = safe(user.account, 80) if user.account else "no account"
    equity = f" · equity {money(user.equity)}" if user.equity is not None else ""
    return (
        f"{_MARKS.get(user.status, '•')} {code(user.telegram_id)} {name}{handle} · {safe(user.mode)} · "
        f"{safe(user.status)}{admin} · {pairs} · {account}{equity}"
    )


def stats_text(stats: AdminStats) -> str:
    pairs = ", ".join(f"{safe(status)} {count}" for status, count in stats.pairs) or "none"
    if stats.engines_loaded is None:
        engines = "not running in this process"
    else:
        engines = f"{stats.engines_loaded} loaded, {stats.engines_trading} trading"
    return "\n".join(
        [
            "<b>Quorum stats</b>",
            f"Users: {stats.users_total} (active {stats.users_active}, paused {stats.users_paused}, blocked "
            f"{stats.users_blocked})",
            f"Pairs: {pairs}",
            f"Open positions: {stats.open_positions}",
            f"Trades today (UTC): {stats.trades_today} opened, {stats.closed_today} closed",
            f"Alerts waiting for Telegram: {stats.alerts_waiting}",
            f"Engines: {engines}",
        ]
    )


def status_text(changed: UserStatusChanged) -> str:
    who = f"{code(changed.telegram_id)}" + (f" ({safe(changed.name, 64)})" if changed.name else "")
    pairs = ", ".join(safe(symbol) for symbol in changed.pairs)
    if changed.status == "paused":
        head = f"⏸ User {who} is paused." if changed.previous != "paused" else f"⏸ User {who} was already paused."
        lines = [head, f"Paused: {pairs}." if pairs else "No pair needed pausing."]
        if changed.reason:
            lines.append(f"Reason: {safe(changed.reason)}")
    else:
        head = f"▶️ User {who} is active again." if changed.previous != "active" else f"▶️ User {who} was active."
        lines = [head, f"Resumed: {pairs}." if pairs else "No pair was paused by the operator."]
    if changed.unchanged:
        lines.append(f"Left as they were: {', '.join(safe(symbol) for symbol in changed.unchanged)}.")
    lines.append("They were told in their chat." if changed.told else "Nothing changed, so they were not told.")
    return "\n".join(lines)


class AdminCommands:
    def __init__(self, service: QuorumService) -> None:
        self.service = service

    def register(self, router: Router) -> None:
        for command in (
            Command("users", "/users [page]", "Admin: every user, their mode, status, pairs and equity", self.users,
                    0, 1, admin=True, menu=False),
            Command("stats", "/stats", "Admin: users, pairs, positions, trades today, engines", self.stats,
                    admin=True, menu=False),
            Command("pauseuser", "/pauseuser <telegram id> [reason]", "Admin: pause every pair of a user",
                    self.pauseuser, 1, None, admin=True, menu=False),
            Command("resumeuser", "/resumeuser <telegram id>", "Admin: resume the pairs the operator paused",
                    self.resumeuser, 1, 1, admin=True, menu=False),
            Command("broadcast", "/broadcast <text...>", "Admin: send a message to every user who is not blocked",
                    self.broadcast, 1, None, admin=True, menu=False),
        ):  # fmt: skip
            router.command(command)
        router.button("users", self.users_pressed)

    async def users(self, actor: Actor, args: list[str]) -> Answer:
        return await self._page(actor, args[0] if args else 1)

    async def users_pressed(self, actor: Actor, args: list[str]) -> Answer:
        (page,) = pressed(actor, args, 1)
        if not actor.is_admin:
            raise ButtonRefused(STALE)
        return await self._page(actor, whole(page), edit=True)

    async def _page(self, actor: Actor, page: str | int, edit: bool = False) -> Reply:
        found = await self.service.admin.users(actor.telegram_id, page, USERS_PER_PAGE)
        lines = [f"<b>Users</b> · page {found.page} of {found.pages} ({found.total} in all)"]
        lines += [user_line(user) for user in found.users] or ["This page is past the last one."]
        row: list[Button] = []
        if found.page > 1:
            row.append(button("◀️ Previous", "users", actor, min(found.page - 1, found.pages)))
        if found.page < found.pages:
            row.append(button("Next ▶️", "users", actor, found.page + 1))
        return Reply("\n".join(lines), (tuple(row),) if row else (), edit=edit)

    async def stats(self, actor: Actor, args: list[str]) -> Answer:
        return Reply(stats_text(await self.service.admin.stats(actor.telegram_id)))

    async def pauseuser(self, actor: Actor, args: list[str]) -> Answer:
        reason = " ".join(args[1:]) or None
        changed = await self.service.admin.set_user_status(actor.telegram_id, args[0], "paused", reason)
        return Reply(status_text(changed))

    async def resumeuser(self, actor: Actor, args: list[str]) -> Answer:
        changed = await self.service.admin.set_user_status(actor.telegram_id, args[0], "active")
        return Reply(status_text(changed))

    async def broadcast(self, actor: Actor, args: list[str]) -> Answer:
        count = await self.service.admin.broadcast(actor.telegram_id, " ".join(args))
        users = f"{count} user{'s' if count != 1 else ''}"
        return Reply(f"📣 Queued for {bold(users)}; the alert sender delivers it to each of them shortly.")
