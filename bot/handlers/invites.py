"""/uitnodigen: invite links per role for an exchange, and revoking them."""

from __future__ import annotations

from datetime import timedelta

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import BotApplication, app_context
from bot.domain.dates import format_date
from bot.domain.numbers import read_id
from bot.domain.permissions import Action
from bot.handlers.common import (
    Context,
    answer_callback,
    edit_pressed,
    exchange_buttons,
    exchange_page,
    reading,
    send,
    unit_of_work,
)
from bot.menus import aliases
from bot.services import auth, exchanges, invites
from bot.texts import Markup
from bot.ui import callbacks
from bot.ui.callbacks import INVITE_PREFIX, REVOKE_PREFIX, action_pattern, button_id, page_of
from bot.ui.replies import Btn, Reply, text


def _link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username}?start={token}"


async def _invite_replies(
    update: Update, context: Context, exchange_id: int
) -> tuple[str, list[Reply]]:
    app = app_context(context)
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        try:
            await auth.require_exchange(uow.session, uow.user, Action.INVITE, exchange_id)
        except auth.NotAllowed as refusal:
            return lang, [Reply(refusal.key)]
        exchange = await exchanges.load_exchange(uow.session, exchange_id)
        assert exchange is not None
        created = await invites.create_invites(
            uow.session,
            exchange,
            created_by=uow.user.id,
            now=app.clock.now(),
            ttl=timedelta(days=app.settings.invite_ttl_days),
            tz=app.settings.tz,
            teacher_uses=app.settings.invite_teacher_uses,
            begeleider_uses=app.settings.invite_begeleider_uses,
        )
        lines = []
        for new in created:
            invite = new.invite
            if invite.side:
                school = exchanges.side_of(exchange, invite.side).school.name
                label = app.texts.get(lang, "invites.for_teacher", side=invite.side, school=school)
            else:
                label = app.texts.get(lang, "invites.for_begeleider")
            lines.append(
                app.texts.get(
                    lang,
                    "invites.line",
                    label=Markup(label),
                    link=_link(app.bot_username, new.token),
                    people=app.texts.amount(lang, "common.people", invite.max_uses),
                )
            )
        # Stored as the first moment the links no longer work; people read the last day.
        expires = (created[0].invite.expires_at - timedelta(seconds=1)).astimezone(app.settings.tz)
        ids = [n.invite.id for n in created]
        revoke = Btn(callbacks.revoke(exchange_id, ids), key="invites.btn_revoke")
        reply = Reply(
            "invites.links",
            {
                "id": exchange.id,
                "title": exchanges.title(exchange),
                "lines": Markup("\n\n".join(lines)),
                "expires": format_date(expires.date(), lang),
            },
            buttons=((revoke,),),
        )
    return lang, [reply]


async def invite(update: Update, context: Context) -> None:
    """Make invite links for an exchange: `/uitnodigen 12`, or choose with a button."""
    arg = context.args[0].lstrip("#") if context.args else None
    exchange_id = read_id(arg) if arg is not None else None
    if exchange_id is not None:
        lang, replies = await _invite_replies(update, context, exchange_id)
        await send(update, context, lang, replies)
        return
    async with reading(update, context) as uow:
        lang = uow.lang
        try:
            await auth.require(uow.session, uow.user, Action.VIEW_ALL_EXCHANGES)
        except auth.NotAllowed:
            replies = [Reply("auth.not_allowed")]
            choices = None
        else:
            choices = list(await exchanges.visible_exchanges(uow.session, uow.user))
            replies = []
    if choices is None:
        await send(update, context, lang, replies)
        return
    if arg is not None:
        await send(update, context, lang, [Reply("invites.bad_number")])
        return
    if not choices:
        await send(update, context, lang, [Reply("programme.none_coordinator")])
        return
    if len(choices) == 1:
        lang, replies = await _invite_replies(update, context, choices[0].id)
        await send(update, context, lang, replies)
        return
    buttons = exchange_buttons(INVITE_PREFIX, choices)
    await send(
        update,
        context,
        lang,
        [Reply("invites.choose", {"count": len(choices)}, buttons=buttons)],
    )


async def invite_chosen(update: Update, context: Context) -> None:
    """Make links for the exchange whose button was pressed."""
    query = update.callback_query
    assert query is not None and query.data is not None
    offset = page_of(query.data.removeprefix(INVITE_PREFIX))
    if offset is not None:
        await exchange_page(update, context, prefix=INVITE_PREFIX, offset=offset)
        return
    exchange_id = button_id(query.data, INVITE_PREFIX)
    if exchange_id is None:
        await answer_callback(
            update, context, app_context(context).settings.default_language, "common.button_expired"
        )
        return
    lang, replies = await _invite_replies(update, context, exchange_id)
    await answer_callback(update, context, lang)
    await send(update, context, lang, replies)


async def revoke(update: Update, context: Context) -> None:
    """Revoke the links of one /uitnodigen message and take them out of the chat."""
    query = update.callback_query
    assert query is not None and query.data is not None
    exchange_id, read = callbacks.parse_revoke(query.data)
    ids = [i for i in read if i is not None]
    app = app_context(context)
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        allowed, count = False, 0
        if exchange_id is not None and ids and len(ids) == len(read):
            try:
                await auth.require_exchange(uow.session, uow.user, Action.INVITE, exchange_id)
            except auth.NotAllowed:
                pass
            else:
                allowed = True
                count = await invites.revoke_invites(
                    uow.session, exchange_id, ids, now=app.clock.now(), by=uow.user.id
                )
    if not allowed:
        await answer_callback(update, context, lang, "auth.not_allowed")
        return
    await answer_callback(update, context, lang, "invites.revoked_toast", count=count)
    if count:
        # A second tap finds nothing left to revoke: the message already says what was done.
        revoked = Reply("invites.revoked", {"id": exchange_id, "count": count})
        await edit_pressed(update, context, text=text(app.texts, lang, revoked))


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler(aliases("uitnodigen"), invite))
    app.add_handler(CallbackQueryHandler(invite_chosen, pattern=action_pattern(INVITE_PREFIX)))
    app.add_handler(CallbackQueryHandler(revoke, pattern=action_pattern(REVOKE_PREFIX)))
