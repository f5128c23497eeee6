"""Typed access to what a bulk statement reports."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result


def rowcount(result: Result[Any]) -> int:
    """Rows matched by an UPDATE or DELETE: `session.execute` is typed as returning a plain Result, but for
    those statements it is always a CursorResult, the only kind that counts rows."""
    return cast(CursorResult[Any], result).rowcount
