"""The sandbox's web chat over real HTTP: the JSON API, its guards, live events and files; and
the HTML that Telegram entities turn into."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.sandbox.render import render
from bot.sandbox.runtime import Persona, Sandbox
from bot.sandbox.web import WebServer, format_offset, start_web
from bot.texts import get_texts
from tests.sandbox.support import running_sandbox

TEXTS = get_texts()
JSON = {"Content-Type": "application/json"}


# ---------------------------------------------------------------------------------------------
# Entities → HTML


def test_render_escapes_everything_the_entities_do_not_mark() -> None:
    text = "<script>alert('x')</script> & \"quotes\""
    html = render(text, [{"type": "bold", "offset": 0, "length": 8}])
    assert html == (
        "<b>&lt;script&gt;</b>alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quotes&quot;"
    )
    assert "<script" not in html


def test_render_counts_offsets_in_utf16_units() -> None:
    # Each of these emoji is two UTF-16 code units, so "vet" starts at 7, not at 5.
    text = "😀👍 A vet"
    assert render(text, [{"type": "bold", "offset": 7, "length": 3}]) == "😀👍 A <b>vet</b>"
    assert render(text, [{"type": "italic", "offset": 0, "length": 4}]) == "<i>😀👍</i> A vet"


def test_render_nests_and_reopens_overlapping_entities() -> None:
    text = "een twee drie"
    nested = [
        {"type": "bold", "offset": 0, "length": 13},
        {"type": "italic", "offset": 4, "length": 4},
    ]
    assert render(text, nested) == "<b>een <i>twee</i> drie</b>"
    overlapping = [
        {"type": "bold", "offset": 0, "length": 8},
        {"type": "underline", "offset": 4, "length": 9},
    ]
    assert render(text, overlapping) == "<b>een <u>twee</u></b><u> drie</u>"
    same_range = [
        {"type": "bold", "offset": 0, "length": 3},
        {"type": "spoiler", "offset": 0, "length": 3},
    ]
    assert render(text, same_range) == '<b><span class="spoiler">een</span></b> twee drie'


def test_render_links_only_to_web_and_telegram_addresses() -> None:
    text = "klik hier of daar"
    html = render(
        text,
        [
            {"type": "text_link", "offset": 0, "length": 4, "url": 'https://example.org/?a=1&b="'},
            {"type": "text_link", "offset": 12, "length": 4, "url": "javascript:alert(1)"},
        ],
    )
    assert html == (
        '<a href="https://example.org/?a=1&amp;b=&quot;" rel="noopener noreferrer" '
        'target="_blank">klik</a> hier of daar'
    )
    url = render("zie example.org", [{"type": "url", "offset": 4, "length": 11}])
    assert 'href="http://example.org"' in url


def test_render_keeps_code_quotes_and_line_breaks() -> None:
    text = "a\n<b>\ncitaat"
    html = render(
        text,
        [
            {"type": "pre", "offset": 2, "length": 3, "language": "html"},
            {"type": "blockquote", "offset": 6, "length": 6},
            {"type": "strikethrough", "offset": 0, "length": 1},
            {"type": "custom_emoji", "offset": 0, "length": 1, "custom_emoji_id": "1"},
        ],
    )
    assert html == "<s>a</s>\n<pre>&lt;b&gt;</pre>\n<blockquote>citaat</blockquote>"
    assert render(None) == ""


def test_offsets_are_said_in_days_hours_and_minutes() -> None:
    assert format_offset(TEXTS, "nl", timedelta(0)) == ""
    assert format_offset(TEXTS, "nl", timedelta(days=8, hours=2, minutes=5)) == "+8 dagen 2 uur"
    assert format_offset(TEXTS, "en", timedelta(hours=1)) == "+1 hour"
    assert format_offset(TEXTS, "nl", timedelta(minutes=-90)) == "-1 uur 30 minuten"


# ---------------------------------------------------------------------------------------------
# The API


class Page:
    """A client of the web chat that speaks to it as the page does."""

    def __init__(self, server: WebServer, session: aiohttp.ClientSession) -> None:
        self.server = server
        self.session = session
        self.base = server.url.rstrip("/")

    async def get(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.session.get(self.base + path, **kwargs) as response:
            return response.status, await response.json()

    async def post(self, path: str, body: Any, **kwargs: Any) -> tuple[int, Any]:
        headers = {**JSON, **kwargs.pop("headers", {})}
        async with self.session.post(
            self.base + path, data=json.dumps(body), headers=headers, **kwargs
        ) as response:
            return response.status, await response.json()

    async def chat(self, persona: Persona, lang: str = "nl") -> dict[str, Any]:
        status, chat = await self.get(f"/api/chat/{persona.id}?lang={lang}")
        assert status == 200, chat
        return dict(chat)

    async def say(self, persona: Persona, text: str) -> None:
        status, answer = await self.post(f"/api/chat/{persona.id}/send", {"text": text})
        assert (status, answer) == (200, {"ok": True})


@asynccontextmanager
async def web_page(tmp_path: Path) -> AsyncIterator[tuple[Sandbox, Page]]:
    async with running_sandbox(tmp_path) as sandbox:
        server = await start_web(sandbox, 0)
        try:
            async with aiohttp.ClientSession() as session:
                yield sandbox, Page(server, session)
        finally:
            await server.stop()


def by_role(sandbox: Sandbox, role: str) -> Persona:
    return next(p for p in sandbox.personas() if p.role == role)


def texts_of(chat: dict[str, Any]) -> list[str]:
    return [m["html"] for m in chat["messages"]]


async def test_state_lists_personas_and_the_page_texts_in_both_languages(
    tmp_path: Path,
) -> None:
    async with web_page(tmp_path) as (sandbox, page):
        status, nl = await page.get("/api/state")
        assert status == 200
        assert nl["lang"] == "nl" and nl["real_time"] is True and nl["offset"] == ""
        assert nl["texts"]["jump_exchange_day"] == "Volgende uitwisselingsdag 07:30"
        assert nl["texts"]["reset"] == TEXTS.plain("nl", "sandbox.ui.reset")
        roles = [p["role"] for p in nl["personas"]]
        assert roles[0] == "coordinator"
        assert {"teacher", "begeleider"} <= set(roles)
        assert [p["id"] for p in nl["personas"]] == [p.id for p in sandbox.personas()]
        assert nl["personas"][0]["role_label"] == "coördinator"
        assert nl["version"] == sandbox.version
        status, en = await page.get("/api/state?lang=en")
        assert en["lang"] == "en"
        assert en["texts"]["jump_exchange_day"] == "Next exchange day 07:30"
        assert set(en["texts"]) == set(nl["texts"])
        # Who someone is reads in the page's language too.
        assert en["personas"][0]["description"] == TEXTS.plain(
            "en", "sandbox.demo.coordinator", city="Utrecht"
        )
        assert nl["personas"][0]["description"] == TEXTS.plain(
            "nl", "sandbox.demo.coordinator", city="Utrecht"
        )
        # An unknown language falls back to Dutch.
        _, other = await page.get("/api/state?lang=xx")
        assert other["texts"] == nl["texts"]


async def test_the_page_and_its_files_are_served_with_a_strict_policy(tmp_path: Path) -> None:
    async with web_page(tmp_path) as (_, page):
        async with page.session.get(page.base + "/") as response:
            assert response.status == 200
            assert response.content_type == "text/html"
            assert "/static/chat.js" in await response.text()
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        for name, kind in (("chat.js", "javascript"), ("chat.css", "text/css")):
            async with page.session.get(f"{page.base}/static/{name}") as response:
                assert response.status == 200 and kind in response.content_type
        status, body = await page.get("/static/..%2Fweb.py")
        assert status == 404 and body["error"] == TEXTS.plain("nl", "sandbox.ui.error_not_found")


async def test_start_as_a_persona_shows_the_bots_answer(tmp_path: Path) -> None:
    async with web_page(tmp_path) as (sandbox, page):
        coordinator = by_role(sandbox, "coordinator")
        before = len((await page.chat(coordinator))["messages"])
        await page.say(coordinator, "/start")
        chat = await page.chat(coordinator)
        new = chat["messages"][before:]
        assert [m["from"] for m in new] == ["user", "bot"]
        assert new[0]["html"] == "/start" or "/start" in new[0]["html"]
        assert new[1]["html"].startswith("Hallo")
        assert "coördinator" in new[1]["html"]
        assert [m["id"] for m in chat["messages"]] == sorted(m["id"] for m in chat["messages"])
        assert new[1]["time"].count(":") == 1 and new[1]["day"]
        assert chat["persona"]["id"] == coordinator.id
        assert any(c["command"] == "overzicht" for c in chat["commands"])


async def test_pressing_an_inline_button_edits_the_message_in_place(tmp_path: Path) -> None:
    async with web_page(tmp_path) as (sandbox, page):
        teacher = by_role(sandbox, "teacher")
        await page.say(teacher, "/taal")
        question = (await page.chat(teacher))["messages"][-1]
        assert [b["text"] for row in question["buttons"] for b in row] == ["Nederlands", "English"]
        english = question["buttons"][0][1]
        status, answer = await page.post(
            f"/api/chat/{teacher.id}/press",
            {"message_id": question["id"], "data": english["data"]},
        )
        assert (status, answer) == (200, {"ok": True})
        chat = await page.chat(teacher)
        # The question loses its buttons in place; the answer comes below it.
        edited = next(m for m in chat["messages"] if m["id"] == question["id"])
        assert edited["edited"] is True and edited["buttons"] == []
        assert edited["html"] == question["html"]
        assert chat["messages"][-1]["html"] == TEXTS.plain("en", "language.changed")
        # The menu follows the language, as Telegram shows it.
        commands = {c["command"] for c in chat["commands"]}
        assert "checklist" in commands and "programme" in commands
        # A button that is not there (any more) is refused with the catalogue's words.
        status, refused = await page.post(
            f"/api/chat/{teacher.id}/press", {"message_id": question["id"], "data": "nope"}
        )
        assert status == 400
        assert refused["error"] == TEXTS.plain("nl", "sandbox.errors.no_button")


async def test_a_post_that_is_not_json_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    async with web_page(tmp_path) as (sandbox, page):
        coordinator = by_role(sandbox, "coordinator")
        version = sandbox.version
        sent = len(sandbox.tg.user_messages(coordinator.id))
        url = f"{page.base}/api/chat/{coordinator.id}/send"
        # What a form on another site could send without asking first.
        for data, content_type in (
            ({"text": "/start"}, None),
            ('{"text": "/start"}', "text/plain"),
        ):
            headers = {"Content-Type": content_type} if content_type else {}
            async with page.session.post(url, data=data, headers=headers) as response:
                assert response.status == 415
                body = await response.json()
                assert body["error"] == TEXTS.plain("nl", "sandbox.ui.error_json")
        status, _ = await page.post(f"/api/chat/{coordinator.id}/send", ["/start"])
        assert status == 400
        status, _ = await page.post(f"/api/chat/{coordinator.id}/send", {"text": 3})
        assert status == 400
        status, _ = await page.post("/api/time", {"to": "yesterday"})
        assert status == 400
        assert len(sandbox.tg.user_messages(coordinator.id)) == sent
        assert sandbox.version == version
        assert sandbox.clock.is_real


async def test_a_foreign_host_or_origin_is_refused(tmp_path: Path) -> None:
    async with web_page(tmp_path) as (sandbox, page):
        coordinator = by_role(sandbox, "coordinator")
        sent = len(sandbox.tg.user_messages(coordinator.id))
        status, body = await page.get("/api/state", headers={"Host": "evil.example:8730"})
        assert status == 403
        assert body["error"] == TEXTS.plain("nl", "sandbox.ui.error_host")
        status, _ = await page.post(
            f"/api/chat/{coordinator.id}/send",
            {"text": "/start"},
            headers={"Host": "evil.example"},
        )
        assert status == 403
        status, _ = await page.post(
            f"/api/chat/{coordinator.id}/send",
            {"text": "/start"},
            headers={"Origin": "http://evil.example"},
        )
        assert status == 403
        assert len(sandbox.tg.user_messages(coordinator.id)) == sent
        status, _ = await page.get("/api/state", headers={"Host": "localhost"})
        assert status == 200


async def test_unknown_persona_and_empty_text_get_the_catalogue_words(tmp_path: Path) -> None:
    async with web_page(tmp_path) as (sandbox, page):
        unknown = TEXTS.plain("nl", "sandbox.errors.unknown_persona")
        assert await page.get("/api/chat/424242") == (404, {"error": unknown})
        assert await page.get("/api/chat/nobody") == (404, {"error": unknown})
        assert await page.post("/api/chat/424242/send", {"text": "hoi"}) == (
            404,
            {"error": unknown},
        )
        coordinator = by_role(sandbox, "coordinator")
        sent = len(sandbox.tg.user_messages(coordinator.id))
        for lang in ("nl", "en"):
            status, body = await page.post(
                f"/api/chat/{coordinator.id}/send?lang={lang}", {"text": "   "}
            )
            assert status == 400
            assert body["error"] == TEXTS.plain(lang, "sandbox.errors.empty")
        assert len(sandbox.tg.user_messages(coordinator.id)) == sent


async def test_added_persona_can_talk_to_the_bot(tmp_path: Path) -> None:
    async with web_page(tmp_path) as (sandbox, page):
        status, persona = await page.post("/api/personas", {"name": "  Piet   de Vries "})
        assert status == 200
        assert persona["name"] == "Piet de Vries" and persona["role"] == "new"
        status, state = await page.get("/api/state")
        assert persona["id"] in [p["id"] for p in state["personas"]]
        new = next(p for p in sandbox.personas() if p.id == persona["id"])
        await page.say(new, "/start")
        assert "Piet de Vries" in (await page.chat(new))["messages"][-1]["html"]
        status, body = await page.post("/api/personas", {"name": ""})
        assert status == 400 and body["error"]


async def test_files_are_served_with_their_name(tmp_path: Path) -> None:
    async with web_page(tmp_path) as (sandbox, page):
        teacher = by_role(sandbox, "teacher")
        await page.say(teacher, "/agenda")
        documents = [m["document"] for m in (await page.chat(teacher))["messages"]]
        document = next(d for d in documents if d)
        assert document["name"].endswith(".ics")
        async with page.session.get(page.base + document["url"]) as response:
            assert response.status == 200
            disposition = response.headers["Content-Disposition"]
            assert disposition.startswith("attachment;")
            assert f'filename="{document["name"]}"' in disposition
            assert b"BEGIN:VCALENDAR" in await response.read()
        status, _ = await page.get("/files/FAKE-DOC-999999")
        assert status == 404


async def test_the_time_machine_and_reset_through_the_api(tmp_path: Path) -> None:
    async with web_page(tmp_path) as (sandbox, page):
        status, state = await page.post("/api/time", {"to": "hour"})
        assert status == 200
        assert state["real_time"] is False and state["offset"] == "+1 uur"
        assert state["delivered"] >= 0
        status, state = await page.post("/api/time?lang=en", {"to": "now"})
        assert state["real_time"] is True and state["offset"] == ""
        coordinator = by_role(sandbox, "coordinator")
        await page.say(coordinator, "/start")
        await page.say(coordinator, "/start")
        sent = len(sandbox.tg.user_messages(coordinator.id))
        status, state = await page.post("/api/reset", {})
        assert status == 200 and state["real_time"] is True
        # The demo is made again from scratch: only what the demo itself typed is left.
        assert len(sandbox.tg.user_messages(coordinator.id)) == sent - 2


async def test_the_server_listens_on_the_loopback_address_only(tmp_path: Path) -> None:
    async with web_page(tmp_path) as (_, page):
        assert page.server.url == f"http://127.0.0.1:{page.server.port}/"
        assert page.server.addresses == [("127.0.0.1", page.server.port)]
        others = {
            info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
        } - {"127.0.0.1"}
        for address in others:
            if address.startswith("127."):
                continue
            with pytest.raises(OSError), socket.create_connection((address, page.server.port), 1):
                pass


async def test_events_announce_a_new_version_after_a_change(tmp_path: Path) -> None:
    async with web_page(tmp_path) as (sandbox, page):
        coordinator = by_role(sandbox, "coordinator")
        async with page.session.get(page.base + "/api/events") as events:
            assert events.status == 200
            assert events.content_type == "text/event-stream"

            async def next_version() -> int:
                while True:
                    line = (await events.content.readline()).decode().strip()
                    if line.startswith("data: "):
                        return int(line.removeprefix("data: "))

            first = await asyncio.wait_for(next_version(), 10)
            await page.say(coordinator, "/help")
            later = await asyncio.wait_for(next_version(), 10)
            assert later > first
