"""The pure permission table: role × action (tests/test_auth.py adds membership and state)."""

from __future__ import annotations

import pytest

from bot.domain.permissions import Action, Role, commands_for, is_allowed

EXPECTED = {
    # action: (coordinator, teacher here, begeleider here, no role in this exchange)
    Action.CREATE_EXCHANGE: (True, False, False, False),
    Action.VIEW_ALL_EXCHANGES: (True, False, False, False),
    Action.INVITE: (True, False, False, False),
    Action.VIEW_EXCHANGE: (True, True, True, False),
    Action.TICK_CHECKLIST: (False, True, True, False),
    Action.VIEW_PROGRESS: (True, False, False, False),
    Action.PROPOSE_DATE: (False, True, False, False),
    Action.SET_DATE: (True, False, False, False),
    Action.VIEW_OUTBOX: (True, False, False, False),
    Action.FIELD_WORK: (True, True, True, False),
    Action.VIEW_INCIDENTS: (True, True, False, False),
    Action.HANDLE_INCIDENT: (True, True, False, False),
    Action.CLOSE_INCIDENT: (True, False, False, False),
    Action.ARCHIVE: (True, False, False, False),
    Action.CHANGE_CLASS: (True, True, False, False),
    Action.APPOINT_COORDINATOR: (True, False, False, False),
    Action.EDIT_SCHOOL: (True, True, False, False),
    Action.EDIT_EXCHANGE: (True, False, False, False),
    Action.REPORT_ABSENCE: (False, True, True, False),
    Action.BROADCAST: (True, False, False, False),
    Action.EXPORT: (True, False, False, False),
    Action.COORDINATOR_SETTINGS: (True, False, False, False),
    Action.MANAGE_MEMBERS: (True, False, False, False),
    Action.VIEW_AUDIT: (True, False, False, False),
    Action.LINK_GROUP: (True, True, False, False),
}


@pytest.mark.parametrize("action", list(Action))
def test_matrix(action: Action) -> None:
    coordinator, teacher, begeleider, nobody = EXPECTED[action]
    assert is_allowed(action, is_coordinator=True, roles_in_exchange=()) is coordinator
    assert is_allowed(action, is_coordinator=False, roles_in_exchange={"teacher"}) is teacher
    assert is_allowed(action, is_coordinator=False, roles_in_exchange={"begeleider"}) is begeleider
    # A teacher of another exchange and a stranger both have no role in this one; telling them
    # apart takes the database (tests/test_auth.py).
    assert is_allowed(action, is_coordinator=False, roles_in_exchange=()) is nobody


def test_menus_follow_roles() -> None:
    assert commands_for(set()) == ["start", "help", "taal"]
    assert "programma" in commands_for({Role.TEACHER})
    assert "nieuw" not in commands_for({Role.TEACHER, Role.BEGELEIDER})
    coordinator = commands_for({Role.COORDINATOR, Role.TEACHER})
    # A coordinator's first look is the overview of every pair, then telling people something.
    assert coordinator[:4] == ["overzicht", "bericht", "nieuw", "uitnodigen"]
    assert "groep" not in commands_for({Role.TEACHER, Role.BEGELEIDER})
    assert len(coordinator) == len(set(coordinator))
