"""`quorum run --replay` as a new user would try it from the README, against the fake Bot API server: the real
console script in a subprocess, the shipped candles X times faster than real time. /start, /connect paper 10000,
/addpair BTC/USDT 1000, and trade alerts arrive; SIGTERM stops it gracefully and a restart resumes the pair."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from adapters.exchange.candle_file import shipped_candle_file
from tests.fakes.telegram_api import FakeTelegram
from tests.local_http import free_port
from tests.quorum_process import kill_quorum, quorum_env, start_quorum, stop_quorum

ALERT_TITLES = ("Position opened", "Position closed", "Stop loss hit", "Take profit hit")


async def _start(
    telegram: FakeTelegram, database: Path, log: Path, speed: int = 3600 * 36, extra_env: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    env = quorum_env(
        f"sqlite+aiosqlite:///{database}", telegram=True, TELEGRAM_BOT_TOKEN=telegram.token,
        TELEGRAM_API_BASE_URL=telegram.base_url, **(extra_env or {}),
    )  # fmt: skip
    return await start_quorum(["--replay", str(shipped_candle_file()), "--speed", str(speed)], env, log)


@pytest.mark.slow
async def test_quorum_run_when_a_new_user_follows_the_readme_then_trade_alerts_arrive(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    database, log = tmp_path / "quorum.db", tmp_path / "quorum.log"
    process = await _start(telegram, database, log)
    try:
        await telegram.wait_for_call("getUpdates", timeout=60)  # the bot is polling: Quorum is up
        ann = telegram.user(4242, "Ann", username="ann")
        for command in ("/start", "/connect paper 10000", "/addpair BTC/USDT 1000"):
            await telegram.send_text(ann, command)
            [reply] = await telegram.wait_for_reply(ann, timeout=30)
            assert reply.text, command
        assert "BTC/USDT" in reply.text
        await telegram.wait_until(
            lambda: any(t in (m.text or "") for m in telegram.sent(ann) for t in ALERT_TITLES),
            timeout=120, what="a trade alert",
        )  # fmt: skip
        seen = len(telegram.sent(ann))
        await telegram.send_text(ann, "/chart BTC/USDT")
        await telegram.wait_until(lambda: any(m.photo for m in telegram.sent(ann)[seen:]), timeout=60, what="/chart")
        assert await stop_quorum(process) == 0, log.read_text()[-3000:]
    finally:
        await kill_quorum(process)

    polls = telegram.calls["getUpdates"]
    restarted = await _start(telegram, database, log)  # the pair resumes from the database
    try:
        await telegram.wait_for_call("getUpdates", count=polls + 1, timeout=60)
        seen = len(telegram.sent(ann))
        await telegram.send_text(ann, "/pairs")
        await telegram.wait_until(
            lambda: any("Your pairs" in (m.text or "") for m in telegram.sent(ann)[seen:]), timeout=30, what="/pairs"
        )
        [pairs] = [m for m in telegram.sent(ann)[seen:] if "Your pairs" in (m.text or "")]
        assert "BTC/USDT" in pairs.text and "1,000" in pairs.text.replace("1000", "1,000")
        assert await stop_quorum(restarted) == 0, log.read_text()[-3000:]
    finally:
        await kill_quorum(restarted)


@pytest.mark.slow
async def test_quorum_run_when_two_users_trade_through_faults_then_alerts_reach_only_their_owner_and_none_is_lost(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    """Two users over Telegram; Ann's breaker trips on her first loss and she resumes it with the button; Telegram
    answers 502 for a while in the middle; every alert the outbox holds for a user arrived in that user's chat,
    once, and nowhere else."""
    import sqlite3

    database, log = tmp_path / "quorum.db", tmp_path / "quorum.log"
    process = await _start(telegram, database, log, speed=3600 * 6)  # a 7-day breaker stays open ~28 s
    ann, ben = telegram.user(5151, "Ann"), telegram.user(5252, "Ben")
    try:
        await telegram.wait_for_call("getUpdates", timeout=60)
        for user, commands in (
            (ann, ("/start", "/connect paper 10000", "/settings breaker_max_consecutive_losses 1",
                   "/settings breaker_cooldown_minutes 10080", "/addpair BTC/USDT 1000")),
            (ben, ("/start", "/connect paper 20000", "/addpair btcusdt 3000 2")),
        ):  # fmt: skip
            for command in commands:
                await telegram.send_text(user, command)
                await telegram.wait_for_reply(user, timeout=30)
        telegram.fail("sendMessage", times=6, status=502)  # Telegram down for a while: alerts wait, none lost
        await telegram.wait_until(
            lambda: any(m.text.startswith("⛔ Circuit breaker tripped") for m in telegram.sent(ann) if m.text),
            timeout=300, what="Ann's breaker alert",
        )  # fmt: skip
        seen = len(telegram.sent(ann))
        await telegram.send_text(ann, "/resume")
        await telegram.wait_until(lambda: any(m.buttons() for m in telegram.sent(ann)[seen:]), timeout=30)
        [preview] = [m for m in telegram.sent(ann)[seen:] if m.buttons()]
        assert "losing" in preview.text and "reopen" in preview.text.lower()
        await telegram.press_button(ann, preview, preview.button_data("Resume"))
        await telegram.wait_until(
            lambda: "Circuit breaker reset" in (telegram.message(ann, preview.message_id).text or ""),
            timeout=30, what="the resume confirmation",
        )  # fmt: skip
        await telegram.wait_until(  # trading restarted: Ann opens a position again
            lambda: any(
                m.message_id > preview.message_id and (m.text or "").startswith("📈 Position opened")
                for m in telegram.sent(ann)
            ),
            timeout=180, what="a new position after the resume",
        )  # fmt: skip
        assert await stop_quorum(process) == 0, log.read_text()[-3000:]
    finally:
        await kill_quorum(process)

    def outbox() -> list[tuple[int, int, str, bool, bool]]:
        with sqlite3.connect(database) as db:
            return db.execute(
                "SELECT o.id, u.telegram_id, o.text, o.sent_at IS NOT NULL, o.dropped FROM alert_outbox o "
                "JOIN users u ON u.id = o.user_id ORDER BY o.id"
            ).fetchall()

    rows = outbox()
    assert rows and not any(dropped for *_, dropped in rows), "an alert was given up on"
    waiting = {row[0] for row in rows if not row[3]}  # queued as SIGTERM came: delivered by the next start
    if waiting:
        restarted = await _start(telegram, database, log, speed=1)  # a slow clock: few new alerts
        try:
            for _ in range(600):
                if all(row[3] for row in outbox() if row[0] in waiting):
                    break
                await asyncio.sleep(0.1)  # the database of another process: nothing to wait on but time
            assert await stop_quorum(restarted) == 0, log.read_text()[-3000:]
        finally:
            await kill_quorum(restarted)
        rows = outbox()
        assert all(row[3] for row in rows if row[0] in waiting), "an alert queued at shutdown was lost"
    sent = [row for row in rows if row[3]]
    for user in (ann, ben):
        # delivery is at least once: a SIGTERM between Telegram's answer and the mark repeats that one alert
        expected = {_plain(text) for _, tid, text, _, _ in sent if tid == user.id}
        delivered = {m.text or "" for m in telegram.sent(user) if _is_alert(m.text or "")}
        assert delivered == expected, f"{user.first_name}: alerts in the chat differ from the outbox"
    assert {tid for _, tid, *_ in sent} == {ann.id, ben.id}
    with sqlite3.connect(database) as db:  # a daily summary per user per simulated day, each day once
        summaries = db.execute(
            "SELECT u.telegram_id, o.text FROM alert_outbox o JOIN users u ON u.id = o.user_id "
            "WHERE o.kind = 'daily_summary'"
        ).fetchall()
        spans = dict(
            db.execute(
                "SELECT u.telegram_id, MAX(e.at) > datetime(MIN(e.at), '+1 day', 'start of day', '+6 hours') "
                "FROM equity_snapshots e JOIN users u ON u.id = e.user_id GROUP BY u.telegram_id"
            ).fetchall()
        )
    for user in (ann, ben):
        days = [text.split("\n")[1].split(":", 2)[0] for tid, text in summaries if tid == user.id]
        assert len(days) == len(set(days)), f"{user.first_name}: a day summed up twice: {days}"
        assert all(day.startswith("24 h to ") and day.endswith("00") for day in days)
        if spans.get(user.id):  # the books ran well past a midnight after the first record: that day was sent
            assert days, f"{user.first_name}: no daily summary"


def _is_alert(text: str) -> bool:
    """Alerts open with their title and symbol (bot/alerts.py render): "📈 Position opened · BTC/USDT"."""
    from bot.alerts import TITLES

    return text.split("\n", 1)[0].split(" · ", 1)[0] in set(TITLES.values())


def _plain(html: str) -> str:
    from bot.replies import html_to_text

    return html_to_text(html)


@pytest.mark.slow
async def test_quorum_run_when_a_webhook_url_is_set_then_updates_arrive_by_webhook_with_the_secret(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    port = free_port()  # for the bot's webhook listener
    database, log = tmp_path / "quorum.db", tmp_path / "quorum.log"
    env_extra = {"TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/hook", "TELEGRAM_WEBHOOK_PORT": str(port)}
    process = await _start(telegram, database, log, extra_env=env_extra)
    try:
        await telegram.wait_until(lambda: bool(telegram.webhook_url), timeout=60, what="setWebhook")
        assert telegram.webhook_url.endswith("/telegram/hook") and len(telegram.webhook_secret) >= 32
        ann = telegram.user(6161, "Ann")
        await telegram.send_text(ann, "/start")
        [reply] = await telegram.wait_for_reply(ann, timeout=30)
        assert reply.text and telegram.webhook_deliveries >= 1
        assert telegram.calls["getUpdates"] == 0  # no polling beside the webhook
        assert await stop_quorum(process) == 0, log.read_text()[-3000:]
    finally:
        await kill_quorum(process)
