"""RecentSlots: the newest slots of each stream, nothing older, and streams apart from each other."""

from __future__ import annotations

import pytest

from domain.recent import RecentSlots


def test_recent_when_a_stream_moves_on_then_its_newest_two_slots_stay_and_older_ones_go() -> None:
    recent: RecentSlots[str] = RecentSlots(keep=2)
    for slot in range(5):
        recent.put("btc", slot, f"btc{slot}")
    assert [recent.get("btc", slot) for slot in range(5)] == [None, None, None, "btc3", "btc4"]
    assert len(recent) == 2


def test_recent_when_a_straggler_puts_an_older_slot_then_the_newest_are_kept() -> None:
    recent: RecentSlots[str] = RecentSlots(keep=2)
    recent.put("btc", 10, "a")
    recent.put("btc", 11, "b")
    recent.put("btc", 9, "late")  # older than both: dropped at once
    assert (recent.get("btc", 9), recent.get("btc", 10), recent.get("btc", 11)) == (None, "a", "b")


def test_recent_when_streams_differ_then_each_keeps_its_own_and_a_slot_is_replaced_in_place() -> None:
    recent: RecentSlots[int] = RecentSlots(keep=1)
    recent.put(("replay", "BTC/USDT"), 1, 1)
    recent.put(("replay", "ETH/USDT"), 7, 2)
    recent.put(("replay", "BTC/USDT"), 1, 3)
    assert recent.get(("replay", "BTC/USDT"), 1) == 3 and recent.get(("replay", "ETH/USDT"), 7) == 2
    assert recent.get(("replay", "ETH/USDT"), 1) is None and len(recent) == 2


def test_recent_when_asked_to_keep_nothing_then_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        RecentSlots(keep=0)


def test_recent_when_a_straggler_slot_lands_between_the_kept_ones_then_the_newest_are_kept_in_order() -> None:
    recent: RecentSlots[str] = RecentSlots(keep=3)
    for slot in (10, 20, 30):
        recent.put("btc", slot, str(slot))
    recent.put("btc", 15, "15")  # between: kept, and the oldest (10) goes
    recent.put("btc", 40, "40")  # the next one drops the oldest again: 15, not 20
    assert [slot for slot in (10, 15, 20, 30, 40) if recent.get("btc", slot) is not None] == [20, 30, 40]
