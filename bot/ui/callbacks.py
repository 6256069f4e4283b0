"""Every callback-data prefix of the bot's inline buttons, and how their data is read back.

Telegram sends a pressed button's `callback_data` (1–64 bytes) back to the bot; the prefix
says which handler takes it. Two shapes:

- an action on one thing, matched with `^<prefix>` (`action_pattern`): `<prefix><id>`
  ("ia:17"), a few with more fields ("ck:<exchange>:<item>", "rv:<exchange>:<id>.<id>",
  "hd:<answer>:<headcount>"); a paged exchange chooser adds `<prefix>+<offset>` for its
  'Meer…' button;
- a button of a conversation kept in the database, matched with `^<prefix>:`
  (`dialog_pattern`): `<prefix>:<version>:<value>` (`button_data`, `parse_button`), where the
  version tells a stale button from one of the current question; a paged choice in a
  conversation is `x:<id>` or `x:+<offset>`.

tests/test_callbacks.py checks that no prefix can be taken for another and that the longest
data of each fits 64 bytes.
"""

from __future__ import annotations

# The conversation buttons' data is written and read with the dialog it belongs to.
from bot.dialogs.store import MORE as MORE
from bot.dialogs.store import button_data as button_data
from bot.dialogs.store import page_of as page_of
from bot.dialogs.store import parse_button as parse_button
from bot.domain.numbers import read_id

# -- actions on one thing: `<prefix><id>` ----------------------------------------------------

LANGUAGE_PREFIX = "lang:"  # lang:<nl|en>, the /taal buttons
PROGRAMME_PREFIX = "prog:"  # prog:<exchange>, /programma's exchange chooser
ARCHIVE_PREFIX = "arch:"  # arch:<exchange>, confirms /archiveer
INVITE_PREFIX = "inv:"  # inv:<exchange>, /uitnodigen's exchange chooser and after /nieuw
REVOKE_PREFIX = "rv:"  # rv:<exchange>:<invite>.<invite>…, takes invite links back
CHECKLIST_PREFIX = "cl:"  # cl:<exchange>, /checklist's exchange chooser
CHECK_PREFIX = "ck:"  # ck:<exchange>:<item key>, ticks a checklist item
CALENDAR_PREFIX = "ag:"  # ag:<exchange>, /agenda's exchange chooser
CHECKIN_PREFIX = "ci:"  # ci:<exchange>, /checkin's exchange chooser
DROP_PREFIX = "hd:"  # hd:<ok|else|miss>:<headcount>, the answer to a lower count
ACK_PREFIX = "ia:"  # ia:<incident>, "Gezien"
RESOLVE_PREFIX = "ir:"  # ir:<incident>, "Opgelost"
CLOSE_PREFIX = "ic:"  # ic:<incident>, a coordinator closes an incident
ACCEPT_PREFIX = "da:"  # da:<proposal>, accepts a proposed date
OTHER_PREFIX = "do:"  # do:<proposal>, asks for another date
DATE_START_PREFIX = "ds:"  # ds:<exchange>, starts /datum for that exchange
SCHOOL_PREFIX = "scl:"  # scl:<exchange>, /school's exchange chooser
SCHOOL_ACTION_PREFIX = "sca:"  # sca:<A|B|phone|share|stop|forget>[:<exchange>], /school
ABSENCE_PREFIX = "ab:"  # ab:<exchange>:<phase>, "Ik kan niet": asks to confirm
ABSENCE_YES_PREFIX = "ay:"  # ay:<exchange>:<phase>, confirms "Ik kan niet"
ABSENCE_NO_PREFIX = "an:"  # an:<exchange>:<phase>, "Ik kom wel": nothing changes
ABSENCE_UNDO_PREFIX = "au:"  # au:<exchange>:<phase>, "Toch wel": takes the absence back
SETTINGS_PREFIX = "set:"  # set:gather:<1|0>, /instellingen: gather routine notices or not
MANAGE_PREFIX = "mg:"  # mg:<exchange>, /beheer's exchange chooser and a pair's menu
LOG_PREFIX = "lg:"  # lg:<exchange>[:<entry>], a pair's log (older than that entry)
MANAGE_DAYS_PREFIX = "mgd:"  # mgd:<exchange>, /beheer: begeleiders per day
MANAGE_DAY_PREFIX = "mgy:"  # mgy:<exchange>:<phase>, /beheer: the begeleiders of one day
MANAGE_TOGGLE_PREFIX = "mgt:"  # mgt:<membership>:<phase>:<1|0>, plans a begeleider in or out
MANAGE_CANDIDATES_PREFIX = "mga:"  # mga:<exchange>:<phase>:<offset>, begeleiders to add
MANAGE_PICK_PREFIX = "mgn:"  # mgn:<exchange>:<phase>:<user>, adds a begeleider to a day
MANAGE_MEMBERS_PREFIX = "mgm:"  # mgm:<exchange>, /beheer: the members
MANAGE_REMOVE_PREFIX = "mgr:"  # mgr:<membership>, asks to take a member out
MANAGE_REMOVE_YES_PREFIX = "mgk:"  # mgk:<membership>, takes the member out
MANAGE_CANCEL_PREFIX = "mgc:"  # mgc:<exchange>, keeps the member: nothing changes
MANAGE_INVITES_PREFIX = "mgi:"  # mgi:<exchange>, /beheer: the open invite links
MANAGE_REVOKE_ALL_PREFIX = "mgx:"  # mgx:<exchange>, revokes every open link of the pair
MANAGE_ARCHIVE_PREFIX = "mgz:"  # mgz:<exchange>, asks to archive (arch: confirms)
OVERVIEW_PREFIX = "ov:"  # ov:<city>.<phase>.<offset>, /overzicht filtered and paged
OVERVIEW_DETAIL_PREFIX = "ovd:"  # ovd:<exchange>:<city>.<phase>.<offset>, one pair in detail
GROUP_CODE_PREFIX = "grp:"  # grp:<exchange>, a code to link a Telegram group (/groep)
BROADCAST_EXCHANGE_PREFIX = "bcx:"  # bcx:<exchange>, starts /bericht to that pair
READ_PREFIX = "rd:"  # rd:<broadcast>, "✅ Gelezen" under a broadcast
RETRY_PREFIX = "rty:"  # rty:<outbox row>, /berichten: send a failed message again
TODAY_PREFIX = "td:"  # td:<exchange>, a pair's full day; td:+<offset>, a page of /vandaag

ACTION_PREFIXES = (
    LANGUAGE_PREFIX,
    PROGRAMME_PREFIX,
    ARCHIVE_PREFIX,
    INVITE_PREFIX,
    REVOKE_PREFIX,
    CHECKLIST_PREFIX,
    CHECK_PREFIX,
    CALENDAR_PREFIX,
    CHECKIN_PREFIX,
    DROP_PREFIX,
    ACK_PREFIX,
    RESOLVE_PREFIX,
    CLOSE_PREFIX,
    ACCEPT_PREFIX,
    OTHER_PREFIX,
    DATE_START_PREFIX,
    SCHOOL_PREFIX,
    SCHOOL_ACTION_PREFIX,
    ABSENCE_PREFIX,
    ABSENCE_YES_PREFIX,
    ABSENCE_NO_PREFIX,
    ABSENCE_UNDO_PREFIX,
    SETTINGS_PREFIX,
    MANAGE_PREFIX,
    LOG_PREFIX,
    MANAGE_DAYS_PREFIX,
    MANAGE_DAY_PREFIX,
    MANAGE_TOGGLE_PREFIX,
    MANAGE_CANDIDATES_PREFIX,
    MANAGE_PICK_PREFIX,
    MANAGE_MEMBERS_PREFIX,
    MANAGE_REMOVE_PREFIX,
    MANAGE_REMOVE_YES_PREFIX,
    MANAGE_CANCEL_PREFIX,
    MANAGE_INVITES_PREFIX,
    MANAGE_REVOKE_ALL_PREFIX,
    MANAGE_ARCHIVE_PREFIX,
    OVERVIEW_PREFIX,
    OVERVIEW_DETAIL_PREFIX,
    GROUP_CODE_PREFIX,
    BROADCAST_EXCHANGE_PREFIX,
    READ_PREFIX,
    RETRY_PREFIX,
    TODAY_PREFIX,
)

# -- buttons of a conversation: `<prefix>:<version>:<value>` ---------------------------------

NEW_EXCHANGE_PREFIX = "nw"  # /nieuw
DATE_PREFIX = "dt"  # /datum
COUNT_PREFIX = "hc"  # /aanwezig
BOTH_COUNT_PREFIX = "hb"  # /aanwezig 24 22: the moment of both counts
CHECKOUT_PREFIX = "co"  # /checkout
REPORT_PREFIX = "in"  # /incident
RESOLUTION_PREFIX = "rn"  # the note with which an incident is solved or closed
SCHOOL_DIALOG_PREFIX = "sct"  # /school: typing an address or a phone number
EDIT_EXCHANGE_PREFIX = "ed"  # /wijzig
BROADCAST_PREFIX = "bc"  # /bericht

DIALOG_PREFIXES = (
    NEW_EXCHANGE_PREFIX,
    DATE_PREFIX,
    COUNT_PREFIX,
    BOTH_COUNT_PREFIX,
    CHECKOUT_PREFIX,
    REPORT_PREFIX,
    RESOLUTION_PREFIX,
    SCHOOL_DIALOG_PREFIX,
    EDIT_EXCHANGE_PREFIX,
    BROADCAST_PREFIX,
)

# The choices a conversation offers from a list ('x:<id>', 'x:+<offset>' for 'Meer…').
CHOICE = "x:"

# Telegram's limit on callback_data, in bytes.
MAX_BYTES = 64


def action_pattern(*prefixes: str) -> str:
    """The CallbackQueryHandler pattern of buttons with one of these action prefixes."""
    if len(prefixes) == 1:
        return f"^{prefixes[0]}"
    return f"^({'|'.join(prefixes)})"


def dialog_pattern(prefix: str) -> str:
    """The CallbackQueryHandler pattern of a conversation's buttons."""
    return f"^{prefix}:"


def action(prefix: str, value: int | str) -> str:
    """`<prefix><value>`: the data of an action on one thing."""
    return f"{prefix}{value}"


def button_id(data: str | None, prefix: str) -> int | None:
    """The id in a button's data `<prefix><id>`, or None when it is not a valid id."""
    if data is None or not data.startswith(prefix):
        return None
    return read_id(data[len(prefix) :])


def check(exchange_id: int, item_key: str) -> str:
    return f"{CHECK_PREFIX}{exchange_id}:{item_key}"


def parse_check(data: str) -> tuple[int | None, str]:
    """'ck:<exchange>:<item>' → (exchange id or None when invalid, item key)."""
    exchange_part, _, item_key = data.removeprefix(CHECK_PREFIX).partition(":")
    return read_id(exchange_part), item_key


def revoke(exchange_id: int, invite_ids: list[int]) -> str:
    return f"{REVOKE_PREFIX}{exchange_id}:{'.'.join(str(i) for i in invite_ids)}"


def parse_revoke(data: str) -> tuple[int | None, list[int | None]]:
    """'rv:<exchange>:<id>.<id>' → (exchange id, invite ids; None for each one invalid)."""
    exchange_part, _, id_part = data.removeprefix(REVOKE_PREFIX).partition(":")
    return read_id(exchange_part), [read_id(i) for i in id_part.split(".")]


def drop(answer: str, headcount_id: int) -> str:
    return f"{DROP_PREFIX}{answer}:{headcount_id}"


def parse_drop(data: str) -> tuple[str, int | None]:
    """'hd:<answer>:<headcount>' → (answer, headcount id or None when invalid)."""
    answer, _, raw = data.removeprefix(DROP_PREFIX).partition(":")
    return answer, read_id(raw)


def absence(prefix: str, exchange_id: int, phase_key: str) -> str:
    """`<prefix><exchange>:<phase>`: a button about one person's exchange day."""
    return f"{prefix}{exchange_id}:{phase_key}"


def parse_absence(data: str, prefix: str) -> tuple[int | None, str]:
    """'<prefix><exchange>:<phase>' → (exchange id or None when invalid, phase key)."""
    exchange_part, _, phase_key = data.removeprefix(prefix).partition(":")
    return read_id(exchange_part), phase_key


# What the /school buttons do; a phone button without an exchange belongs to the view of the
# user's own number only.
SCHOOL_ACTIONS = ("A", "B", "phone", "share", "stop", "forget")


def school_action(what: str, exchange_id: int | None) -> str:
    suffix = f":{exchange_id}" if exchange_id is not None else ""
    return f"{SCHOOL_ACTION_PREFIX}{what}{suffix}"


def parse_school_action(data: str) -> tuple[str, int | None] | None:
    """'sca:<what>[:<exchange>]' → (what, exchange id or None); None when malformed."""
    what, sep, raw = data.removeprefix(SCHOOL_ACTION_PREFIX).partition(":")
    if what not in SCHOOL_ACTIONS:
        return None
    if not sep:
        return (what, None) if what not in ("A", "B") else None
    exchange_id = read_id(raw)
    return (what, exchange_id) if exchange_id is not None else None


# -- /beheer: a pair's begeleiders per day, and its log ----------------------------------------

# The largest Telegram user id (they are below 2**52).
MAX_USER_ID = 2**52


def manage_day(exchange_id: int, phase_key: str) -> str:
    return f"{MANAGE_DAY_PREFIX}{exchange_id}:{phase_key}"


def manage_toggle(membership_id: int, phase_key: str, on: bool) -> str:
    return f"{MANAGE_TOGGLE_PREFIX}{membership_id}:{phase_key}:{1 if on else 0}"


def manage_candidates(exchange_id: int, phase_key: str, offset: int) -> str:
    return f"{MANAGE_CANDIDATES_PREFIX}{exchange_id}:{phase_key}:{offset}"


def manage_pick(exchange_id: int, phase_key: str, user_id: int) -> str:
    return f"{MANAGE_PICK_PREFIX}{exchange_id}:{phase_key}:{user_id}"


def log_page(exchange_id: int, before_id: int | None = None) -> str:
    suffix = f":{before_id}" if before_id is not None else ""
    return f"{LOG_PREFIX}{exchange_id}{suffix}"


def parse_fields(data: str, prefix: str, count: int) -> list[str] | None:
    """'<prefix>a:b:c' → ['a', 'b', 'c'] when there are exactly `count` fields, else None."""
    fields = data.removeprefix(prefix).split(":")
    return fields if len(fields) == count and all(fields) else None


def parse_log_page(data: str) -> tuple[int | None, int | None, bool]:
    """'lg:<exchange>[:<entry>]' → (exchange id, entry id or None, valid)."""
    exchange_part, sep, before = data.removeprefix(LOG_PREFIX).partition(":")
    exchange_id = read_id(exchange_part)
    if not sep:
        return exchange_id, None, exchange_id is not None
    before_id = read_id(before)
    return exchange_id, before_id, exchange_id is not None and before_id is not None
