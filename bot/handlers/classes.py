"""/klas: the number of pupils per class, which headcounts are checked against."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot.context import BotApplication
from bot.domain.exchange_input import InputError, clean_class_size
from bot.domain.numbers import read_id
from bot.handlers.common import Context, Unit, reading, send, unit_of_work
from bot.menus import aliases
from bot.services import auth, exchanges
from bot.texts import Markup
from bot.ui.replies import Reply
from db.models import ROLE_TEACHER


async def _sizes(uow: Unit) -> list[Reply]:
    lines = []
    for exchange in await exchanges.visible_exchanges(uow.session, uow.user):
        for side in exchange.sides:
            lines.append(
                uow.app.texts.get(
                    uow.lang,
                    "classes.line",
                    id=exchange.id,
                    side=side.side,
                    school=side.school.name,
                    class_name=side.class_name,
                    size=side.class_size,
                )
            )
    if not lines:
        return [Reply("programme.none")]
    return [Reply("classes.view", {"lines": Markup("\n".join(lines))}), Reply("classes.usage")]


async def _teacher_side(uow: Unit) -> tuple[int, str] | None:
    """The one class the user teaches (None if none, or several: then they say which)."""
    own = [
        (m.exchange_id, m.side)
        for e in await exchanges.visible_exchanges(uow.session, uow.user)
        for m in e.memberships
        if m.user_id == uow.user.id and m.role == ROLE_TEACHER and m.side
    ]
    return own[0] if len(own) == 1 else None


async def class_size(update: Update, context: Context) -> None:
    """Show the class sizes, or change one: `/klas 25` (own class) or `/klas 12 A 25`."""
    args = context.args or []
    # Only a change writes; showing the sizes or the usage reads.
    unit = unit_of_work if args else reading
    async with unit(update, context) as uow:
        lang = uow.lang
        target: tuple[int, str] | None = None
        raw_size = args[-1] if args else ""
        if len(args) == 1:
            target = await _teacher_side(uow)
        elif len(args) == 3 and args[1].upper() in ("A", "B"):
            exchange_id = read_id(args[0].lstrip("#"))
            target = (exchange_id, args[1].upper()) if exchange_id is not None else None
        if not args:
            replies = await _sizes(uow)
        elif target is None:
            replies = [Reply("classes.usage")]
        else:
            replies = await _change(uow, target, raw_size)
    await send(update, context, lang, replies)


async def _change(uow: Unit, target: tuple[int, str], raw_size: str) -> list[Reply]:
    exchange_id, side = target
    try:
        size = clean_class_size(raw_size)
        await exchanges.set_class_size(
            uow.session, uow.user, exchange_id, side, size, now=uow.app.clock.now()
        )
    except InputError as problem:
        return [Reply(problem.key, problem.params), Reply("classes.usage")]
    except auth.NotAllowed as refusal:
        return [Reply(refusal.key)]
    exchange = await exchanges.load_exchange(uow.session, exchange_id)
    assert exchange is not None
    school = exchanges.side_of(exchange, side).school.name
    return [Reply("classes.changed", {"school": school, "size": size})]


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler(aliases("klas"), class_size))
