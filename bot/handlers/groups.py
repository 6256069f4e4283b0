"""/groep: a code that links a Telegram group to a pair; linking and unlinking in the group;
the bot added to or removed from a group; and its silence there otherwise.

In a private chat a coordinator gets a code (`/groep`, `/groep 12`, or the `grp:` button of an
exchange). In a group, `/groep <code>` links it and `/groep los` unlinks it. Everything else
said in a group is left unanswered: a group is shared with people the bot does not serve
(parents, colleagues), its members' own questions belong in their private chat, and a pointer
under every stray message would be noise for everyone in it. The group's command menu holds
only /groep (bot/menus.py), so nobody is led to try other commands there.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.context import BotApplication, app_context
from bot.domain.numbers import read_id
from bot.domain.permissions import Action
from bot.handlers.common import (
    Context,
    answer_callback,
    exchange_buttons,
    exchange_page,
    reading,
    say,
    send,
    unit_of_work,
)
from bot.jobs.outbox import kick
from bot.menus import aliases, command_name
from bot.services import auth, exchanges, groups
from bot.services.exchanges import title
from bot.ui import groups as views
from bot.ui.callbacks import GROUP_CODE_PREFIX, action_pattern, button_id, page_of
from bot.ui.replies import Reply
from db.models import Exchange

log = logging.getLogger(__name__)

# Before group 0, with bot/handlers/edits.py: a message in a group that is not /groep stops
# here, before any feature handler (or the fallback) could answer it.
QUIET_GROUP = -1
# `/groep los` (or one of these) in a group unlinks it.
UNLINK_WORDS = frozenset({"los", "ontkoppel", "ontkoppelen", "unlink", "off"})
GROUP_TYPES = (ChatType.GROUP, ChatType.SUPERGROUP)
_PRESENT = (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)
_GONE = (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED)
_LINK_ANSWERS = {
    groups.LinkProblem.BAD_CODE: "groups.bad_code",
    groups.LinkProblem.NOT_ALLOWED: "groups.not_allowed",
    groups.LinkProblem.ARCHIVED: "groups.archived",
}


def _in_a_group(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type in GROUP_TYPES


async def group_command(update: Update, context: Context) -> None:
    """`/groep`: a code in a private chat; linking or unlinking in a group."""
    if _in_a_group(update):
        await _in_group(update, context)
    else:
        await _in_private(update, context)


# -- in a private chat: the code -----------------------------------------------------------


async def _code(update: Update, context: Context, exchange_id: int) -> tuple[str, list[Reply]]:
    app = app_context(context)
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        try:
            code = await groups.make_code(
                uow.session, uow.user, exchange_id, now=app.clock.now(), tz=app.settings.tz
            )
        except groups.JustMade:
            return lang, [Reply("groups.code_just_made")]
        except auth.NotAllowed as refusal:
            return lang, [Reply(refusal.key)]
    reply = views.code_reply(
        code, command=command_name("groep", lang), bot_username=app.bot_username, tz=app.settings.tz
    )
    return lang, [reply]


async def _in_private(update: Update, context: Context) -> None:
    arg = context.args[0] if context.args else None
    exchange_id = read_id(arg.lstrip("#")) if arg is not None else None
    if exchange_id is not None:
        lang, replies = await _code(update, context, exchange_id)
        await send(update, context, lang, replies)
        return
    async with reading(update, context) as uow:
        lang = uow.lang
        choices: list[Exchange] | None = None
        if arg is None:
            try:
                await auth.require(uow.session, uow.user, Action.VIEW_ALL_EXCHANGES)
            except auth.NotAllowed:
                pass
            else:
                choices = list(await exchanges.visible_exchanges(uow.session, uow.user))
    if arg is not None:
        # A code (or "los") typed here: it only works in the group itself.
        await say(update, context, lang, "groups.in_private")
        return
    if choices is None:
        await say(update, context, lang, "groups.only_coordinators")
        return
    if not choices:
        await say(update, context, lang, "programme.none_coordinator")
        return
    if len(choices) == 1:
        lang, replies = await _code(update, context, choices[0].id)
        await send(update, context, lang, replies)
        return
    buttons = exchange_buttons(GROUP_CODE_PREFIX, choices)
    await send(update, context, lang, [Reply("groups.choose", buttons=buttons)])


async def code_chosen(update: Update, context: Context) -> None:
    """A code for the exchange whose button was pressed (the chooser, or an exchange's view)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    offset = page_of(query.data.removeprefix(GROUP_CODE_PREFIX))
    if offset is not None:
        await exchange_page(update, context, prefix=GROUP_CODE_PREFIX, offset=offset)
        return
    exchange_id = button_id(query.data, GROUP_CODE_PREFIX)
    if exchange_id is None:
        lang = app_context(context).settings.default_language
        await answer_callback(update, context, lang, "common.button_expired")
        return
    lang, replies = await _code(update, context, exchange_id)
    await answer_callback(update, context, lang)
    await send(update, context, lang, replies)


# -- in a group: linking and unlinking -----------------------------------------------------


async def _in_group(update: Update, context: Context) -> None:
    arg = context.args[0] if context.args else None
    if arg is None:
        await _group_state(update, context)
    elif arg.lower() in UNLINK_WORDS:
        await _unlink(update, context)
    else:
        await _link(update, context, arg)


async def _group_state(update: Update, context: Context) -> None:
    chat = update.effective_chat
    assert chat is not None
    async with reading(update, context) as uow:
        lang = uow.lang
        found = await groups.state(uow.session, chat.id)
    if found.exchange is None:
        await say(update, context, lang, "groups.need_code")
    else:
        await say(update, context, lang, "groups.state", title=title(found.exchange))


async def _link(update: Update, context: Context, code: str) -> None:
    app = app_context(context)
    chat = update.effective_chat
    assert chat is not None
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        linked: groups.Linked | None = None
        try:
            linked = await groups.link(
                uow.session,
                uow.user,
                chat_id=chat.id,
                title=chat.title or "",
                code=code,
                now=app.clock.now(),
                programmes=app.programmes,
                rules=app.rules,
                language=app.settings.default_language,
            )
        except groups.LinkError as refused:
            reply = Reply(_LINK_ANSWERS[refused.problem])
        else:
            # The group's own language: it is written to as the group from now on.
            lang, reply = linked.language, views.linked_reply(linked)
    await send(update, context, lang, [reply])
    if linked is not None and not linked.already:
        # Today's day schedule may be due at once.
        kick(context.application)


async def _unlink(update: Update, context: Context) -> None:
    app = app_context(context)
    chat = update.effective_chat
    assert chat is not None
    async with unit_of_work(update, context) as uow:
        lang = uow.lang
        try:
            exchange = await groups.unlink_by_command(
                uow.session, uow.user, chat.id, now=app.clock.now()
            )
        except LookupError:
            reply = Reply("groups.not_linked")
        except groups.LinkError as refused:
            archived = refused.problem is groups.LinkProblem.ARCHIVED
            reply = Reply("groups.archived_unlink" if archived else "groups.unlink_not_allowed")
        else:
            reply = Reply("groups.unlinked", {"title": title(exchange)})
    await send(update, context, lang, [reply])


# -- the bot added to or removed from a group ----------------------------------------------


async def membership_changed(update: Update, context: Context) -> None:
    """Removed from a group: unlink it. Added: say in one message how it is linked."""
    change = update.my_chat_member
    chat = update.effective_chat
    if change is None or chat is None or chat.type not in GROUP_TYPES:
        return
    app = app_context(context)
    before, now_status = change.old_chat_member.status, change.new_chat_member.status
    if now_status in _GONE:
        # Not a unit of work: whoever removed the bot is not someone the bot needs to know.
        async with app.db.write() as session:
            unlinked = await groups.removed(session, chat.id, now=app.clock.now())
        if unlinked:
            log.info("Removed from group %s: unlinked", chat.id)
        return
    if before in _GONE and now_status in _PRESENT:
        try:
            await say(update, context, app.settings.default_language, "groups.hello")
        except TelegramError as error:
            # A group where the bot may not write yet: linking later still works.
            log.info("Could not greet group %s: %s", chat.id, error)


async def moved_to_supergroup(update: Update, context: Context) -> None:
    """The group became a supergroup (a new chat id): its link follows, silently."""
    message = update.effective_message
    if message is None or message.migrate_to_chat_id is None:
        raise ApplicationHandlerStop
    app = app_context(context)
    async with app.db.write() as session:
        await groups.migrated(
            session,
            message.chat.id,
            message.migrate_to_chat_id,
            now=app.clock.now(),
            programmes=app.programmes,
            rules=app.rules,
        )
    raise ApplicationHandlerStop


async def stay_quiet(update: Update, context: Context) -> None:
    """Anything said in a group other than /groep: no answer, and no other handler runs."""
    raise ApplicationHandlerStop


def register(app: BotApplication) -> None:
    # /groep and /group as commands (also /groep@bot); anything else in a group is not ours.
    names = "|".join(aliases("groep"))
    ours = filters.Regex(rf"^/({names})(@\w+)?(\s|$)")
    migrate = filters.StatusUpdate.MIGRATE
    app.add_handler(MessageHandler(migrate, moved_to_supergroup), group=QUIET_GROUP)
    app.add_handler(MessageHandler(filters.ChatType.GROUPS & ~ours, stay_quiet), group=QUIET_GROUP)
    app.add_handler(CommandHandler(aliases("groep"), group_command))
    app.add_handler(CallbackQueryHandler(code_chosen, pattern=action_pattern(GROUP_CODE_PREFIX)))
    app.add_handler(ChatMemberHandler(membership_changed, ChatMemberHandler.MY_CHAT_MEMBER))
