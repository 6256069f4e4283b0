"""The database schema: the only source of truth for every exchange."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from db.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLE_TEACHER = "teacher"
ROLE_BEGELEIDER = "begeleider"
ROLES = (ROLE_TEACHER, ROLE_BEGELEIDER)
SIDES = ("A", "B")

STATUS_ACTIVE = "active"
STATUS_ARCHIVED = "archived"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    """A Telegram user who has talked to the bot."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    display_name: Mapped[str] = mapped_column(String(200))
    username: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(2))
    is_coordinator: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    blocked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # Failed invite tokens, counted in a sliding window so guessing gets slower.
    bad_invite_count: Mapped[int] = mapped_column(Integer, default=0)
    bad_invite_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    invite_locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user")


class School(Base):
    __tablename__ = "schools"
    __table_args__ = (UniqueConstraint("city", "name", name="uq_schools_city_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(300))


class Exchange(Base):
    """A pair of classes of two schools running one programme."""

    __tablename__ = "exchanges"
    __table_args__ = (CheckConstraint("status IN ('active', 'archived')", name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_key: Mapped[str] = mapped_column(String(50))
    city: Mapped[str] = mapped_column(String(100))
    start_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=STATUS_ACTIVE)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    sides: Mapped[list[ExchangeSide]] = relationship(
        back_populates="exchange", order_by="ExchangeSide.side", cascade="all, delete-orphan"
    )
    phases: Mapped[list[ExchangePhase]] = relationship(
        back_populates="exchange", order_by="ExchangePhase.starts_on", cascade="all, delete-orphan"
    )
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="exchange", cascade="all, delete-orphan"
    )


class ExchangeSide(Base):
    """One school's class in an exchange: side A or B."""

    __tablename__ = "exchange_sides"
    __table_args__ = (
        UniqueConstraint("exchange_id", "side", name="uq_exchange_sides_exchange_side"),
        CheckConstraint("side IN ('A', 'B')", name="side"),
        CheckConstraint("class_size > 0 AND class_size <= 60", name="class_size"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exchange_id: Mapped[int] = mapped_column(ForeignKey("exchanges.id", ondelete="CASCADE"))
    side: Mapped[str] = mapped_column(String(1))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    class_name: Mapped[str] = mapped_column(String(50))
    class_size: Mapped[int] = mapped_column(Integer)

    exchange: Mapped[Exchange] = relationship(back_populates="sides")
    school: Mapped[School] = relationship(lazy="joined")


class ExchangePhase(Base):
    """The dates of one phase of one exchange (planned from the template, later agreed)."""

    __tablename__ = "exchange_phases"
    __table_args__ = (
        UniqueConstraint("exchange_id", "phase_key", name="uq_exchange_phases_exchange_phase"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exchange_id: Mapped[int] = mapped_column(ForeignKey("exchanges.id", ondelete="CASCADE"))
    phase_key: Mapped[str] = mapped_column(String(50))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    start_time: Mapped[dt.time | None] = mapped_column(Time)
    host: Mapped[str] = mapped_column(String(10))
    agreed: Mapped[bool] = mapped_column(Boolean, default=False)

    exchange: Mapped[Exchange] = relationship(back_populates="phases")


class Membership(Base):
    """A user's role in one exchange (teacher of a side, or begeleider)."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint(
            "user_id", "exchange_id", "role", name="uq_memberships_user_exchange_role"
        ),
        CheckConstraint("role IN ('teacher', 'begeleider')", name="role"),
        CheckConstraint("side IS NULL OR side IN ('A', 'B')", name="side"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    exchange_id: Mapped[int] = mapped_column(
        ForeignKey("exchanges.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20))
    side: Mapped[str | None] = mapped_column(String(1))
    invite_id: Mapped[int | None] = mapped_column(ForeignKey("invites.id", ondelete="SET NULL"))
    joined_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="memberships")
    exchange: Mapped[Exchange] = relationship(back_populates="memberships")


class Invite(Base):
    """A deep-link invitation; only the SHA-256 of its token is kept."""

    __tablename__ = "invites"
    __table_args__ = (
        CheckConstraint("role IN ('teacher', 'begeleider')", name="role"),
        CheckConstraint("uses >= 0 AND uses <= max_uses", name="uses"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exchange_id: Mapped[int] = mapped_column(
        ForeignKey("exchanges.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20))
    side: Mapped[str | None] = mapped_column(String(1))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    max_uses: Mapped[int] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Dialog(Base):
    """A multi-step conversation in progress, kept here so a restart does not lose it."""

    __tablename__ = "dialogs"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    step: Mapped[str] = mapped_column(String(30))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Bumped on every step, so a stale button from an earlier step is recognised.
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


__all__ = [
    "Base",
    "Dialog",
    "Exchange",
    "ExchangePhase",
    "ExchangeSide",
    "Invite",
    "Membership",
    "School",
    "User",
]
