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
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from bot.domain.names import name_key
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

# Outbox row states. pending → sending → sent, or back to pending to retry, or one of the ends.
OUTBOX_PENDING = "pending"
OUTBOX_SENDING = "sending"
OUTBOX_SENT = "sent"
OUTBOX_FAILED = "failed"
OUTBOX_BLOCKED = "blocked"
OUTBOX_SKIPPED = "skipped"
OUTBOX_CANCELLED = "cancelled"
OUTBOX_STATES = (
    OUTBOX_PENDING,
    OUTBOX_SENDING,
    OUTBOX_SENT,
    OUTBOX_FAILED,
    OUTBOX_BLOCKED,
    OUTBOX_SKIPPED,
    OUTBOX_CANCELLED,
)

PROPOSAL_PENDING = "pending"
PROPOSAL_ACCEPTED = "accepted"
PROPOSAL_DECLINED = "declined"
PROPOSAL_SUPERSEDED = "superseded"


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
    # Where coordinator rights come from: "setting" (COORDINATOR_IDS, follows the setting at
    # every start) or "command" (granted by another coordinator, kept until revoked).
    coordinator_source: Mapped[str | None] = mapped_column(String(10))
    # A phone number for the exchange days, shown to the members of the person's exchanges
    # only while phone_shared_at is set (the person agreed to share it).
    phone: Mapped[str | None] = mapped_column(String(30))
    phone_shared_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # A coordinator's choice: routine notices (joins, agreed dates) wait for their Monday
    # summary instead of arriving one by one. Incidents and alarms always come at once.
    gather_notices: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # A Telegram group linked to an exchange (its id is the group's chat id, below zero): it
    # receives the exchange's day schedules and incident notices through the outbox like a
    # person, but has no memberships and no rights.
    is_group: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    memberships: Mapped[list[Membership]] = relationship(back_populates="user")


class CoordinatorChange(Base):
    """Who gave or took coordinator rights, to whom and when (the setting when by None)."""

    __tablename__ = "coordinator_changes"
    __table_args__ = (CheckConstraint("source IN ('setting', 'command')", name="source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(10))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class School(Base):
    __tablename__ = "schools"
    # One school per name and city as people compare them (bot.domain.names.name_key): the
    # database's own lower() differs between SQLite and PostgreSQL.
    __table_args__ = (
        UniqueConstraint("city_key", "name_key", name="uq_schools_city_key_name_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(300))
    # Filled whenever name or city is set (see _keys); case folding can make a key longer.
    name_key: Mapped[str] = mapped_column(String(400))
    city_key: Mapped[str] = mapped_column(String(200))

    @validates("name", "city")
    def _keys(self, attribute: str, value: str) -> str:
        setattr(self, f"{attribute}_key", name_key(value))
        return value


class Exchange(Base):
    """An exchange: two classes of two schools (the pair, "koppel") running one programme.

    The code says "exchange" for the pair everywhere: tables, services, handlers, texts.
    """

    __tablename__ = "exchanges"
    __table_args__ = (CheckConstraint("status IN ('active', 'archived')", name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_key: Mapped[str] = mapped_column(String(50))
    city: Mapped[str] = mapped_column(String(100))
    # The city as compared (bot.domain.names.name_key), filled whenever city is set.
    city_key: Mapped[str] = mapped_column(String(200), index=True)
    start_date: Mapped[dt.date] = mapped_column(Date)
    # School holidays differ per region of the Netherlands; None while unknown.
    region: Mapped[str | None] = mapped_column(String(10))
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

    @validates("city")
    def _city_key(self, _attribute: str, value: str) -> str:
        self.city_key = name_key(value)
        return value


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
    # Bumped whenever the date or time changes, so calendars update the event they have.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

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
    # The exchange days (phase keys) a begeleider is planned for; None means every day.
    days: Mapped[list[str] | None] = mapped_column(JSON)

    user: Mapped[User] = relationship(back_populates="memberships")
    exchange: Mapped[Exchange] = relationship(back_populates="memberships")


class Invite(Base):
    """A deep-link invitation; only the SHA-256 of its token is kept.

    Role "group" is a code for `/groep <code>`, linking a Telegram group to the exchange.
    """

    __tablename__ = "invites"
    __table_args__ = (
        CheckConstraint("role IN ('teacher', 'begeleider', 'group')", name="role"),
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


class OutboxMessage(Base):
    """One push the bot will make (or made): planned from an exchange's state, sent once."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'blocked', 'skipped', 'cancelled')",
            name="status",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    exchange_id: Mapped[int | None] = mapped_column(
        ForeignKey("exchanges.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(30))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default=OUTBOX_PENDING)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # The latest moment the push still makes sense; later it is skipped (catch-up rules).
    not_after: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # When the dispatcher may next try: the due time, later for retries and quiet hours.
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # Whether the message carrying the buttons has its text as a photo's caption (editing
    # it then needs editMessageCaption); None until sent.
    sent_as_caption: Mapped[bool | None] = mapped_column(Boolean)
    # Who the message is from (a proposal's teacher, an incident's reporter): they are told
    # when it cannot be delivered. None for planned pushes.
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The broadcast this row delivers (kind "broadcast"), for its delivery report.
    broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="SET NULL"), index=True
    )
    # Sends whose outcome was unknown (a read timeout, a dropped connection): each may have
    # delivered the message, so a retry after one can show it twice.
    uncertain_sends: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ChecklistTick(Base):
    """A ticked checklist item, held by whoever the item is for.

    `holder` is "pair" for an item both classes tick once, "A" or "B" for an item of one class
    (both its teachers), "user:<id>" for an item each person ticks for themselves.
    """

    __tablename__ = "checklist_ticks"
    __table_args__ = (
        UniqueConstraint(
            "exchange_id", "holder", "item_key", name="uq_checklist_ticks_exchange_holder_item"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exchange_id: Mapped[int] = mapped_column(ForeignKey("exchanges.id", ondelete="CASCADE"))
    holder: Mapped[str] = mapped_column(String(30))
    item_key: Mapped[str] = mapped_column(String(60))
    done_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    done_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class DateProposal(Base):
    """A date (and start time) one teacher proposed for a day phase; the other side decides."""

    __tablename__ = "date_proposals"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'accepted', 'declined', 'superseded')", name="status"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exchange_id: Mapped[int] = mapped_column(
        ForeignKey("exchanges.id", ondelete="CASCADE"), index=True
    )
    phase_key: Mapped[str] = mapped_column(String(50))
    day: Mapped[dt.date] = mapped_column(Date)
    start_time: Mapped[dt.time | None] = mapped_column(Time)
    proposed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    side: Mapped[str | None] = mapped_column(String(1))
    status: Mapped[str] = mapped_column(String(20), default=PROPOSAL_PENDING)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class SchoolHoliday(Base):
    """A school holiday period of one region (inclusive dates)."""

    __tablename__ = "school_holidays"
    __table_args__ = (
        UniqueConstraint("region", "starts_on", "name", name="uq_school_holidays_region_start"),
        CheckConstraint("region IN ('noord', 'midden', 'zuid')", name="region"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(100))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)


class Absence(Base):
    """A begeleider (or teacher) who said they cannot come on an exchange day."""

    __tablename__ = "absences"
    __table_args__ = (
        UniqueConstraint("exchange_id", "day", "user_id", name="uq_absences_exchange_day_user"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exchange_id: Mapped[int] = mapped_column(
        ForeignKey("exchanges.id", ondelete="CASCADE"), index=True
    )
    phase_key: Mapped[str] = mapped_column(String(50))
    day: Mapped[dt.date] = mapped_column(Date)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class CheckIn(Base):
    """A begeleider (or teacher) present on an exchange day, and their evaluation at check-out."""

    __tablename__ = "checkins"
    __table_args__ = (
        UniqueConstraint("exchange_id", "day", "user_id", name="uq_checkins_exchange_day_user"),
        CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exchange_id: Mapped[int] = mapped_column(
        ForeignKey("exchanges.id", ondelete="CASCADE"), index=True
    )
    phase_key: Mapped[str] = mapped_column(String(50))
    day: Mapped[dt.date] = mapped_column(Date)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    checked_in_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    checked_out_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    rating: Mapped[int | None] = mapped_column(Integer)
    tension: Mapped[bool | None] = mapped_column(Boolean)
    # Free text may mention children; it is purged after the retention period.
    tension_note: Mapped[str | None] = mapped_column(Text)
    remarks: Mapped[str | None] = mapped_column(Text)


class Headcount(Base):
    """How many pupils of one side were present at a moment of an exchange day."""

    __tablename__ = "headcounts"
    __table_args__ = (
        CheckConstraint("count >= 0", name="count"),
        CheckConstraint("side IN ('A', 'B')", name="side"),
        CheckConstraint(
            "drop_answer IS NULL OR drop_answer IN ('home', 'elsewhere', 'missing')",
            name="drop_answer",
        ),
        Index("ix_headcounts_exchange_day", "exchange_id", "day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exchange_id: Mapped[int] = mapped_column(ForeignKey("exchanges.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    side: Mapped[str] = mapped_column(String(1))
    moment: Mapped[str] = mapped_column(String(20))
    count: Mapped[int] = mapped_column(Integer)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # The side's previous count that day, this one was compared with ("22 → 20").
    previous_count: Mapped[int | None] = mapped_column(Integer)
    previous_moment: Mapped[str | None] = mapped_column(String(20))
    # How a drop was accounted for: "home", "elsewhere" or "missing"; answered once.
    drop_answer: Mapped[str | None] = mapped_column(String(20))
    drop_answered_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    drop_answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The missing-pupil alarm raised for this drop: one drop, one alarm.
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"), unique=True
    )


class Incident(Base):
    """Something that went wrong on an exchange day, and how it was handled."""

    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint("severity IN ('low', 'medium', 'high', 'urgent')", name="severity"),
        CheckConstraint("status IN ('open', 'acknowledged', 'resolved')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exchange_id: Mapped[int] = mapped_column(
        ForeignKey("exchanges.id", ondelete="CASCADE"), index=True
    )
    reported_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    category: Mapped[str] = mapped_column(String(30))
    severity: Mapped[str] = mapped_column(String(10))
    team_number: Mapped[int | None] = mapped_column(Integer)
    # Free text and photo may identify children; both are purged after the retention period.
    description: Mapped[str | None] = mapped_column(Text)
    photo_file_id: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    purged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    actions: Mapped[list[IncidentAction]] = relationship(
        back_populates="incident",
        order_by="(IncidentAction.at, IncidentAction.id)",
        cascade="all, delete-orphan",
    )
    # The count whose drop raised this alarm (missing-pupil alarms from /aanwezig only).
    drop: Mapped[Headcount | None] = relationship(
        primaryjoin="Incident.id == foreign(Headcount.incident_id)",
        viewonly=True,
        uselist=False,
        lazy="selectin",
    )


class IncidentAction(Base):
    """Who acknowledged, resolved or closed an incident, when, and with what note."""

    __tablename__ = "incident_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    incident: Mapped[Incident] = relationship(back_populates="actions")
    # Loaded with the action: every copy of an alert names who acted.
    user: Mapped[User | None] = relationship(lazy="joined")


class GroupLink(Base):
    """A Telegram group linked to one exchange with `/groep <code>`; removing the bot unlinks."""

    __tablename__ = "group_links"

    chat_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    exchange_id: Mapped[int] = mapped_column(
        ForeignKey("exchanges.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    linked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    linked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """Who changed what about an exchange, and when: the log a coordinator reads per pair."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_exchange_at", "exchange_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exchange_id: Mapped[int | None] = mapped_column(ForeignKey("exchanges.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # What happened, a key of the catalogue's [audit] section ("date_set", "member_removed" …).
    action: Mapped[str] = mapped_column(String(40))
    # The particulars the text needs (names, dates, before and after), plain JSON values.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Broadcast(Base):
    """A coordinator's message to an audience, delivered through the outbox row by row."""

    __tablename__ = "broadcasts"
    __table_args__ = (
        CheckConstraint("status IN ('scheduled', 'sending', 'done', 'cancelled')", name="status"),
        CheckConstraint(
            "media_kind IS NULL OR media_kind IN ('photo', 'document')", name="media_kind"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    text: Mapped[str] = mapped_column(Text)
    media_kind: Mapped[str | None] = mapped_column(String(10))
    media_file_id: Mapped[str | None] = mapped_column(String(200))
    media_filename: Mapped[str | None] = mapped_column(String(200))
    # Who it goes to: {"kind": "all" | "teachers" | "begeleiders" | "city" | "phase" |
    # "exchange", "value": the city, phase key or exchange id where the kind needs one}.
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)
    read_button: Mapped[bool] = mapped_column(Boolean, default=False)
    send_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    # The conversation step that confirmed it: a second press of "Versturen" finds this
    # key taken and sends nothing.
    confirm_key: Mapped[str] = mapped_column(String(60), unique=True)
    reported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class BroadcastRead(Base):
    """Someone pressed "Gelezen" under a broadcast."""

    __tablename__ = "broadcast_reads"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "user_id", name="uq_broadcast_reads_broadcast_user"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class SandboxMarker(Base):
    """One row in a database the sandbox made (`python -m bot sandbox`): demo data only.

    The sandbox refuses a database that holds data without this row, and the real bot refuses
    a database with it, so demo people are never messaged on Telegram and real ones never
    reset.
    """

    __tablename__ = "sandbox_marker"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


__all__ = [
    "Absence",
    "AuditEntry",
    "Base",
    "Broadcast",
    "BroadcastRead",
    "CheckIn",
    "ChecklistTick",
    "CoordinatorChange",
    "DateProposal",
    "Dialog",
    "Exchange",
    "ExchangePhase",
    "ExchangeSide",
    "GroupLink",
    "Headcount",
    "Incident",
    "IncidentAction",
    "Invite",
    "Membership",
    "OutboxMessage",
    "SandboxMarker",
    "School",
    "SchoolHoliday",
    "User",
]
