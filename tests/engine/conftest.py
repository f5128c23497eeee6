"""Fixtures of the engine tests: a freshly migrated database of each backend, the Binance emulator."""

from tests.engine.live_support import emulator, fresh_database

__all__ = ["emulator", "fresh_database"]
