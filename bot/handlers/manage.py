"""/beheer: a coordinator manages one pair — its dates, its begeleiders per day, its members,
its invite links, archiving it — and reads its log.

Each screen is a message with buttons; planning a begeleider in or out edits the day's
message in place. Nothing changes without a tap that says so, taking someone out asks first,
and a second tap on the same button changes nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import BotApplication, app_context
from bot.domain.numbers import read_id, read_int
from bot.domain.permissions import Action
from bot.handlers.common import (
    Context,
    Unit,
    answer_callback,
    clear_buttons,
    edit_pressed,
    exchange_page,
    paged_buttons,
    reading,
    send,
    unit_of_work,
)
from bot.jobs.outbox import kick
from bot.menus import aliases, set_user_menu
from bot.services import auth, exchanges, members
from bot.ui import audit as audit_texts
from bot.ui import manage as views
from bot.ui import replies as render
from bot.ui.callbacks import (
    ARCHIVE_PREFIX,
    LOG_PREFIX,
    MANAGE_ARCHIVE_PREFIX,
    MANAGE_CANCEL_PREFIX,
    MANAGE_CANDIDATES_PREFIX,
    MANAGE_DAY_PREFIX,
    MANAGE_DAYS_PREFIX,
    MANAGE_INVITES_PREFIX,
    MANAGE_MEMBERS_PREFIX,
    MANAGE_PICK_PREFIX,
    MANAGE_PREFIX,
    MANAGE_REMOVE_PREFIX,
    MANAGE_REMOVE_YES_PREFIX,
    MANAGE_REVOKE_ALL_PREFIX,
    MANAGE_TOGGLE_PREFIX,
    MAX_USER_ID,
    action,
    action_pattern,
    button_id,
    page_of,
    parse_fields,
    parse_log_page,
)
from bot.ui.replies import Btn, Reply

log = logging.getLogger(__name__)

# A read-only screen about one pair: its replies, or None when the button no longer fits.
PairView = Callable[[Unit, int], Awaitable[list[Reply] | None]]


def _data(update: Update) -> str:
    query = update.callback_query
    assert query is not None and query.data is not None
    return query.data


async def _refresh_menu(context: Context, facts: members.MenuFacts | None) -> None:
    """Give someone whose roles changed the command menu of their roles now."""
    if facts is None:
        return
    try:
        await set_user_menu(
            context.bot, app_context(context).texts, facts.user_id, facts.language, facts.roles
        )
    except TelegramError as error:
        log.warning("Could not update the menu of user %s: %s", facts.user_id, error)


async def _refuse(update: Update, context: Context, lang: str, key: str) -> None:
    await answer_callback(update, context, lang, key)


# -- /beheer and a pair's menu ---------------------------------------------------------------


async def manage(update: Update, context: Context) -> None:
    """Choose a pair to manage (`/beheer 12` goes straight to it)."""
    arg = context.args[0].lstrip("#") if context.args else None
    async with reading(update, context) as uow:
        lang = uow.lang
        try:
            mine = await members.manageable_labels(uow.session, uow.user)
        except auth.NotAllowed as refusal:
            replies = [Reply(refusal.key)]
        else:
            chosen = read_id(arg) if arg is not None else None
            if arg is not None:
                replies = await _menu(uow, chosen) if chosen is not None else []
                replies = replies or [Reply("manage.bad_number")]
            elif not mine:
                replies = [Reply("programme.none_coordinator")]
            elif len(mine) == 1:
                exchange = await exchanges.load_exchange(uow.session, mine[0][0])
                assert exchange is not None
                replies = [views.menu(exchange)]
            else:
                replies = [
                    Reply(
                        "manage.choose",
                        {"count": len(mine)},
                        buttons=paged_buttons(mine, lambda value: f"{MANAGE_PREFIX}{value}"),
                    )
                ]
    await send(update, context, lang, replies)


async def _menu(uow: Unit, exchange_id: int) -> list[Reply]:
    try:
        exchange = await members.pair(uow.session, uow.user, exchange_id)
    except auth.NotAllowed as refusal:
        return [Reply(refusal.key)]
    return [views.menu(exchange)]


async def _manageable_or_none(uow: Unit) -> list[tuple[int, str]]:
    try:
        return await members.manageable_labels(uow.session, uow.user)
    except auth.NotAllowed:
        return []


async def menu_pressed(update: Update, context: Context) -> None:
    """Open the menu of the pair whose button was pressed (the chooser, or the overview)."""
    data = _data(update)
    offset = page_of(data.removeprefix(MANAGE_PREFIX))
    if offset is not None:
        await exchange_page(
            update,
            context,
            prefix=MANAGE_PREFIX,
            offset=offset,
            labels=_manageable_or_none,
        )
        return
    exchange_id = button_id(data, MANAGE_PREFIX)
    await _view(update, context, exchange_id, _menu_view)


async def _menu_view(uow: Unit, exchange_id: int) -> list[Reply] | None:
    exchange = await members.pair(uow.session, uow.user, exchange_id)
    return [views.menu(exchange)]


async def _view(update: Update, context: Context, exchange_id: int | None, view: PairView) -> None:
    """Answer a button with a new message from `view(uow, exchange_id)` (read-only), or a
    toast when the pair is not the user's to manage."""
    refusal = "common.button_expired"
    replies: list[Reply] | None = None
    async with reading(update, context) as uow:
        lang = uow.lang
        if exchange_id is not None:
            try:
                replies = await view(uow, exchange_id)
            except auth.NotAllowed as refused:
                refusal = refused.key
    if replies is None:
        await _refuse(update, context, lang, refusal)
        return
    await answer_callback(update, context, lang)
    await send(update, context, lang, replies)


# -- begeleiders per day -----------------------------------------------------------------------


async def _days_view(uow: Unit, exchange_id: int) -> list[Reply] | None:
    exchange = await members.pair(uow.session, uow.user, exchange_id)
    programme = uow.app.programmes[exchange.programme_key]
    plans = members.day_plans(exchange, programme)
    return [views.days_view(uow.app.texts, uow.lang, exchange, plans)]


async def days_pressed(update: Update, context: Context) -> None:
    """Show each day with the begeleiders planned for it."""
    await _view(update, context, button_id(_data(update), MANAGE_DAYS_PREFIX), _days_view)


def _exchange_and_phase(data: str, prefix: str) -> tuple[int, str] | None:
    fields = parse_fields(data, prefix, 2)
    if fields is None or (exchange_id := read_id(fields[0])) is None:
        return None
    return exchange_id, fields[1]


async def _day_reply(uow: Unit, exchange_id: int, phase_key: str) -> tuple[str, Reply] | None:
    exchange = await members.pair(uow.session, uow.user, exchange_id)
    programme = uow.app.programmes[exchange.programme_key]
    plan = members.day_plan(exchange, programme, phase_key)
    if plan is None:
        return None
    return views.day_view(uow.app.texts, uow.lang, exchange, plan)


async def day_pressed(update: Update, context: Context) -> None:
    """Show one day: plan the pair's begeleiders in or out, or add one."""
    parsed = _exchange_and_phase(_data(update), MANAGE_DAY_PREFIX)

    async def view(uow: Unit, exchange_id: int) -> list[Reply] | None:
        assert parsed is not None
        found = await _day_reply(uow, exchange_id, parsed[1])
        return [found[1]] if found is not None else None

    await _view(update, context, parsed[0] if parsed else None, view)


async def toggle_pressed(update: Update, context: Context) -> None:
    """Plan a begeleider in or out of a day; the day's message shows the new plan."""
    fields = parse_fields(_data(update), MANAGE_TOGGLE_PREFIX, 3)
    membership_id = read_id(fields[0]) if fields else None
    refusal: str | None = "common.button_expired"
    shown: tuple[str, Reply] | None = None
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        if fields is not None and membership_id is not None and fields[2] in ("0", "1"):
            try:
                planned = await members.set_planned(
                    uow.session,
                    uow.user,
                    membership_id,
                    fields[1],
                    fields[2] == "1",
                    programmes=uow.app.programmes,
                    rules=uow.app.rules,
                    now=uow.app.clock.now(),
                )
            except auth.NotAllowed as refused:
                refusal = refused.key
            else:
                refusal = None if planned.changed else "manage.unchanged"
                shown = await _day_reply(uow, planned.exchange_id, planned.phase_key)
    app = app_context(context)
    await answer_callback(update, context, lang, refusal or "manage.saved")
    if shown is not None:
        text, reply = shown
        await edit_pressed(
            update, context, text=text, reply_markup=render.keyboard(app.texts, lang, reply.buttons)
        )


async def candidates_pressed(update: Update, context: Context) -> None:
    """Begeleiders of the coordinator's other pairs, to plan for this day (paged)."""
    fields = parse_fields(_data(update), MANAGE_CANDIDATES_PREFIX, 3)
    exchange_id = read_id(fields[0]) if fields else None
    offset = read_int(fields[2], lo=0, hi=10_000) if fields else None
    reply: Reply | None = None
    refusal = "common.button_expired"
    async with reading(update, context) as uow:
        lang = uow.lang
        if fields is not None and exchange_id is not None and offset is not None:
            try:
                exchange = await members.pair(uow.session, uow.user, exchange_id)
            except auth.NotAllowed as refused:
                refusal = refused.key
            else:
                programme = uow.app.programmes[exchange.programme_key]
                plan = members.day_plan(exchange, programme, fields[1])
                if plan is not None:
                    known = await members.known_begeleiders(uow.session, uow.user, exchange_id)
                    reply = views.candidates_view(exchange, plan, lang, known, offset)
    if reply is None:
        await _refuse(update, context, lang, refusal)
        return
    await answer_callback(update, context, lang)
    if offset:
        # 'Meer…' shows the next page in the same message.
        app = app_context(context)
        await edit_pressed(
            update, context, reply_markup=render.keyboard(app.texts, lang, reply.buttons)
        )
        return
    await send(update, context, lang, [reply])


async def pick_pressed(update: Update, context: Context) -> None:
    """Plan a begeleider known from another pair for this day; they hear of it."""
    fields = parse_fields(_data(update), MANAGE_PICK_PREFIX, 3)
    exchange_id = read_id(fields[0]) if fields else None
    person_id = read_int(fields[2], lo=1, hi=MAX_USER_ID) if fields else None
    refusal = "common.button_expired"
    replies: list[Reply] = []
    added: members.Added | None = None
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        if fields is not None and exchange_id is not None and person_id is not None:
            try:
                added = await members.add_begeleider(
                    uow.session,
                    uow.user,
                    exchange_id,
                    fields[1],
                    person_id,
                    programmes=uow.app.programmes,
                    rules=uow.app.rules,
                    now=uow.app.clock.now(),
                )
            except auth.NotAllowed as refused:
                refusal = refused.key
            else:
                shown = await _day_reply(uow, exchange_id, fields[1])
                if added.outcome is members.AddOutcome.ADDED:
                    replies.append(Reply("manage.added", {"name": added.name}))
                    if shown is not None:
                        replies.append(shown[1])
    if added is None:
        await _refuse(update, context, lang, refusal)
        return
    if added.outcome is members.AddOutcome.ALREADY:
        await answer_callback(update, context, lang, "manage.already_added", name=added.name)
        await clear_buttons(update, context)
        return
    await answer_callback(update, context, lang)
    await clear_buttons(update, context)
    await send(update, context, lang, replies)
    await _refresh_menu(context, added.menu)
    kick(context.application)


# -- members -----------------------------------------------------------------------------------


async def _members_view(uow: Unit, exchange_id: int) -> list[Reply] | None:
    exchange = await members.pair(uow.session, uow.user, exchange_id)
    listed = members.members_of(exchange, uow.user)
    return [views.members_view(uow.app.texts, uow.lang, exchange, listed)]


async def members_pressed(update: Update, context: Context) -> None:
    """List the pair's members, each with a button to take them out."""
    await _view(update, context, button_id(_data(update), MANAGE_MEMBERS_PREFIX), _members_view)


async def remove_pressed(update: Update, context: Context) -> None:
    """Ask whether to take this member out of the pair."""
    membership_id = button_id(_data(update), MANAGE_REMOVE_PREFIX)
    refusal = "common.button_expired"
    reply: Reply | None = None
    async with reading(update, context) as uow:
        lang = uow.lang
        if membership_id is not None:
            try:
                found = await members.member(uow.session, uow.user, membership_id)
            except auth.NotAllowed as refused:
                refusal = refused.key
            else:
                if found is None:
                    refusal = "manage.already_removed"
                elif found[1].is_viewer:
                    refusal = "manage.not_yourself"
                else:
                    reply = views.confirm_removal(uow.app.texts, lang, found[0], found[1])
    if reply is None:
        await _refuse(update, context, lang, refusal)
        return
    await answer_callback(update, context, lang)
    await send(update, context, lang, [reply])


async def remove_confirmed(update: Update, context: Context) -> None:
    """Take the member out: their messages stop, they hear of it once, the log says so."""
    membership_id = button_id(_data(update), MANAGE_REMOVE_YES_PREFIX)
    refusal = "common.button_expired"
    replies: list[Reply] = []
    removal: members.Removal | None = None
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        if membership_id is not None:
            try:
                removal = await members.remove_member(
                    uow.session,
                    uow.user,
                    membership_id,
                    programmes=uow.app.programmes,
                    rules=uow.app.rules,
                    now=uow.app.clock.now(),
                )
            except auth.NotAllowed as refused:
                refusal = refused.key
            else:
                if removal.outcome is members.RemoveOutcome.REMOVED:
                    assert removal.exchange_id is not None
                    exchange = await exchanges.load_exchange(uow.session, removal.exchange_id)
                    assert exchange is not None
                    replies = views.removed(uow.app.texts, lang, exchange, removal)
    if removal is None or removal.outcome is not members.RemoveOutcome.REMOVED:
        if removal is not None:
            refusal = (
                "manage.not_yourself"
                if removal.outcome is members.RemoveOutcome.SELF
                else "manage.already_removed"
            )
        await _refuse(update, context, lang, refusal)
        await clear_buttons(update, context)
        return
    await answer_callback(update, context, lang)
    await clear_buttons(update, context)
    await send(update, context, lang, replies)
    await _refresh_menu(context, removal.menu)
    kick(context.application)


async def cancel_pressed(update: Update, context: Context) -> None:
    """Keep things as they are (taking a member out, archiving)."""
    async with reading(update, context) as uow:
        lang = uow.lang
    await answer_callback(update, context, lang)
    await clear_buttons(update, context)
    await send(update, context, lang, [Reply("manage.cancelled")])


# -- invite links, archiving, the log ----------------------------------------------------------


async def _invites_view(uow: Unit, exchange_id: int) -> list[Reply] | None:
    exchange = await members.pair(uow.session, uow.user, exchange_id, Action.INVITE)
    links = await members.open_invites(
        uow.session, uow.user, exchange_id, now=uow.app.clock.now(), tz=uow.app.settings.tz
    )
    return [views.invites_view(uow.app.texts, uow.lang, exchange, links)]


async def invites_pressed(update: Update, context: Context) -> None:
    """Show the pair's links that still work: make new ones, or revoke them all."""
    await _view(update, context, button_id(_data(update), MANAGE_INVITES_PREFIX), _invites_view)


async def revoke_all_pressed(update: Update, context: Context) -> None:
    """Revoke every link of the pair that still works."""
    exchange_id = button_id(_data(update), MANAGE_REVOKE_ALL_PREFIX)
    count: int | None = None
    refusal = "common.button_expired"
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        if exchange_id is not None:
            try:
                count = await members.revoke_open_invites(
                    uow.session, uow.user, exchange_id, now=uow.app.clock.now()
                )
            except auth.NotAllowed as refused:
                refusal = refused.key
    if count is None:
        await _refuse(update, context, lang, refusal)
        return
    await answer_callback(update, context, lang, "invites.revoked_toast", count=count)
    await clear_buttons(update, context)
    if count:
        links = app_context(context).texts.amount(lang, "manage.links", count)
        await send(update, context, lang, [Reply("manage.revoked_all", {"links": links})])


async def _archive_view(uow: Unit, exchange_id: int) -> list[Reply] | None:
    exchange = await members.pair(uow.session, uow.user, exchange_id, Action.ARCHIVE)
    buttons = (
        (
            Btn(action(ARCHIVE_PREFIX, exchange.id), key="archive.btn_confirm"),
            Btn(action(MANAGE_CANCEL_PREFIX, exchange.id), key="manage.btn_cancel"),
        ),
    )
    return [Reply("archive.confirm", {"label": exchanges.label(exchange)}, buttons=buttons)]


async def archive_pressed(update: Update, context: Context) -> None:
    """Ask to archive the pair (the archive button of /archiveren confirms)."""
    await _view(update, context, button_id(_data(update), MANAGE_ARCHIVE_PREFIX), _archive_view)


async def log_pressed(update: Update, context: Context) -> None:
    """Show a page of the pair's log, newest first ('Oudere…' for the page before)."""
    exchange_id, before_id, valid = parse_log_page(_data(update))

    async def view(uow: Unit, exchange_id: int) -> list[Reply] | None:
        page = await members.log(uow.session, uow.user, exchange_id, before_id=before_id)
        programme = uow.app.programmes.get(page.exchange.programme_key)
        return [
            audit_texts.log_view(
                uow.app.texts,
                uow.lang,
                page,
                programme,
                tz=uow.app.settings.tz,
                first=before_id is None,
            )
        ]

    await _view(update, context, exchange_id if valid else None, view)


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler(aliases("beheer"), manage))
    handlers = (
        (MANAGE_PREFIX, menu_pressed),
        (MANAGE_DAYS_PREFIX, days_pressed),
        (MANAGE_DAY_PREFIX, day_pressed),
        (MANAGE_TOGGLE_PREFIX, toggle_pressed),
        (MANAGE_CANDIDATES_PREFIX, candidates_pressed),
        (MANAGE_PICK_PREFIX, pick_pressed),
        (MANAGE_MEMBERS_PREFIX, members_pressed),
        (MANAGE_REMOVE_PREFIX, remove_pressed),
        (MANAGE_REMOVE_YES_PREFIX, remove_confirmed),
        (MANAGE_CANCEL_PREFIX, cancel_pressed),
        (MANAGE_INVITES_PREFIX, invites_pressed),
        (MANAGE_REVOKE_ALL_PREFIX, revoke_all_pressed),
        (MANAGE_ARCHIVE_PREFIX, archive_pressed),
        (LOG_PREFIX, log_pressed),
    )
    for prefix, callback in handlers:
        app.add_handler(CallbackQueryHandler(callback, pattern=action_pattern(prefix)))
