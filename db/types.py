"""Column types shared by the models."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# How SQLAlchemy's SQLite DATETIME stores a value; the stored text sorts as the time does.
_SQLITE_STORED = "%04d-%02d-%02d %02d:%02d:%02d.%06d"
# Rows written or read together mostly share their moments (created and updated now, due at
# the Monday's 08:00): each is turned into text, or back, once.
_REMEMBERED = 2048


@lru_cache(maxsize=_REMEMBERED)
def _sqlite_text(u: datetime) -> str:
    """The stored text of a UTC datetime. Remembered by the UTC value, never by a local one:
    the two 02:30s of the night the clocks go back compare equal in their own zone."""
    return _SQLITE_STORED % (u.year, u.month, u.day, u.hour, u.minute, u.second, u.microsecond)


@lru_cache(maxsize=_REMEMBERED)
def _sqlite_moment(text: str) -> datetime:
    """The aware UTC datetime of a stored text."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend.

    SQLite has no time zones and hands back naive values; reading those as local time is a
    classic bug, so naive values never leave this type: they are written as UTC and read back
    with UTC attached.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    # On SQLite, each value is turned into its stored text, or back, in one step: through
    # `process_bind_param` and DATETIME's own processor it cost about three times as much,
    # and planning writes five of them in each of some fifty rows per pair. The text is
    # DATETIME's own, so rows written either way compare and sort alike.
    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def stored(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a UTC column")
            return _sqlite_text(value.astimezone(UTC))

        return stored

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def read(value: str | None) -> datetime | None:
            return None if value is None else _sqlite_moment(value)

        return read

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
