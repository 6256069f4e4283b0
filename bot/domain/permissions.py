"""Who may do what: one pure table, used by the service-level check in bot/services/auth.py."""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum


class Role(StrEnum):
    COORDINATOR = "coordinator"
    TEACHER = "teacher"
    BEGELEIDER = "begeleider"


class Action(StrEnum):
    CREATE_EXCHANGE = "create_exchange"
    INVITE = "invite"
    VIEW_ALL_EXCHANGES = "view_all_exchanges"
    VIEW_EXCHANGE = "view_exchange"
    TICK_CHECKLIST = "tick_checklist"
    VIEW_PROGRESS = "view_progress"
    PROPOSE_DATE = "propose_date"
    SET_DATE = "set_date"
    VIEW_OUTBOX = "view_outbox"
    FIELD_WORK = "field_work"  # check in, count pupils, report an incident
    VIEW_INCIDENTS = "view_incidents"  # every incident of the exchange, with its details
    HANDLE_INCIDENT = "handle_incident"  # acknowledge, resolve
    CLOSE_INCIDENT = "close_incident"
    ARCHIVE = "archive"
    CHANGE_CLASS = "change_class"  # the number of pupils of a class (teachers: their own)
    APPOINT_COORDINATOR = "appoint_coordinator"  # /aanstellen, /intrekken
    EDIT_SCHOOL = "edit_school"  # a school's address (teachers: their own school's)
    EDIT_EXCHANGE = "edit_exchange"  # names, classes, sizes, region of an existing exchange
    REPORT_ABSENCE = "report_absence"  # "Ik kan niet" for an exchange day
    BROADCAST = "broadcast"  # /bericht: a message to many people, and its delivery report
    EXPORT = "export"  # /export, /rapport: every exchange's data and the season report
    COORDINATOR_SETTINGS = "coordinator_settings"  # /instellingen: the Monday summary's choices
    MANAGE_MEMBERS = "manage_members"  # begeleiders per day, removing members, revoking invites
    VIEW_AUDIT = "view_audit"  # the log of who changed what about an exchange
    LINK_GROUP = "link_group"  # /groep: a Telegram group that receives the exchange's notices


# Global actions need the coordinator role; exchange actions need a role in that exchange
# (a coordinator counts as having every role in every exchange).
GLOBAL_ACTIONS: dict[Action, frozenset[Role]] = {
    Action.CREATE_EXCHANGE: frozenset({Role.COORDINATOR}),
    Action.VIEW_ALL_EXCHANGES: frozenset({Role.COORDINATOR}),
    Action.VIEW_OUTBOX: frozenset({Role.COORDINATOR}),
    Action.APPOINT_COORDINATOR: frozenset({Role.COORDINATOR}),
    Action.BROADCAST: frozenset({Role.COORDINATOR}),
    Action.EXPORT: frozenset({Role.COORDINATOR}),
    Action.COORDINATOR_SETTINGS: frozenset({Role.COORDINATOR}),
}
EXCHANGE_ACTIONS: dict[Action, frozenset[Role]] = {
    Action.INVITE: frozenset({Role.COORDINATOR}),
    Action.VIEW_EXCHANGE: frozenset({Role.COORDINATOR, Role.TEACHER, Role.BEGELEIDER}),
    Action.TICK_CHECKLIST: frozenset({Role.TEACHER, Role.BEGELEIDER}),
    Action.VIEW_PROGRESS: frozenset({Role.COORDINATOR}),
    Action.PROPOSE_DATE: frozenset({Role.TEACHER}),
    Action.SET_DATE: frozenset({Role.COORDINATOR}),
    Action.FIELD_WORK: frozenset({Role.COORDINATOR, Role.TEACHER, Role.BEGELEIDER}),
    Action.VIEW_INCIDENTS: frozenset({Role.COORDINATOR, Role.TEACHER}),
    Action.HANDLE_INCIDENT: frozenset({Role.COORDINATOR, Role.TEACHER}),
    Action.CLOSE_INCIDENT: frozenset({Role.COORDINATOR}),
    Action.ARCHIVE: frozenset({Role.COORDINATOR}),
    Action.CHANGE_CLASS: frozenset({Role.COORDINATOR, Role.TEACHER}),
    Action.EDIT_SCHOOL: frozenset({Role.COORDINATOR, Role.TEACHER}),
    Action.EDIT_EXCHANGE: frozenset({Role.COORDINATOR}),
    Action.REPORT_ABSENCE: frozenset({Role.TEACHER, Role.BEGELEIDER}),
    Action.MANAGE_MEMBERS: frozenset({Role.COORDINATOR}),
    Action.VIEW_AUDIT: frozenset({Role.COORDINATOR}),
    Action.LINK_GROUP: frozenset({Role.COORDINATOR, Role.TEACHER}),
}


# Actions that only look. Every other exchange action changes something and is refused on an
# archived exchange for everyone: an archived exchange is read-only.
READ_ACTIONS: frozenset[Action] = frozenset(
    {
        Action.VIEW_ALL_EXCHANGES,
        Action.VIEW_EXCHANGE,
        Action.VIEW_PROGRESS,
        Action.VIEW_OUTBOX,
        Action.VIEW_INCIDENTS,
        Action.VIEW_AUDIT,
        Action.EXPORT,
    }
)


def changes_something(action: Action) -> bool:
    return action not in READ_ACTIONS


def is_allowed(action: Action, *, is_coordinator: bool, roles_in_exchange: Collection[str]) -> bool:
    """Whether someone with these roles may perform `action`.

    `roles_in_exchange` are the user's roles in the exchange the action is about (empty for a
    global action, or when the user is not a member).
    """
    if action in GLOBAL_ACTIONS:
        return is_coordinator and Role.COORDINATOR in GLOBAL_ACTIONS[action]
    allowed = EXCHANGE_ACTIONS[action]
    if is_coordinator and Role.COORDINATOR in allowed:
        return True
    return any(Role(role) in allowed for role in roles_in_exchange)


# The commands each role sees in its menu and in /help, in menu order.
COMMANDS_BY_ROLE: dict[Role | None, tuple[str, ...]] = {
    None: ("start", "help", "taal"),
    Role.TEACHER: (
        "programma",
        "vandaag",
        "checklist",
        "datum",
        "aanwezig",
        "incident",
        "incidenten",
        "klas",
        "school",
        "agenda",
    ),
    Role.BEGELEIDER: (
        "vandaag",
        "checkin",
        "aanwezig",
        "incident",
        "checkout",
        "incidenten",
        "programma",
        "checklist",
        "agenda",
    ),
    Role.COORDINATOR: (
        "overzicht",
        "bericht",
        "nieuw",
        "uitnodigen",
        "wijzig",
        "beheer",
        "programma",
        "vandaag",
        "checklist",
        "datum",
        "incidenten",
        "klas",
        "school",
        "agenda",
        "berichten",
        "groep",
        "export",
        "rapport",
        "instellingen",
        "archiveren",
        "aanstellen",
        "intrekken",
        "annuleren",
    ),
}


def commands_for(roles: Collection[Role]) -> list[str]:
    """The commands a user with these roles has, without duplicates, in a stable order."""
    seen: list[str] = []
    for role in (Role.COORDINATOR, Role.TEACHER, Role.BEGELEIDER):
        if role in roles:
            seen.extend(c for c in COMMANDS_BY_ROLE[role] if c not in seen)
    seen.extend(c for c in COMMANDS_BY_ROLE[None] if c not in seen)
    return seen
