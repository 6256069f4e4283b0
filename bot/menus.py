"""Per-user command menus (setMyCommands with a chat scope) that match the user's roles."""

from __future__ import annotations

from collections.abc import Collection

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
)

from bot.domain.permissions import Role, commands_for
from bot.texts import Texts

# Commands have a Dutch and an English name; both always work, the menu shows the user's.
ENGLISH_NAMES = {
    "nieuw": "new",
    "wijzig": "edit",
    "uitnodigen": "invite",
    "programma": "programme",
    "taal": "language",
    "annuleren": "cancel",
    "vandaag": "today",
    "datum": "date",
    "agenda": "calendar",
    "berichten": "messages",
    "aanwezig": "present",
    "incidenten": "incidents",
    "klas": "class",
    "archiveren": "archive",
    "aanstellen": "appoint",
    "intrekken": "revoke",
    "overzicht": "overview",
    "bericht": "broadcast",
    "beheer": "manage",
    "groep": "group",
    "rapport": "report",
    "instellingen": "settings",
}


def command_name(command: str, lang: str) -> str:
    return ENGLISH_NAMES.get(command, command) if lang == "en" else command


def aliases(command: str) -> list[str]:
    english = ENGLISH_NAMES.get(command)
    return [command, english] if english else [command]


def menu(texts: Texts, lang: str, roles: Collection[Role]) -> list[BotCommand]:
    return [
        BotCommand(command_name(c, lang), texts.plain(lang, f"commands.{c}"))
        for c in commands_for(roles)
    ]


async def set_user_menu(
    bot: Bot, texts: Texts, chat_id: int, lang: str, roles: Collection[Role]
) -> None:
    await bot.set_my_commands(menu(texts, lang, roles), scope=BotCommandScopeChat(chat_id))


async def set_default_menus(bot: Bot, texts: Texts, default_language: str) -> None:
    """What a user sees before the bot knows them: start, help, language."""
    await bot.set_my_commands(menu(texts, default_language, ()), scope=BotCommandScopeDefault())
    for lang in ("nl", "en"):
        await bot.set_my_commands(
            menu(texts, lang, ()), scope=BotCommandScopeDefault(), language_code=lang
        )
    # In a group the bot only links the group to a pair; it answers nothing else there.
    groups = BotCommandScopeAllGroupChats()
    await bot.set_my_commands(group_menu(texts, default_language), scope=groups)
    for lang in ("nl", "en"):
        await bot.set_my_commands(group_menu(texts, lang), scope=groups, language_code=lang)


def group_menu(texts: Texts, lang: str) -> list[BotCommand]:
    return [BotCommand(command_name("groep", lang), texts.plain(lang, "commands.groep"))]
