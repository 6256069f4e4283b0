"""Texts about schools and whom to call: addresses, shared phone numbers, the /school view.

Used by /school and by every text that says where a day is and whom to call (the day
schedule, /vandaag, /programma). Runs no queries."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.phones import format_phone
from bot.services.exchanges import side_of, title
from bot.services.schools import PhoneContact, Reader, shares_phone
from bot.texts import Markup, Texts
from bot.ui import callbacks
from bot.ui.replies import Btn
from db.models import Exchange, School, User


def address(texts: Texts, lang: str, school: School, *, hint: bool) -> str:
    """The school's address, or that it is missing (with "/school" for whoever can fill it
    in: `hint`)."""
    if school.address:
        return school.address
    return texts.plain(lang, "schools.no_address_hint" if hint else "schools.no_address")


def address_lines(
    texts: Texts, lang: str, exchange: Exchange, host: str, reader: Reader
) -> list[str]:
    """Both schools with their address, the host school (the place of the day) first."""
    order = [host, "B" if host == "A" else "A"] if host in ("A", "B") else ["A", "B"]
    lines = []
    for letter in order:
        school = side_of(exchange, letter).school
        key = "schools.place_line" if letter == host else "schools.school_line"
        lines.append(
            texts.get(
                lang,
                key,
                school=school.name,
                address=address(texts, lang, school, hint=letter in reader.edits),
            )
        )
    return lines


def phone_lines(
    texts: Texts, lang: str, contacts: Sequence[PhoneContact], reader: Reader
) -> list[str]:
    """The numbers to call on the day; when nobody shared one, say so (with /school for those
    who can share theirs)."""
    if not contacts:
        hint = bool(reader.edits)
        return [texts.get(lang, "schools.phones_none_hint" if hint else "schools.phones_none")]
    lines = [texts.get(lang, "schools.phones_header")]
    for contact in contacts:
        phone = format_phone(contact.phone)
        if contact.school is None:
            lines.append(
                texts.get(lang, "schools.phone_coordinator", name=contact.name, phone=phone)
            )
        else:
            lines.append(
                texts.get(
                    lang,
                    "schools.phone_teacher",
                    name=contact.name,
                    school=contact.school,
                    phone=phone,
                )
            )
    return lines


def own_phone(texts: Texts, lang: str, user: User) -> str:
    """The user's own number and whether others see it."""
    if user.phone is None:
        return texts.get(lang, "schools.phone_none")
    key = "schools.phone_shared" if shares_phone(user) else "schools.phone_not_shared"
    return texts.get(lang, key, phone=format_phone(user.phone))


def phone_buttons(user: User, exchange_id: int | None) -> list[tuple[Btn, ...]]:
    """Type a number; share it or stop sharing; forget it."""

    def b(what: str, key: str) -> Btn:
        return Btn(callbacks.school_action(what, exchange_id), key=key)

    rows_: list[tuple[Btn, ...]] = [
        (b("phone", "schools.btn_phone_change" if user.phone else "schools.btn_phone"),)
    ]
    if user.phone is not None:
        if shares_phone(user):
            rows_.append((b("stop", "schools.btn_stop_sharing"),))
        else:
            rows_.append((b("share", "schools.btn_share"),))
        rows_.append((b("forget", "schools.btn_forget"),))
    return rows_


def view(
    texts: Texts, lang: str, exchange: Exchange, user: User, reader: Reader
) -> tuple[Markup, tuple[tuple[Btn, ...], ...]]:
    """/school for one exchange: the schools the user looks after with their address, their
    own number, and the buttons to change them."""
    lines = [texts.get(lang, "exchange.heading", id=exchange.id, title=title(exchange))]
    buttons: list[tuple[Btn, ...]] = []
    for letter in sorted(reader.edits):
        school = side_of(exchange, letter).school
        lines.append(
            texts.get(
                lang,
                "schools.school_line",
                school=school.name,
                address=address(texts, lang, school, hint=False),
            )
        )
        key = "schools.btn_address" if len(reader.edits) == 1 else "schools.btn_address_of"
        buttons.append(
            (
                Btn(
                    callbacks.school_action(letter, exchange.id),
                    key=key,
                    params={"school": school.name},
                ),
            )
        )
    lines += ["", own_phone(texts, lang, user), texts.get(lang, "schools.phone_explained")]
    buttons += phone_buttons(user, exchange.id)
    return Markup("\n".join(lines)), tuple(buttons)


def phone_view(texts: Texts, lang: str, user: User) -> tuple[Markup, tuple[tuple[Btn, ...], ...]]:
    """/school's part about the user's own number, outside any exchange."""
    lines = [own_phone(texts, lang, user), texts.get(lang, "schools.phone_explained")]
    return Markup("\n".join(lines)), tuple(phone_buttons(user, None))
