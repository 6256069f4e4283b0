"""What /beheer shows: a pair's menu, its begeleiders per day, its members and open invite
links, and the messages to people a coordinator planned for a day or took out of a pair.

It turns what bot/services/members.py returns into texts and buttons; it runs no queries.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.dates import format_date, format_time
from bot.domain.programme import Programme
from bot.services import exchanges
from bot.services.members import DayPlan, KnownBegeleider, ManagedMember, OpenInvite, Removal
from bot.services.outbox_content import MemberAdded, MemberRemoved
from bot.texts import Markup, Texts
from bot.ui import callbacks
from bot.ui.replies import Btn, Reply
from db.models import ROLE_TEACHER, Exchange, ExchangePhase, User

# Candidates to add to a day, per page.
CANDIDATES_PER_PAGE = 8


def _when(lang: str, programme: Programme, row: ExchangePhase) -> str:
    """ "woensdag 10 februari, 08:45": the day and the time it starts."""
    start = row.start_time or programme.phase(row.phase_key).default_start_time
    day = format_date(row.starts_on, lang)
    return f"{day}, {format_time(start)}" if start else day


def _where(texts: Texts, lang: str, exchange: Exchange, row: ExchangePhase) -> str:
    if row.host in ("A", "B"):
        return exchanges.side_of(exchange, row.host).school.name
    return texts.plain(lang, "exchange.host_online")


def role_text(texts: Texts, lang: str, exchange: Exchange, role: str, side: str | None) -> str:
    """ "leerkracht van De Odyssee" or "begeleider"."""
    if role == ROLE_TEACHER and side in ("A", "B"):
        school = exchanges.side_of(exchange, side).school.name
        return texts.plain(lang, "manage.role_teacher", school=school)
    if role == ROLE_TEACHER:
        return texts.plain(lang, "manage.role_teacher_plain")
    return texts.plain(lang, "manage.role_begeleider")


def _names(people: Sequence[User]) -> str:
    return ", ".join(p.display_name for p in people)


# -- the messages to the people concerned (outbox kinds member_added, member_removed) ---------


def member_added(texts: Texts, lang: str, content: MemberAdded) -> str:
    """To a begeleider: planned for a day of a pair."""
    exchange, row = content.exchange, content.day
    phase = content.programme.phase(row.phase_key)
    return texts.get(
        lang,
        "manage.added_notice",
        id=exchange.id,
        title=exchanges.title(exchange),
        phase=phase.name.get(lang),
        when=_when(lang, content.programme, row),
        where=_where(texts, lang, exchange, row),
        names=_names(content.contacts) or "?",
    )


def member_removed(texts: Texts, lang: str, content: MemberRemoved) -> str:
    """To a former member: no longer part of the pair."""
    exchange = content.exchange
    return texts.get(
        lang,
        "manage.removed_notice",
        id=exchange.id,
        title=exchanges.title(exchange),
        role=role_text(texts, lang, exchange, content.role, content.side),
        names=_names(content.contacts) or "?",
    )


# -- /beheer -----------------------------------------------------------------------------------


def menu(exchange: Exchange) -> Reply:
    """The menu of one pair."""
    eid = exchange.id
    buttons = (
        (Btn(callbacks.action(callbacks.DATE_START_PREFIX, eid), key="manage.btn_dates"),),
        (Btn(callbacks.action(callbacks.MANAGE_DAYS_PREFIX, eid), key="manage.btn_days"),),
        (Btn(callbacks.action(callbacks.MANAGE_MEMBERS_PREFIX, eid), key="manage.btn_members"),),
        (Btn(callbacks.action(callbacks.MANAGE_INVITES_PREFIX, eid), key="manage.btn_invites"),),
        (Btn(callbacks.action(callbacks.MANAGE_ARCHIVE_PREFIX, eid), key="manage.btn_archive"),),
        (Btn(callbacks.action(callbacks.LOG_PREFIX, eid), key="manage.btn_log"),),
    )
    return Reply("manage.menu", {"id": eid, "title": exchanges.title(exchange)}, buttons=buttons)


def _back(exchange_id: int) -> Btn:
    return Btn(callbacks.action(callbacks.MANAGE_PREFIX, exchange_id), key="manage.btn_back")


def days_view(texts: Texts, lang: str, exchange: Exchange, plans: Sequence[DayPlan]) -> Reply:
    """Every day a begeleider comes to, with who is planned; a button per day."""
    lines = []
    buttons = []
    for plan in plans:
        phase = plan.phase
        names = _names(plan.planned) or texts.plain(lang, "manage.nobody")
        lines.append(
            texts.get(
                lang,
                "manage.day_line",
                phase=phase.name.get(lang),
                when=_when(lang, plan.programme, plan.row),
                where=_where(texts, lang, exchange, plan.row),
                names=names,
            )
        )
        buttons.append(
            (
                Btn(
                    callbacks.manage_day(exchange.id, phase.key),
                    key="manage.btn_day",
                    params={"phase": phase.name.get(lang), "count": len(plan.planned)},
                ),
            )
        )
    buttons.append((_back(exchange.id),))
    key = "manage.days" if plans else "manage.no_days"
    return Reply(
        key,
        {"id": exchange.id, "title": exchanges.title(exchange), "lines": Markup("\n".join(lines))},
        buttons=tuple(buttons),
    )


def day_view(texts: Texts, lang: str, exchange: Exchange, plan: DayPlan) -> tuple[str, Reply]:
    """One day: each begeleider of the pair with a button that plans them in or out, and a
    button to add a begeleider known from other pairs. Returns the text and the reply (the
    text is also used to edit the message in place after a tap)."""
    phase = plan.phase
    buttons: list[tuple[Btn, ...]] = []
    for member in plan.begeleiders:
        on = member.planned
        buttons.append(
            (
                Btn(
                    callbacks.manage_toggle(member.membership_id, phase.key, not on),
                    key="manage.btn_planned" if on else "manage.btn_not_planned",
                    params={"name": member.name},
                ),
            )
        )
    buttons.append(
        (
            Btn(
                callbacks.manage_candidates(exchange.id, phase.key, 0),
                key="manage.btn_add",
            ),
        )
    )
    buttons.append(
        (Btn(callbacks.action(callbacks.MANAGE_DAYS_PREFIX, exchange.id), key="manage.btn_back"),)
    )
    names = _names(plan.planned) or texts.plain(lang, "manage.nobody")
    reply = Reply(
        "manage.day" if plan.begeleiders else "manage.day_empty",
        {
            "id": exchange.id,
            "title": exchanges.title(exchange),
            "phase": phase.name.get(lang),
            "when": _when(lang, plan.programme, plan.row),
            "where": _where(texts, lang, exchange, plan.row),
            "names": names,
        },
        buttons=tuple(buttons),
    )
    return texts.get(lang, reply.key, **reply.params), reply


def candidates_view(
    exchange: Exchange,
    plan: DayPlan,
    lang: str,
    known: Sequence[KnownBegeleider],
    offset: int,
) -> Reply:
    """Begeleiders the coordinator knows from other pairs, to plan for this day."""
    phase = plan.phase
    offset = offset if 0 <= offset < len(known) else 0
    page = known[offset : offset + CANDIDATES_PER_PAGE]
    buttons: list[tuple[Btn, ...]] = [
        (
            Btn(
                callbacks.manage_pick(exchange.id, phase.key, person.user_id),
                key="manage.btn_candidate",
                params={"name": person.name},
            ),
        )
        for person in page
    ]
    following = offset + CANDIDATES_PER_PAGE
    if following < len(known):
        buttons.append(
            (
                Btn(
                    callbacks.manage_candidates(exchange.id, phase.key, following),
                    key="paging.more",
                    params={
                        "first": following + 1,
                        "last": min(following + CANDIDATES_PER_PAGE, len(known)),
                        "count": len(known),
                    },
                ),
            )
        )
    buttons.append((Btn(callbacks.manage_day(exchange.id, phase.key), key="manage.btn_back"),))
    params = {
        "id": exchange.id,
        "title": exchanges.title(exchange),
        "phase": phase.name.get(lang),
    }
    return Reply(
        "manage.candidates" if known else "manage.no_candidates", params, buttons=tuple(buttons)
    )


def members_view(
    texts: Texts, lang: str, exchange: Exchange, members: Sequence[ManagedMember]
) -> Reply:
    """The pair's teachers and begeleiders, each with a button to take them out."""
    lines = []
    buttons: list[tuple[Btn, ...]] = []
    for member in members:
        role = role_text(texts, lang, exchange, member.role, member.side)
        lines.append(texts.get(lang, "manage.member_line", name=member.name, role=role))
        if not member.is_viewer:
            buttons.append(
                (
                    Btn(
                        callbacks.action(callbacks.MANAGE_REMOVE_PREFIX, member.membership_id),
                        key="manage.btn_remove",
                        params={"name": member.name, "role": role},
                    ),
                )
            )
    buttons.append((_back(exchange.id),))
    params = {
        "id": exchange.id,
        "title": exchanges.title(exchange),
        "lines": Markup("\n".join(lines)),
    }
    return Reply(
        "manage.members" if members else "manage.no_members", params, buttons=tuple(buttons)
    )


def confirm_removal(texts: Texts, lang: str, exchange: Exchange, member: ManagedMember) -> Reply:
    buttons = (
        (
            Btn(
                callbacks.action(callbacks.MANAGE_REMOVE_YES_PREFIX, member.membership_id),
                key="manage.btn_remove_yes",
            ),
            Btn(
                callbacks.action(callbacks.MANAGE_CANCEL_PREFIX, exchange.id),
                key="manage.btn_cancel",
            ),
        ),
    )
    return Reply(
        "manage.confirm_remove",
        {
            "name": member.name,
            "role": role_text(texts, lang, exchange, member.role, member.side),
            "id": exchange.id,
            "title": exchanges.title(exchange),
        },
        buttons=buttons,
    )


def invites_view(
    texts: Texts, lang: str, exchange: Exchange, invites: Sequence[OpenInvite]
) -> Reply:
    """The pair's links that still work, with buttons for new ones and to revoke them all."""
    lines = [
        texts.get(
            lang,
            "manage.invite_line",
            role=role_text(texts, lang, exchange, invite.role, invite.side),
            uses=invite.uses,
            max_uses=invite.max_uses,
            until=format_date(invite.last_day, lang),
        )
        for invite in invites
    ]
    buttons: list[tuple[Btn, ...]] = [
        (Btn(callbacks.action(callbacks.INVITE_PREFIX, exchange.id), key="manage.btn_new_links"),)
    ]
    if invites:
        buttons.append(
            (
                Btn(
                    callbacks.action(callbacks.MANAGE_REVOKE_ALL_PREFIX, exchange.id),
                    key="manage.btn_revoke_all",
                    params={"count": len(invites)},
                ),
            )
        )
    buttons.append((_back(exchange.id),))
    params = {
        "id": exchange.id,
        "title": exchanges.title(exchange),
        "lines": Markup("\n".join(lines)),
    }
    return Reply(
        "manage.invites" if invites else "manage.no_invites", params, buttons=tuple(buttons)
    )


def removed(texts: Texts, lang: str, exchange: Exchange, removal: Removal) -> list[Reply]:
    """What the coordinator sees after taking someone out: done, and what that leaves."""
    params = {
        "name": removal.name,
        "role": role_text(texts, lang, exchange, removal.role, removal.side),
        "id": exchange.id,
        "title": exchanges.title(exchange),
    }
    replies = [Reply("manage.removed", params)]
    if removal.side_empty and removal.side in ("A", "B"):
        school = exchanges.side_of(exchange, removal.side).school.name
        replies.append(
            Reply(
                "manage.side_empty",
                {"school": school},
                buttons=(
                    (
                        Btn(
                            callbacks.action(callbacks.MANAGE_INVITES_PREFIX, exchange.id),
                            key="manage.btn_invites",
                        ),
                    ),
                ),
            )
        )
    return replies
