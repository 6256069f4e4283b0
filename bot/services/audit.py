"""The audit log: who changed what about an exchange, and when.

Every change a coordinator (or teacher) makes to an exchange's plan or people is written
here by the service that makes it, in the same transaction, so the log and the change
commit together. `details` holds plain JSON values the catalogue's [audit] texts need.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEntry

# What happened: each is a key of the catalogue's [audit] section.
EXCHANGE_CREATED = "exchange_created"
EXCHANGE_EDITED = "exchange_edited"  # field, old, new
CLASS_SIZE = "class_size"  # side, old, new
SCHOOL_ADDRESS = "school_address"  # school, address
DATE_SET = "date_set"  # phase, day, time, old_day
DATE_AGREED = "date_agreed"  # phase, day, time
ARCHIVED = "archived"
INVITE_MADE = "invite_made"  # role, side
INVITE_REVOKED = "invite_revoked"  # role, side
MEMBER_JOINED = "member_joined"  # name, role, side
MEMBER_REMOVED = "member_removed"  # name, role, side
BEGELEIDER_DAYS = "begeleider_days"  # name, days (phase keys; [] = none, null = every day)
GROUP_LINKED = "group_linked"  # title
GROUP_UNLINKED = "group_unlinked"  # title, why ("removed" | "command")

ACTIONS = (
    EXCHANGE_CREATED,
    EXCHANGE_EDITED,
    CLASS_SIZE,
    SCHOOL_ADDRESS,
    DATE_SET,
    DATE_AGREED,
    ARCHIVED,
    INVITE_MADE,
    INVITE_REVOKED,
    MEMBER_JOINED,
    MEMBER_REMOVED,
    BEGELEIDER_DAYS,
    GROUP_LINKED,
    GROUP_UNLINKED,
)


def record(
    session: AsyncSession,
    *,
    exchange_id: int | None,
    user_id: int | None,
    action: str,
    now: datetime,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Add one entry to the log (flushed with the rest of the unit of work)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    entry = AuditEntry(
        exchange_id=exchange_id, user_id=user_id, action=action, details=dict(details or {}), at=now
    )
    session.add(entry)
    return entry


async def entries(
    session: AsyncSession, exchange_id: int, *, limit: int = 30, before_id: int | None = None
) -> Sequence[AuditEntry]:
    """The exchange's log, newest first, `limit` at a time (older ones with `before_id`)."""
    query = select(AuditEntry).where(AuditEntry.exchange_id == exchange_id)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    rows = await session.scalars(
        query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    )
    return list(rows)
