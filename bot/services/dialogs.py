"""Multi-step conversations kept in the database, so a restart loses no answer."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Dialog

# A conversation left alone this long is forgotten rather than resumed out of the blue.
DIALOG_TTL = timedelta(hours=24)


async def current(
    session: AsyncSession, chat_id: int, *, now: datetime, lock: bool = False
) -> Dialog | None:
    dialog = await session.get(Dialog, chat_id, with_for_update=lock)
    if dialog is None:
        return None
    if now - dialog.updated_at > DIALOG_TTL:
        await session.delete(dialog)
        await session.flush()
        return None
    return dialog


async def start(
    session: AsyncSession,
    *,
    chat_id: int,
    user_id: int,
    kind: str,
    step: str,
    data: dict[str, Any],
    now: datetime,
) -> Dialog:
    """Begin a conversation, replacing whatever this chat had going."""
    await session.execute(delete(Dialog).where(Dialog.chat_id == chat_id))
    dialog = Dialog(
        chat_id=chat_id, user_id=user_id, kind=kind, step=step, data=data, version=1, updated_at=now
    )
    session.add(dialog)
    await session.flush()
    return dialog


def advance(dialog: Dialog, step: str, now: datetime, **changes: Any) -> None:
    """Move to `step`, storing the answers given so far."""
    # A new dict, so SQLAlchemy sees the JSON column change.
    dialog.data = {**dialog.data, **changes}
    dialog.step = step
    dialog.version += 1
    dialog.updated_at = now


async def finish(session: AsyncSession, chat_id: int) -> bool:
    """End the chat's conversation; True if there was one."""
    result = await session.execute(delete(Dialog).where(Dialog.chat_id == chat_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]
