"""Bot commands per scope/language, menu buttons, file upload and download."""

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InputFile,
    MenuButtonCommands,
)
from telegram.error import BadRequest

from fake_telegram import FakeTelegram


async def test_commands_per_scope_and_language(bot: Bot, tg: FakeTelegram):
    tg.open_chat(tg.user(4004))
    await bot.set_my_commands([BotCommand("start", "Begin"), BotCommand("help", "Hulp")])
    await bot.set_my_commands([BotCommand("start", "Start")], language_code="en")
    await bot.set_my_commands(
        [BotCommand("admin", "Beheer")], scope=BotCommandScopeChat(4004), language_code="nl"
    )
    await bot.set_my_commands([BotCommand("stop", "Stop")], scope=BotCommandScopeAllPrivateChats())

    assert tg.commands() == [("start", "Begin"), ("help", "Hulp")]
    assert tg.commands({"type": "default"}) == tg.commands()
    assert tg.commands(language_code="en") == [("start", "Start")]
    assert tg.commands({"type": "chat", "chat_id": 4004}, "nl") == [("admin", "Beheer")]
    # No fallback between scopes or languages, exactly like getMyCommands.
    assert tg.commands({"type": "chat", "chat_id": 4004}) == []
    assert tg.commands({"type": "all_private_chats"}) == [("stop", "Stop")]

    fetched = await bot.get_my_commands(scope=BotCommandScopeChat(4004), language_code="nl")
    assert [(c.command, c.description) for c in fetched] == [("admin", "Beheer")]
    assert await bot.get_my_commands(language_code="de") == ()

    assert await bot.delete_my_commands(language_code="en")
    assert tg.commands(language_code="en") == []
    assert tg.commands() == [("start", "Begin"), ("help", "Hulp")]


async def test_command_validation(bot: Bot):
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Start!", "x")])
    with pytest.raises(BadRequest, match=r"(?i)^chat not found$"):
        await bot.set_my_commands([BotCommand("start", "x")], scope=BotCommandScopeChat(1))


async def test_menu_button(bot: Bot, tg: FakeTelegram):
    tg.open_chat(tg.user(4004))
    assert await bot.set_chat_menu_button(4004, MenuButtonCommands())
    assert (await bot.get_chat_menu_button(4004)).type == "commands"
    assert (await bot.get_chat_menu_button()).type == "default"
    assert tg.menu_button(4004) == {"type": "commands"}


async def test_send_document_upload_and_download(bot: Bot, tg: FakeTelegram):
    tg.open_chat(tg.user(4004))
    content = b"naam;school\nAnna;De Wijk\n"
    sent = await bot.send_document(
        4004,
        InputFile(content, filename="deelnemers.csv"),
        caption="<b>Export</b>",
        parse_mode="HTML",
    )
    assert sent.document.file_name == "deelnemers.csv"
    assert sent.document.file_size == len(content)
    assert sent.caption == "Export"
    assert sent.caption_entities[0].type == "bold"

    stored = tg.last_message(4004)
    assert stored.document.filename == "deelnemers.csv"
    assert stored.document.content == content
    assert stored.document.mime_type == "text/csv"
    assert stored.text == "Export"

    upload = tg.calls_to("sendDocument")[0].params["document"]
    assert upload.filename == "deelnemers.csv"
    assert upload.content == content

    telegram_file = await bot.get_file(sent.document.file_id)
    assert telegram_file.file_path.startswith(tg.base_file_url)
    assert bytes(await telegram_file.download_as_bytearray()) == content

    # Resending by file_id reuses the stored file.
    again = await bot.send_document(4004, sent.document.file_id)
    assert again.document.file_id == sent.document.file_id
    assert tg.last_message(4004).document.content == content


async def test_document_errors(bot: Bot, tg: FakeTelegram):
    tg.open_chat(tg.user(4004))
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_document(4004, "no-such-file-id")
    with pytest.raises(BadRequest, match=r"(?i)file must be non-empty"):
        await bot.send_document(4004, b"", filename="leeg.txt")
    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await bot.get_file("no-such-file-id")


async def test_send_photo_and_user_photo(bot: Bot, tg: FakeTelegram):
    anna = tg.user(4004, "Anna")
    tg.push_photo(anna, caption="Onze tekening", content=b"\xff\xd8tekening")
    (update,) = await bot.get_updates()
    photo = update.message.photo
    assert len(photo) == 3
    assert update.message.caption == "Onze tekening"
    assert len({size.file_id for size in photo}) == 3
    downloaded = await (await bot.get_file(photo[-1].file_id)).download_as_bytearray()
    assert bytes(downloaded) == b"\xff\xd8tekening"
    # Smaller sizes are downloadable too.
    small = await bot.get_file(photo[0].file_id)
    assert small.file_id == photo[0].file_id

    # The bot forwards the user's photo by file_id, then uploads a new one.
    sent = await bot.send_photo(4004, photo[-1].file_id, caption="Ontvangen")
    assert sent.photo[-1].file_id == photo[-1].file_id
    uploaded = await bot.send_photo(4004, b"\xff\xd8nieuw")
    assert tg.last_message(4004).photo.content == b"\xff\xd8nieuw"
    assert tg.last_message(4004).text is None
    assert uploaded.photo[-1].width == 800


async def test_push_document_and_location(bot: Bot, tg: FakeTelegram):
    anna = tg.user(4004, "Anna")
    tg.push_document(anna, b"a;b\n", filename="lijst.csv", caption="hier")
    tg.push_location(anna, 52.09, 5.12)
    document_update, location_update = await bot.get_updates()
    assert document_update.message.document.file_name == "lijst.csv"
    assert document_update.message.document.mime_type == "text/csv"
    assert location_update.message.location.latitude == pytest.approx(52.09)
    data = await (
        await bot.get_file(document_update.message.document.file_id)
    ).download_as_bytearray()
    assert bytes(data) == b"a;b\n"


async def test_download_needs_the_token(tg: FakeTelegram, bot: Bot):
    tg.open_chat(tg.user(4004))
    sent = await bot.send_document(4004, b"geheim", filename="x.txt")
    path = (await bot.get_file(sent.document.file_id)).file_path
    async with httpx.AsyncClient() as client:
        assert (await client.get(path)).content == b"geheim"
        wrong = path.replace(tg.token, "1:WRONG")
        assert (await client.get(wrong)).status_code == 401
        missing = path.rsplit("/", 1)[0] + "/nothing.bin"
        assert (await client.get(missing)).status_code == 404
