"""Incidents: their kinds and severities, team numbers, and how far an alert escalates (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.domain.exchange_input import InputError
from bot.domain.numbers import read_int

CATEGORIES = ("injury", "missing", "conflict", "remark", "unsafe", "damage", "other")
SEVERITIES = ("low", "medium", "high", "urgent")
URGENT_SEVERITIES = ("high", "urgent")
MAX_TEAM_NUMBER = 20


def check_team(text: str) -> int:
    team = read_int(text.strip().lstrip("#"), lo=1, hi=MAX_TEAM_NUMBER)
    if team is None:
        raise InputError("incidents.bad_team", maximum=MAX_TEAM_NUMBER)
    return team


def effective_severity(category: str, severity: str | None) -> str:
    """A missing pupil is always urgent, whatever was chosen."""
    if category == "missing":
        return "urgent"
    if severity not in SEVERITIES:
        raise ValueError(severity)
    return severity


@dataclass(frozen=True)
class Escalation:
    teachers: bool  # the exchange's teachers are alerted too
    repeat_after: timedelta | None  # re-sent to every coordinator when nobody acknowledged


def escalation(severity: str, ack_window: timedelta) -> Escalation:
    """High and urgent incidents reach teachers at once and are repeated if nobody reacts."""
    if severity in URGENT_SEVERITIES:
        return Escalation(teachers=True, repeat_after=ack_window)
    return Escalation(teachers=False, repeat_after=None)
