"""Fixtures of the admin CLI tests: a freshly migrated database of each backend, the Binance emulator."""

from tests.engine.live_support import fresh_database
from tests.exchange.conftest import emulator

__all__ = ["emulator", "fresh_database"]
