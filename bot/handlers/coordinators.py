"""Coordinator rights: /aanstellen and /intrekken, and matching COORDINATOR_IDS at start-up."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import CommandHandler

from bot.context import KEY, AppContext, BotApplication
from bot.domain.numbers import read_int
from bot.domain.permissions import Role
from bot.handlers.common import Context, reading, send, unit_of_work
from bot.menus import aliases, set_user_menu
from bot.services import auth, users
from bot.services.users import RightsError, RightsProblem, roles_of
from bot.ui.replies import Reply
from db.models import User

log = logging.getLogger(__name__)

# Telegram user ids are positive and below 2**52.
MAX_TELEGRAM_ID = 2**52


PROBLEM_KEYS = {
    RightsProblem.UNKNOWN_USER: "coordinators.unknown_user",
    RightsProblem.ALREADY: "coordinators.already",
    RightsProblem.NOT_COORDINATOR: "coordinators.not_coordinator",
    RightsProblem.FROM_SETTING: "coordinators.from_setting",
    RightsProblem.NOT_YOURS: "coordinators.not_yours",
    RightsProblem.SELF: "coordinators.self",
}

MenuFacts = tuple[int, str, set[Role]]


async def _update_menus(application: BotApplication, changed: list[MenuFacts]) -> None:
    """Give each changed user the command menu of their roles now."""
    app: AppContext = application.bot_data[KEY]
    for user_id, lang, roles in changed:
        try:
            await set_user_menu(application.bot, app.texts, user_id, lang, roles)
        except TelegramError as error:
            log.warning("Could not update the menu of user %s: %s", user_id, error)


async def _menu_facts(session: AsyncSession, user: User) -> MenuFacts:
    return user.id, user.language, await roles_of(session, user)


async def sync_at_start(application: BotApplication) -> None:
    """Grant and take away rights so they match COORDINATOR_IDS; menus follow."""
    app: AppContext = application.bot_data[KEY]
    async with app.db.write() as session:
        changed = await users.sync_coordinators(
            session, app.settings.coordinator_ids, now=app.clock.now()
        )
        facts = [await _menu_facts(session, user) for user in changed]
    await _update_menus(application, facts)


async def _change(update: Update, context: Context, *, grant: bool) -> None:
    args = context.args or []
    target_id = read_int(args[0].lstrip("#"), lo=1, hi=MAX_TELEGRAM_ID) if len(args) == 1 else None
    usage, done = (
        ("coordinators.grant_usage", "coordinators.grant_done")
        if grant
        else ("coordinators.revoke_usage", "coordinators.revoke_done")
    )
    facts = None
    # Without a valid id only the usage is shown, which changes nothing.
    unit = reading if target_id is None else unit_of_work
    async with unit(update, context) as uow:
        lang = uow.lang
        change = users.grant_coordinator if grant else users.revoke_coordinator
        if target_id is None:
            # Only coordinators learn how the command works.
            key = usage if uow.user.is_coordinator else "auth.not_allowed"
            replies = [Reply(key)]
        else:
            try:
                target = await change(uow.session, uow.user, target_id, now=uow.app.clock.now())
            except auth.NotAllowed as refusal:
                replies = [Reply(refusal.key)]
            except RightsError as problem:
                replies = [Reply(PROBLEM_KEYS[problem.problem], {"id": target_id})]
            else:
                facts = await _menu_facts(uow.session, target)
                replies = [Reply(done, {"name": target.display_name, "id": target.id})]
    await send(update, context, lang, replies)
    if facts is not None:
        await _update_menus(context.application, [facts])


async def appoint(update: Update, context: Context) -> None:
    """Make someone who has used the bot a coordinator: `/aanstellen 123456789`."""
    await _change(update, context, grant=True)


async def revoke(update: Update, context: Context) -> None:
    """Take back coordinator rights one granted: `/intrekken 123456789`."""
    await _change(update, context, grant=False)


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler(aliases("aanstellen"), appoint))
    app.add_handler(CommandHandler(aliases("intrekken"), revoke))
