"""The sandbox's web chat: the page, a small JSON API over the Sandbox, live events and files.

It listens on 127.0.0.1 only. Requests must name 127.0.0.1 or localhost as their host (a site
that points its own name at 127.0.0.1 cannot read or drive the sandbox), and every POST must
carry a JSON body: a form on another site cannot send ``application/json`` without a CORS
preflight, which is never allowed here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import mimetypes
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.sandbox.render import render, safe_link
from bot.sandbox.runtime import JUMPS, Persona, Sandbox, SandboxInputError
from bot.texts import LANGUAGES, Texts
from fake_telegram import BotMessage, StoredFile

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
UI_KEYS = "sandbox.ui."
KEEPALIVE_SECONDS = 15.0
ALLOWED_HOSTS = frozenset({"127.0.0.1", "localhost"})
# Only these are shown inside the page; anything else a bot sends is offered as a download.
INLINE_IMAGES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
MAX_BODY = 64 * 1024

_SANDBOX: web.AppKey[Sandbox] = web.AppKey("sandbox", Sandbox)
_STREAMS: web.AppKey[set[asyncio.Task[Any]]] = web.AppKey("streams")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
}


@dataclass
class WebServer:
    """The running web chat; :attr:`url` is the address to open."""

    url: str
    port: int
    _runner: web.AppRunner = field(repr=False)
    _app: web.Application = field(repr=False)

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """The (host, port) pairs the server listens on."""
        return [(str(a[0]), int(a[1])) for a in self._runner.addresses]

    async def stop(self) -> None:
        # Event streams wait for changes; end them first so the shutdown does not wait on them.
        streams = self._app[_STREAMS]
        for task in list(streams):
            task.cancel()
        await self._runner.cleanup()


async def start_web(sandbox: Sandbox, port: int) -> WebServer:
    """Serve the web chat for ``sandbox`` on 127.0.0.1:``port`` (0: any free port)."""
    app = create_app(sandbox)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = int(runner.addresses[0][1]) if runner.addresses else port
    return WebServer(url=f"http://127.0.0.1:{bound}/", port=bound, _runner=runner, _app=app)


def create_app(sandbox: Sandbox) -> web.Application:
    """The aiohttp application of the web chat (also used directly by tests)."""
    app = web.Application(middlewares=[_guard], client_max_size=MAX_BODY)
    app[_SANDBOX] = sandbox
    app[_STREAMS] = set()
    app.router.add_get("/", _page)
    app.router.add_get("/static/{name}", _static)
    app.router.add_get("/favicon.ico", _favicon)
    app.router.add_get("/api/state", _state)
    app.router.add_get("/api/chat/{persona}", _chat)
    app.router.add_post("/api/chat/{persona}/send", _send)
    app.router.add_post("/api/chat/{persona}/press", _press)
    app.router.add_post("/api/chat/{persona}/location", _location)
    app.router.add_post("/api/personas", _add_persona)
    app.router.add_post("/api/time", _time)
    app.router.add_post("/api/reset", _reset)
    app.router.add_get("/api/events", _events)
    app.router.add_get("/files/{file_id}", _file)
    return app


# ---------------------------------------------------------------------------------------------
# Guarding every request


def _host_allowed(host: str | None) -> bool:
    if not host:
        return False
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return name.lower() in ALLOWED_HOSTS


def _origin_allowed(origin: str | None, host: str) -> bool:
    # Browsers send Origin on POSTs; it must be this very page.
    return origin is None or origin in (f"http://{host}", f"https://{host}")


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    sandbox = request.app[_SANDBOX]
    lang = _lang(request, sandbox)
    if not _host_allowed(request.headers.get("Host")):
        response: web.StreamResponse = _error(sandbox, lang, "error_host", 403)
    elif request.method == "POST" and request.content_type != "application/json":
        response = _error(sandbox, lang, "error_json", 415)
    elif request.method == "POST" and not _origin_allowed(
        request.headers.get("Origin"), request.host
    ):
        response = _error(sandbox, lang, "error_host", 403)
    else:
        try:
            response = await handler(request)
        except web.HTTPNotFound:
            response = _error(sandbox, lang, "error_not_found", 404)
        except web.HTTPMethodNotAllowed:
            response = _error(sandbox, lang, "error_bad_request", 405)
        except web.HTTPRequestEntityTooLarge:
            response = _error(sandbox, lang, "error_bad_request", 413)
        except Exception:
            log.exception("the web chat failed on %s %s", request.method, request.path)
            response = _error(sandbox, lang, "error_internal", 500)
    if not response.prepared:
        response.headers.update(_SECURITY_HEADERS)
    return response


def _lang(request: web.Request, sandbox: Sandbox) -> str:
    lang = request.query.get("lang", "")
    if lang in LANGUAGES:
        return lang
    default = sandbox.settings.default_language
    return default if default in LANGUAGES else LANGUAGES[0]


def _ui(texts: Texts, lang: str, key: str, /, **params: object) -> str:
    return texts.plain(lang, UI_KEYS + key, **params)


def _error(sandbox: Sandbox, lang: str, key: str, status: int) -> web.Response:
    return web.json_response({"error": _ui(sandbox.texts, lang, key)}, status=status)


def _input_error(sandbox: Sandbox, lang: str, error: SandboxInputError) -> web.Response:
    status = 404 if error.key == "sandbox.errors.unknown_persona" else 400
    texts = sandbox.texts
    if texts.has(error.key):
        message = texts.plain(lang, error.key, **error.params)
    else:
        message = _ui(texts, lang, "error_bad_request")
    return web.json_response({"error": message}, status=status)


async def _json_body(request: web.Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


# ---------------------------------------------------------------------------------------------
# The page


async def _page(request: web.Request) -> web.StreamResponse:
    return _static_file("index.html")


async def _favicon(request: web.Request) -> web.StreamResponse:
    return _static_file("favicon.svg")


async def _static(request: web.Request) -> web.StreamResponse:
    return _static_file(request.match_info["name"])


def _static_file(name: str) -> web.StreamResponse:
    files = {path.name: path for path in STATIC_DIR.iterdir() if path.is_file()}
    path = files.get(name)
    if path is None:
        raise web.HTTPNotFound()
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return web.Response(
        body=path.read_bytes(),
        content_type=content_type,
        charset="utf-8" if content_type.startswith("text/") or name.endswith(".js") else None,
        headers={"Cache-Control": "no-cache"},
    )


# ---------------------------------------------------------------------------------------------
# State and chats


def _persona_json(texts: Texts, lang: str, persona: Persona) -> dict[str, Any]:
    role_key = UI_KEYS + f"role_{persona.role}"
    return {
        "id": persona.id,
        "name": persona.name,
        "role": persona.role,
        "role_label": texts.plain(lang, role_key) if texts.has(role_key) else persona.role,
        "description": persona.describe(lang),
        "language_code": persona.language_code,
    }


def _find_persona(sandbox: Sandbox, raw_id: str) -> Persona | None:
    try:
        wanted = int(raw_id)
    except ValueError:
        return None
    return next((p for p in sandbox.personas() if p.id == wanted), None)


def _day_label(texts: Texts, lang: str, moment: datetime) -> str:
    weekdays = _ui(texts, lang, "weekdays").split()
    months = _ui(texts, lang, "months").split()
    return f"{weekdays[moment.weekday()]} {moment.day} {months[moment.month - 1]}"


def _clock_label(texts: Texts, lang: str, moment: datetime) -> str:
    return f"{_day_label(texts, lang, moment)} {moment:%H:%M}"


def format_offset(texts: Texts, lang: str, offset: timedelta) -> str:
    """ "+8 dagen 2 uur", "-1 uur" or "" when the clock runs in real time (to the minute)."""
    minutes = round(offset.total_seconds() / 60)
    if minutes == 0:
        return ""
    sign = "+" if minutes > 0 else "-"
    days, rest = divmod(abs(minutes), 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [
        texts.amount(lang, UI_KEYS + key, count)
        for key, count in (("offset_days", days), ("offset_hours", hours))
        if count
    ]
    if minutes and not days:
        parts.append(texts.amount(lang, UI_KEYS + "offset_minutes", minutes))
    return sign + " ".join(parts or [texts.amount(lang, UI_KEYS + "offset_minutes", 0)])


def _state_json(sandbox: Sandbox, lang: str) -> dict[str, Any]:
    texts = sandbox.texts
    tz = sandbox.settings.tz
    now = sandbox.clock.now()
    next_day = sandbox.next_exchange_day()
    return {
        "lang": lang,
        "languages": list(LANGUAGES),
        "now": now.isoformat(),
        "clock": _clock_label(texts, lang, now.astimezone(tz)),
        "real_time": sandbox.clock.is_real,
        "offset": format_offset(texts, lang, sandbox.clock.offset),
        "personas": [_persona_json(texts, lang, p) for p in sandbox.personas()],
        "next_exchange_day": (
            _clock_label(texts, lang, next_day.astimezone(tz)) if next_day else None
        ),
        "texts": {
            # Templates stay as they are: the page fills in {when}, {clock} and the like.
            key.removeprefix(UI_KEYS): texts.raw(lang, key)
            for key in sorted(texts.keys(lang))
            if key.startswith(UI_KEYS)
        },
        "version": sandbox.version,
    }


def _file_url(stored: StoredFile) -> str:
    return "/files/" + quote(stored.file_id, safe="")


def _bot_message_json(message: BotMessage) -> dict[str, Any]:
    buttons: list[list[dict[str, Any]]] = []
    if message.has_inline_keyboard:
        for row in message.buttons:
            buttons.append(
                [
                    {
                        "text": button.text,
                        "data": button.callback_data,
                        "url": safe_link(button.url) if button.url else None,
                    }
                    for button in row
                ]
            )
    document = None
    if message.document is not None:
        document = {
            "url": _file_url(message.document),
            "name": message.document.filename or message.document.file_path.rsplit("/")[-1],
        }
    return {
        "id": message.message_id,
        "from": "bot",
        "date": message.date,
        "html": render(message.text, message.entities),
        "edited": message.edited,
        "buttons": buttons,
        "photo": _file_url(message.photo) if message.photo is not None else None,
        "document": document,
    }


def _user_message_json(texts: Texts, lang: str, message: dict[str, Any]) -> dict[str, Any]:
    if "location" in message:
        html_text = render(_ui(texts, lang, "location_sent"))
    else:
        text = message.get("text") or message.get("caption") or ""
        html_text = render(str(text), message.get("entities") or message.get("caption_entities"))
    document = None
    raw_document = message.get("document")
    if isinstance(raw_document, dict):
        document = {
            "url": "/files/" + quote(str(raw_document.get("file_id", "")), safe=""),
            "name": str(raw_document.get("file_name") or "document"),
        }
    photo = None
    sizes = message.get("photo")
    if isinstance(sizes, list) and sizes and isinstance(sizes[-1], dict):
        photo = "/files/" + quote(str(sizes[-1].get("file_id", "")), safe="")
    return {
        "id": int(message.get("message_id", 0)),
        "from": "user",
        "date": int(message.get("date", 0)),
        "html": html_text,
        "edited": "edit_date" in message,
        "buttons": [],
        "photo": photo,
        "document": document,
    }


def _reply_keyboard(sandbox: Sandbox, chat_id: int, last_user_id: int) -> list[list[Any]] | None:
    markup = sandbox.tg.reply_keyboard(chat_id)
    if not markup:
        return None
    if markup.get("one_time_keyboard"):
        # Telegram hides a one-time keyboard once the user answered after it appeared.
        carrier = max(
            (
                m.message_id
                for m in sandbox.tg.messages(chat_id)
                if m.reply_markup and "keyboard" in m.reply_markup
            ),
            default=0,
        )
        if last_user_id > carrier:
            return None
    rows: list[list[dict[str, str]]] = []
    for row in markup.get("keyboard") or []:
        buttons: list[dict[str, str]] = []
        for raw in row:
            if isinstance(raw, str):
                buttons.append({"text": raw, "kind": "text"})
            elif isinstance(raw, dict):
                kind = "location" if raw.get("request_location") else "text"
                buttons.append({"text": str(raw.get("text", "")), "kind": kind})
        if buttons:
            rows.append(buttons)
    return rows or None


def _chat_json(sandbox: Sandbox, lang: str, persona: Persona) -> dict[str, Any]:
    texts = sandbox.texts
    tz = sandbox.settings.tz
    chat_id = persona.id
    merged = [_bot_message_json(m) for m in sandbox.tg.messages(chat_id)]
    user_messages = sandbox.tg.user_messages(chat_id)
    merged += [_user_message_json(texts, lang, m) for m in user_messages]
    merged.sort(key=lambda m: int(m["id"]))
    for message in merged:
        local = datetime.fromtimestamp(int(message.pop("date")), UTC).astimezone(tz)
        message["time"] = f"{local:%H:%M}"
        message["day"] = _day_label(texts, lang, local)
    last_user_id = max((int(m.get("message_id", 0)) for m in user_messages), default=0)
    return {
        "persona": _persona_json(texts, lang, persona),
        "messages": merged,
        "reply_keyboard": _reply_keyboard(sandbox, chat_id, last_user_id),
        "commands": [
            {"command": command, "description": description}
            for command, description in sandbox.tg.menu_for(chat_id, persona.language_code)
        ],
    }


async def _state(request: web.Request) -> web.StreamResponse:
    sandbox = request.app[_SANDBOX]
    return web.json_response(_state_json(sandbox, _lang(request, sandbox)))


async def _chat(request: web.Request) -> web.StreamResponse:
    sandbox = request.app[_SANDBOX]
    lang = _lang(request, sandbox)
    persona = _find_persona(sandbox, request.match_info["persona"])
    if persona is None:
        return _unknown_persona(sandbox, lang)
    return web.json_response(_chat_json(sandbox, lang, persona))


def _unknown_persona(sandbox: Sandbox, lang: str) -> web.Response:
    return _input_error(sandbox, lang, SandboxInputError("sandbox.errors.unknown_persona"))


# ---------------------------------------------------------------------------------------------
# Acting as a persona


async def _act(
    request: web.Request,
    action: Callable[[Sandbox, int, dict[str, Any]], Awaitable[None] | None],
) -> web.StreamResponse:
    sandbox = request.app[_SANDBOX]
    lang = _lang(request, sandbox)
    body = await _json_body(request)
    if body is None:
        return _error(sandbox, lang, "error_bad_request", 400)
    persona = _find_persona(sandbox, request.match_info["persona"])
    if persona is None:
        return _unknown_persona(sandbox, lang)
    try:
        pending = action(sandbox, persona.id, body)
        if pending is None:
            return _error(sandbox, lang, "error_bad_request", 400)
        await pending
    except SandboxInputError as error:
        return _input_error(sandbox, lang, error)
    return web.json_response({"ok": True})


async def _send(request: web.Request) -> web.StreamResponse:
    def say(sandbox: Sandbox, persona_id: int, body: dict[str, Any]) -> Awaitable[None] | None:
        text = body.get("text")
        return sandbox.say(persona_id, text) if isinstance(text, str) else None

    return await _act(request, say)


async def _press(request: web.Request) -> web.StreamResponse:
    def press(sandbox: Sandbox, persona_id: int, body: dict[str, Any]) -> Awaitable[None] | None:
        message_id, data = body.get("message_id"), body.get("data")
        if not isinstance(message_id, int) or isinstance(message_id, bool):
            return None
        if not isinstance(data, str) or not data:
            return None
        return sandbox.press(persona_id, message_id, data)

    return await _act(request, press)


async def _location(request: web.Request) -> web.StreamResponse:
    def share(sandbox: Sandbox, persona_id: int, body: dict[str, Any]) -> Awaitable[None]:
        return sandbox.share_location(persona_id)

    return await _act(request, share)


async def _add_persona(request: web.Request) -> web.StreamResponse:
    sandbox = request.app[_SANDBOX]
    lang = _lang(request, sandbox)
    body = await _json_body(request)
    name = body.get("name") if body is not None else None
    if not isinstance(name, str):
        return _error(sandbox, lang, "error_bad_request", 400)
    try:
        persona = await sandbox.add_persona(name)
    except SandboxInputError as error:
        return _input_error(sandbox, lang, error)
    return web.json_response(_persona_json(sandbox.texts, lang, persona))


async def _time(request: web.Request) -> web.StreamResponse:
    sandbox = request.app[_SANDBOX]
    lang = _lang(request, sandbox)
    body = await _json_body(request)
    to = body.get("to") if body is not None else None
    if not isinstance(to, str) or to not in JUMPS:
        return _error(sandbox, lang, "error_bad_request", 400)
    try:
        result = await sandbox.jump(to)
    except SandboxInputError as error:
        return _input_error(sandbox, lang, error)
    state = _state_json(sandbox, lang)
    state["delivered"] = result.delivered
    state["jumped"] = sandbox.texts.plain(
        lang,
        "sandbox.ui.jumped",
        clock=state["clock"],
        delivered=sandbox.texts.amount(lang, "sandbox.ui.messages", result.delivered),
    )
    return web.json_response(state)


async def _reset(request: web.Request) -> web.StreamResponse:
    sandbox = request.app[_SANDBOX]
    lang = _lang(request, sandbox)
    if await _json_body(request) is None:
        return _error(sandbox, lang, "error_bad_request", 400)
    await sandbox.reset()
    return web.json_response(_state_json(sandbox, lang))


# ---------------------------------------------------------------------------------------------
# Live events and files


async def _events(request: web.Request) -> web.StreamResponse:
    sandbox = request.app[_SANDBOX]
    streams = request.app[_STREAMS]
    task = asyncio.current_task()
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
            **_SECURITY_HEADERS,
        }
    )
    await response.prepare(request)
    if task is not None:
        streams.add(task)
    try:
        version = sandbox.version
        await response.write(f"retry: 1000\ndata: {version}\n\n".encode())
        while True:
            latest = await sandbox.wait_version(version, KEEPALIVE_SECONDS)
            if latest > version:
                version = latest
                await response.write(f"data: {version}\n\n".encode())
            else:
                await response.write(b": keep-alive\n\n")
    except ConnectionResetError:
        pass  # the page went away
    finally:
        if task is not None:
            streams.discard(task)
    return response


def _content_disposition(disposition: str, filename: str) -> str:
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in filename)
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def _file(request: web.Request) -> web.StreamResponse:
    sandbox = request.app[_SANDBOX]
    try:
        stored = sandbox.tg.file(request.match_info["file_id"])
    except KeyError:
        raise web.HTTPNotFound() from None
    name = stored.filename or stored.file_path.rsplit("/")[-1]
    content_type = stored.mime_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    inline = content_type in INLINE_IMAGES
    return web.Response(
        body=stored.content,
        headers={
            "Content-Type": content_type,
            "Content-Disposition": _content_disposition("inline" if inline else "attachment", name),
            "Cache-Control": "private, max-age=3600",
        },
    )
