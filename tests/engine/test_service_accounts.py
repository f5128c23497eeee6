"""The service's account calls on SQLite and PostgreSQL: register, paper and live accounts (the live ones checked
against the Binance emulator through the real CCXT client), disconnect and paper/live mode."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import pytest
from loguru import logger
from sqlalchemy import select

from db.database import Database
from db.encryption import SecretBox, generate_master_key
from db.models import AuditLog, ExchangeAccount, User, UserPair
from db.repositories import AccountRepository
from engine.service_accounts import ConfirmationNeeded, ModeSet
from engine.service_errors import (
    AlreadyConnected,
    CredentialsRejected,
    InvalidInput,
    MasterKeyRequired,
    NotRegistered,
    UnknownExchange,
    UnknownSymbol,
)
from engine.service_gateway import CcxtGateway
from tests.engine.service_world import BTC, SETTINGS, World
from tests.exchange.binance_emulator import BinanceEmulator
from tests.exchange.conftest import TEST_KEY, TEST_SECRET


@pytest.fixture
async def world(database: Database) -> AsyncIterator[World]:
    built = World.build(database)
    yield built
    await built.close()


@pytest.fixture
async def live_world(database: Database, emulator: BinanceEmulator) -> AsyncIterator[World]:
    """A master key, and live accounts on the Binance emulator (no engines: the admin-CLI shape)."""
    box = SecretBox.from_encoded(generate_master_key())
    built = World.build(database, box=box, engines=False, live=CcxtGateway(SETTINGS, url_override=emulator.base_url))
    yield built
    await built.close()


async def _audit(database: Database, telegram_id: int) -> list[AuditLog]:
    async with database.transaction() as session:
        user = await session.scalar(select(User).where(User.telegram_id == telegram_id))
        assert user is not None
        return list(await session.scalars(select(AuditLog).where(AuditLog.user_id == user.id).order_by(AuditLog.id)))


async def _accounts(database: Database, telegram_id: int) -> list[ExchangeAccount]:
    async with database.transaction() as session:
        user = await session.scalar(select(User).where(User.telegram_id == telegram_id))
        return [] if user is None else await AccountRepository(session).list_for_user(user.id)


async def test_register_when_called_twice_then_one_user_and_one_audit_row(
    world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    first = await world.service.accounts.register(tid, "Alice")
    again = await world.service.accounts.register(tid, "Alice")

    assert first.created and not again.created
    assert again.user == first.user
    assert [row.action for row in await _audit(world.database, tid)] == ["register"]


async def test_register_when_name_has_control_characters_then_stored_clean(
    world: World, telegram_id: Callable[[], int]
) -> None:
    registered = await world.service.accounts.register(telegram_id(), "  Al\x00ice\n\t <b>  " + "x" * 100)

    assert registered.user.name is not None and registered.user.name.startswith("Alice <b> x")
    assert len(registered.user.name) == 64 and "\x00" not in registered.user.name


async def test_call_when_user_not_registered_then_refused_with_start_hint(
    world: World, telegram_id: Callable[[], int]
) -> None:
    with pytest.raises(NotRegistered, match=r"Send /start first"):
        await world.service.pairs.add(telegram_id(), BTC, "100")


@pytest.mark.parametrize("balance", ["-5", "0", "NaN", "inf", "1e999", "ten", "1.123456789", Decimal("NaN")])
async def test_connect_paper_when_balance_invalid_then_refused_and_nothing_stored(
    world: World, telegram_id: Callable[[], int], balance: object
) -> None:
    tid = telegram_id()
    await world.service.accounts.register(tid, "t")

    with pytest.raises(InvalidInput, match="paper balance"):
        await world.service.accounts.connect_paper(tid, balance)
    assert await _accounts(world.database, tid) == []


async def test_connect_paper_when_already_connected_then_refused(world: World, telegram_id: Callable[[], int]) -> None:
    tid = telegram_id()
    await world.trader(tid)

    with pytest.raises(AlreadyConnected, match=r"/disconnect first"):
        await world.service.accounts.connect_paper(tid, "500")
    assert len(await _accounts(world.database, tid)) == 1


async def test_connect_live_when_no_master_key_then_refused_and_nothing_stored(
    world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    await world.service.accounts.register(tid, "t")

    with pytest.raises(MasterKeyRequired, match="QUORUM_MASTER_KEY") as refused:
        await world.service.accounts.connect_live(tid, "binance", TEST_KEY, TEST_SECRET)
    assert TEST_KEY not in str(refused.value) and TEST_SECRET not in str(refused.value)
    assert await _accounts(world.database, tid) == []


async def test_connect_live_when_exchange_misspelt_then_suggests_the_ccxt_id(
    live_world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    await live_world.service.accounts.register(tid, "t")

    with pytest.raises(UnknownExchange, match=r"Did you mean binance"):
        await live_world.service.accounts.connect_live(tid, "binanse", TEST_KEY, TEST_SECRET)


async def test_connect_live_when_keys_valid_then_stored_encrypted_and_never_echoed(
    live_world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    logged: list[str] = []
    sink = logger.add(lambda message: logged.append(str(message)), level="DEBUG")
    try:
        await live_world.service.accounts.register(tid, "t")
        connected = await live_world.service.accounts.connect_live(tid, " binance ", TEST_KEY, TEST_SECRET)
        added = await live_world.service.pairs.add(tid, "btcusdt", "1000", 2)
        status = await live_world.service.reports.status(tid)
        balance = await live_world.service.reports.balance(tid)
    finally:
        logger.remove(sink)

    assert connected.account.exchange == "binance" and not connected.account.paper
    assert ("USDT", Decimal(10000)) in connected.balances
    assert added.pair.symbol == BTC and added.unallotted == Decimal(9000)
    audit = await _audit(live_world.database, tid)
    assert [row.action for row in audit] == ["register", "connect_live", "add_pair"]
    seen = [repr(connected), repr(added), repr(status), repr(balance), *logged, *(repr(r.detail) for r in audit)]
    assert not [text for text in seen if TEST_KEY in text or TEST_SECRET in text]
    async with live_world.database.transaction() as session:
        account = (await AccountRepository(session).list_for_user(audit[0].user_id or 0))[0]
        assert account.api_key_enc is not None and TEST_KEY.encode() not in account.api_key_enc
        assert live_world.service.context.box is not None
        keys = await AccountRepository(session, live_world.service.context.box).credentials(account.user_id, account.id)
        assert keys is not None and (keys.api_key, keys.secret) == (TEST_KEY, TEST_SECRET)


async def test_connect_live_when_secret_wrong_then_refused_and_nothing_stored(
    live_world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    await live_world.service.accounts.register(tid, "t")
    wrong = "wrong-secret-00000000000000000000"

    with pytest.raises(CredentialsRejected, match=r"binance refused the API key") as refused:
        await live_world.service.accounts.connect_live(tid, "binance", TEST_KEY, wrong)
    assert wrong not in refused.value.message and TEST_KEY not in refused.value.message
    assert await _accounts(live_world.database, tid) == []


async def test_add_pair_when_live_symbol_unknown_then_did_you_mean_from_exchange_markets(
    live_world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    await live_world.service.accounts.register(tid, "t")
    await live_world.service.accounts.connect_live(tid, "binance", TEST_KEY, TEST_SECRET)

    with pytest.raises(UnknownSymbol) as refused:
        await live_world.service.pairs.add(tid, "BTC/USDX", "100")
    assert refused.value.message == "Unknown symbol BTC/USDX on binance. Did you mean BTC/USDT?"


async def test_set_mode_when_live_without_master_key_then_refused(world: World, telegram_id: Callable[[], int]) -> None:
    tid = telegram_id()
    await world.trader(tid)

    with pytest.raises(MasterKeyRequired):
        await world.service.accounts.set_mode(tid, "live", confirm=True)
    assert (await world.service.reports.status(tid)).user.mode == "paper"


async def test_set_mode_when_live_without_confirm_then_asks_and_with_confirm_switches(
    live_world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    accounts = live_world.service.accounts
    await accounts.register(tid, "t")
    await accounts.connect_live(tid, "binance", TEST_KEY, TEST_SECRET)

    asked = await accounts.set_mode(tid, "LIVE")
    assert isinstance(asked, ConfirmationNeeded) and "real money on binance" in asked.message
    assert (await live_world.service.reports.status(tid)).user.mode == "paper"
    assert await accounts.set_mode(tid, "live", confirm=True) == ModeSet("live", True)
    assert await accounts.set_mode(tid, "live", confirm=True) == ModeSet("live", False)
    assert [row.detail for row in await _audit(live_world.database, tid) if row.action == "set_mode"] == [
        {"mode": "live"}
    ]


async def test_set_mode_when_mode_unknown_then_refused(world: World, telegram_id: Callable[[], int]) -> None:
    tid = telegram_id()
    await world.trader(tid)

    with pytest.raises(InvalidInput, match="The mode must be paper or live"):
        await world.service.accounts.set_mode(tid, "yolo")


async def test_disconnect_when_no_position_then_pairs_stopped_and_reconnect_allowed(
    world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    await world.trader(tid)
    added = await world.service.pairs.add(tid, BTC, "1000")

    gone = await world.service.accounts.disconnect(tid)
    connected = await world.service.accounts.connect_paper(tid, "2000")

    assert gone.stopped_pairs == (BTC,)
    assert not world.manager.engines
    assert connected.balances == (("USDT", Decimal(2000)),)
    assert await world.service.pairs.show(tid) == ()
    async with world.database.transaction() as session:
        row = await session.get(UserPair, added.pair.id)
        assert row is not None and row.status == "stopped"
