"""/settings (risk limits as text commands, alerts and the leaderboard as buttons too) and /help.

Every change goes through the service, which checks a risk value with the risk manager's own rules; the
buttons carry the alert kind and the wanted state, so a stale button sets what it says and nothing else.
"""

from __future__ import annotations

from bot.alerts import TITLES
from bot.render import STALE, ButtonRefused, bold, button, code, pressed, safe
from bot.replies import Button, Reply
from bot.router import Actor, Answer, Command, Router
from engine.events import EventKind
from engine.service import QuorumService
from engine.service_errors import InvalidInput
from engine.service_prefs import ALWAYS_SENT
from engine.service_settings import RISK_KEYS, SettingsView

SETTINGS_USAGE = (
    "/settings · /settings <key> <value|default> [SYMBOL] · /settings alert <kind|all> on|off · "
    "/settings leaderboard on|off · /settings summary <hour UTC>"
)
_ON = {"on": True, "yes": True, "1": True, "off": False, "no": False, "0": False}
_RESET = {"default", "reset", "clear"}


def alert_title(kind: EventKind) -> str:
    title = TITLES.get(kind, kind.value)
    return title.split(" ", 1)[1] if " " in title else title


def settings_text(view: SettingsView) -> str:
    lines = ["<b>Settings</b>", "<b>Risk limits</b> (✏️ yours; /settings &lt;key&gt; explains one):"]
    for setting in view.risk:
        mine = f" ✏️ (default {safe(setting.default)})" if setting.source == "you" else ""
        lines.append(f"{code(setting.key)} = {safe(setting.value)}{mine}")
    for pair in view.pairs:
        own = ", ".join(f"{safe(s.key)} = {safe(s.value)}" for s in pair.overrides)
        lines.append(f"{bold(pair.symbol)} only: {own}")
    lines.append("Change one with /settings &lt;key&gt; &lt;value&gt; [SYMBOL], reset it with /settings &lt;key&gt; "
                 "default.")  # fmt: skip
    off = [alert_title(kind) for kind, on in view.alerts if not on]
    lines.append("<b>Alerts</b>: " + (f"off for {safe(', '.join(off))}." if off else "all on.") + " Tap to switch; "
                 "breaker trips, liquidations and unconfirmed orders are always sent.")  # fmt: skip
    lines.append(f"<b>Leaderboard</b> (/top): {'you are on it' if view.leaderboard else 'you are not on it'}.")
    lines.append(f"<b>Daily summary</b>: at {view.summary_hour:02d}:00 UTC (/settings summary &lt;hour&gt;).")
    return "\n".join(lines)


def settings_buttons(actor: Actor, view: SettingsView) -> tuple[tuple[Button, ...], ...]:
    toggles = [
        button(f"{'✅' if on else '❌'} {alert_title(kind)}", "alert", actor, kind.value, 0 if on else 1)
        for kind, on in view.alerts
        if kind not in ALWAYS_SENT
    ]
    rows = [tuple(toggles[i : i + 2]) for i in range(0, len(toggles), 2)]
    label = "Leave the leaderboard" if view.leaderboard else "Join the leaderboard"
    rows.append((button(label, "board", actor, 0 if view.leaderboard else 1),))
    return tuple(rows)


def _switch(word: str) -> bool:
    state = _ON.get(word.strip().lower())
    if state is None:
        raise InvalidInput(f"Write on or off (got {safe(word, 24)}).")
    return state


class SettingsCommands:
    def __init__(self, service: QuorumService) -> None:
        self.service = service

    def register(self, router: Router) -> None:
        router.command(Command("settings", SETTINGS_USAGE, "Risk limits and which alerts you receive", self.settings,
                               0, 3))  # fmt: skip
        router.button("alert", self.alert_pressed)
        router.button("board", self.board_pressed)

    async def settings(self, actor: Actor, args: list[str]) -> Answer:
        if not args:
            return await self._overview(actor)
        first = args[0].strip().lower()
        if first in ("alert", "alerts"):
            if len(args) != 3:
                kinds = ", ".join(kind.value for kind in EventKind if kind not in ALWAYS_SENT)
                return Reply(f"Usage: /settings alert &lt;kind|all&gt; on|off. Kinds: {safe(kinds, 1000)}.")
            await self.service.settings.set_alert(actor.telegram_id, args[1], _switch(args[2]))
            return Reply(f"Alerts: {safe(args[1], 24)} switched {'on' if _switch(args[2]) else 'off'}. /settings "
                         "shows them all.")  # fmt: skip
        if first == "leaderboard":
            if len(args) != 2:
                return Reply("Usage: /settings leaderboard on|off")
            board = await self.service.settings.set_leaderboard(actor.telegram_id, _switch(args[1]))
            return Reply("You are on the leaderboard (/top), by name and P&amp;L % only." if board.opted_in else
                         "You are off the leaderboard.")  # fmt: skip
        if first == "summary":
            if len(args) != 2:
                return Reply("Usage: /settings summary &lt;hour&gt;, a whole hour from 0 to 23 (UTC).")
            hour = (await self.service.settings.set_summary_hour(actor.telegram_id, args[1])).hour
            return Reply(f"Your daily summary now comes at {hour:02d}:00 UTC: the 24 hours before it.")
        if len(args) == 1:
            return await self._explain(actor, first)
        pair = args[2] if len(args) == 3 else None
        tid = actor.telegram_id
        if args[1].strip().lower() in _RESET:
            changed = await self.service.settings.clear_risk(tid, args[0], pair)
        else:
            changed = await self.service.settings.set_risk(tid, args[0], args[1], pair)
        scope = f"for {bold(changed.symbol)}" if changed.symbol else "for all your pairs"
        value = "back to the default" if changed.value is None else f"set to {code(changed.value)}"
        return Reply(f"✅ {code(changed.key)} {value} {scope}.\n{safe(changed.description)}")

    async def _overview(self, actor: Actor, edit: bool = False) -> Reply:
        view = await self.service.settings.show(actor.telegram_id)
        return Reply(settings_text(view), settings_buttons(actor, view), edit=edit)

    async def _explain(self, actor: Actor, key: str) -> Reply:
        if key not in RISK_KEYS:
            known = ", ".join(RISK_KEYS)
            return Reply(f"Unknown setting {code(key, 40)}. Risk settings: {safe(known, 1000)}.\n"
                         f"Usage: {safe(SETTINGS_USAGE)}")  # fmt: skip
        view = await self.service.settings.show(actor.telegram_id)
        setting = next(s for s in view.risk if s.key == key)
        return Reply(
            f"{safe(setting.description)}\nNow {code(setting.value)} (default {code(setting.default)}). Change it "
            f"with /settings {safe(key)} &lt;value&gt; [SYMBOL], or /settings {safe(key)} default."
        )

    async def alert_pressed(self, actor: Actor, args: list[str]) -> Answer:
        kind, wanted = pressed(actor, args, 2)
        if wanted not in ("0", "1") or kind not in {k.value for k in EventKind}:
            raise ButtonRefused(STALE)
        await self.service.settings.set_alert(actor.telegram_id, kind, wanted == "1")
        return await self._overview(actor, edit=True)

    async def board_pressed(self, actor: Actor, args: list[str]) -> Answer:
        (wanted,) = pressed(actor, args, 1)
        if wanted not in ("0", "1"):
            raise ButtonRefused(STALE)
        await self.service.settings.set_leaderboard(actor.telegram_id, wanted == "1")
        return await self._overview(actor, edit=True)


def help_command(router: Router) -> Command:
    async def show_help(actor: Actor, args: list[str]) -> Answer:
        visible = [c for c in router.commands.values() if actor.is_admin or not c.admin]
        if args:
            name = args[0].strip().lstrip("/").lower()
            found = next((c for c in visible if c.name == name), None)
            if found is None:
                return Reply(f"There is no /{safe(name, 32)} command. /help lists them all.")
            return Reply(f"{safe(found.usage)}\n{safe(found.summary)}")
        lines = ["<b>Quorum commands</b>"]
        lines += [f"{safe(c.usage)} — {safe(c.summary)}" for c in visible]
        lines.append("Symbols can be written btc/usdt, BTCUSDT or BTC-USDT.")
        return Reply("\n".join(lines))

    return Command("help", "/help [command]", "The commands and how to use them", show_help, 0, 1)
