"""/start (with or without an invite token), /help and /taal."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import BotApplication, app_context
from bot.domain.agreement import open_days
from bot.domain.permissions import Role, commands_for
from bot.handlers.common import (
    Context,
    answer_callback,
    chat_id_of,
    clear_buttons,
    reading,
    send,
    unit_of_work,
)
from bot.menus import aliases, command_name, set_user_menu
from bot.services import exchanges, invites
from bot.services.exchanges import side_of, title
from bot.services.users import set_language
from bot.texts import Markup
from bot.ui import views
from bot.ui.callbacks import LANGUAGE_PREFIX, action, action_pattern
from bot.ui.outbox import agree_button
from bot.ui.replies import Btn, Reply
from db.models import ROLE_TEACHER


def _greeting_key(roles: set[Role]) -> str:
    if Role.COORDINATOR in roles:
        return "start.coordinator"
    if roles:
        return "start.member"
    return "start.stranger"


async def start(update: Update, context: Context) -> None:
    """Greet the user, or join them to an exchange through an invite token."""
    token = context.args[0] if context.args else None
    replies: list[Reply] = []
    # Only joining with a token changes something; a greeting reads.
    unit = unit_of_work if token else reading
    async with unit(update, context) as uow:
        app = uow.app
        if token:
            try:
                joined = await invites.join(
                    uow.session,
                    uow.user,
                    token,
                    programmes=app.programmes,
                    rules=app.rules,
                    now=app.clock.now(),
                )
            except invites.InviteError as problem:
                if problem.problem is invites.InviteProblem.LOCKED and problem.retry_after:
                    minutes = max(1, round(problem.retry_after.total_seconds() / 60))
                    replies.append(
                        Reply(
                            "join.locked",
                            {"wait": app.texts.amount(uow.lang, "common.minutes", minutes)},
                        )
                    )
                else:
                    replies.append(Reply("join.invalid"))
            else:
                exchange = await exchanges.load_exchange(uow.session, joined.exchange_id)
                assert exchange is not None
                programme = app.programmes[exchange.programme_key]
                if joined.role == ROLE_TEACHER and joined.side:
                    side = side_of(exchange, joined.side)
                    key = "join.welcome_teacher"
                    params: dict[str, object] = {
                        "school": side.school.name,
                        "class_name": side.class_name,
                    }
                else:
                    key = "join.welcome_begeleider"
                    params = {}
                if joined.already_member:
                    key = "join.already_member"
                next_step = views.next_step(
                    app.texts,
                    uow.lang,
                    exchange,
                    programme,
                    joined.role,
                    app.today(),
                )
                # Teachers agree their dates first: ask for it at once, with the button.
                buttons: tuple[tuple[Btn, ...], ...] = ()
                if joined.role == ROLE_TEACHER and open_days(
                    programme, exchange.phases, app.today()
                ):
                    ask = app.texts.get(uow.lang, "join.agree_ask")
                    next_step = Markup(f"{next_step}\n\n{ask}")
                    buttons = ((agree_button(exchange.id),),)
                params.update(name=uow.user.display_name, title=title(exchange), next=next_step)
                replies.append(Reply(key, params, buttons=buttons))
        roles = await uow.roles()
        if not token:
            replies.append(Reply(_greeting_key(roles), {"name": uow.user.display_name}))
        lang = uow.lang
    await send(update, context, lang, replies)
    await set_user_menu(context.bot, app_context(context).texts, chat_id_of(update), lang, roles)


async def help_command(update: Update, context: Context) -> None:
    """List the user's commands, one line each."""
    async with reading(update, context) as uow:
        roles = await uow.roles()
        lang = uow.lang
    texts = app_context(context).texts
    lines = [
        texts.get(
            lang,
            "help.line",
            command=command_name(c, lang),
            description=texts.plain(lang, f"commands.{c}"),
        )
        for c in commands_for(roles)
    ]
    await send(update, context, lang, [Reply("help.text", {"lines": Markup("\n".join(lines))})])


def _language_buttons() -> tuple[tuple[Btn, ...], ...]:
    return (
        (
            Btn(action(LANGUAGE_PREFIX, "nl"), key="language.dutch"),
            Btn(action(LANGUAGE_PREFIX, "en"), key="language.english"),
        ),
    )


async def _switch(update: Update, context: Context, choice: str) -> None:
    async with unit_of_work(update, context) as uow:
        await set_language(uow.session, uow.user.id, choice)
        roles = await uow.roles()
    await send(update, context, choice, [Reply("language.changed")])
    chat = update.effective_chat
    if chat is not None:
        await set_user_menu(context.bot, app_context(context).texts, chat.id, choice, roles)


async def language(update: Update, context: Context) -> None:
    """Switch between Dutch and English (`/taal en`), or offer the choice."""
    choice = context.args[0].lower() if context.args else None
    if choice in ("nl", "en"):
        await _switch(update, context, choice)
        return
    async with reading(update, context) as uow:
        lang = uow.lang
    key = "language.choose" if choice is None else "language.unknown"
    await send(update, context, lang, [Reply(key, buttons=_language_buttons())])


async def language_chosen(update: Update, context: Context) -> None:
    """Apply the language button that was pressed."""
    query = update.callback_query
    assert query is not None and query.data is not None
    choice = query.data.removeprefix(LANGUAGE_PREFIX)
    if choice not in ("nl", "en"):
        await answer_callback(
            update, context, app_context(context).settings.default_language, "common.button_expired"
        )
        return
    await answer_callback(update, context, choice)
    await clear_buttons(update, context)
    await _switch(update, context, choice)


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("help", help_command))
    app.add_handler(CommandHandler(aliases("taal"), language))
    app.add_handler(CallbackQueryHandler(language_chosen, pattern=action_pattern(LANGUAGE_PREFIX)))
