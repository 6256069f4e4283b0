"""Texts about linked Telegram groups: the code, what a group is told, the incident notice.

Runs no queries."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.services.exchanges import label, title
from bot.services.groups import GroupCode, IncidentNotice, Linked
from bot.texts import Texts
from bot.ui.replies import Reply


def code_reply(code: GroupCode, *, command: str, bot_username: str, tz: ZoneInfo) -> Reply:
    """The code as a whole command to copy: `/groep@<bot> <code>` (`command`: the reader's
    name of /groep). Naming the bot makes the command reach it in a group where other bots
    are, or where privacy mode holds back commands meant for nobody in particular."""
    addressed = f"{command}@{bot_username}" if bot_username else command
    # Stored as the first moment the code no longer works; people read the last day.
    last_day = (code.expires_at - timedelta(seconds=1)).astimezone(tz).date()
    return Reply(
        "groups.code",
        {
            "exchange": label(code.exchange),
            "command": f"/{addressed} {code.code}",
            "expires": last_day,
        },
    )


def linked_reply(linked: Linked) -> Reply:
    """What the group reads once it is linked (or already was, or moved)."""
    params = {"title": title(linked.exchange)}
    if linked.already:
        return Reply("groups.already", params)
    if linked.moved_from is not None:
        return Reply("groups.moved", {**params, "old": title(linked.moved_from)})
    return Reply("groups.linked", params)


def incident_notice(texts: Texts, lang: str, notice: IncidentNotice) -> str:
    """One line: which pair, which kind of incident, who knows. No details, no names."""
    key = "groups.incident" if notice.teachers_told else "groups.incident_coordinator"
    return texts.get(
        lang,
        key,
        title=title(notice.exchange),
        category=texts.plain(lang, f"incidents.category_{notice.category}"),
    )
