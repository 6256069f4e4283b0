"""An in-process fake of the Telegram Bot API, served over real HTTP.

The real python-telegram-bot ``Bot``/``Application`` talks to it through ``base_url``, so the
whole network stack (encoding, error mapping, long polling) is exercised. Tests act as users by
pushing updates and inspect what the bot did through the recorded calls and the per-chat
message state.

Everything runs on one asyncio event loop and nothing here is thread-safe: call the push and
inspection methods from coroutines or callbacks on the loop that started the server.

The fake is one class, :class:`FakeTelegram`, put together from one module per concern:

- ``state.py``: the in-memory model (users, chats, messages, updates, files, recorded calls)
  and reading what the bot did;
- ``waiters.py``: the ``wait_*`` helpers and the change signal that long polls wait on;
- ``users.py``: the user-driving API (``push_text``, ``press_button``, ...);
- ``api.py``: the Bot API methods and their validation;
- ``faults.py``: ``fail_next``, ``delay_next``, ``drop_next``, ``block_user``;
- ``limits.py``: Telegram's flood limits, enforced with ``strict_limits=True``;
- this module: starting and stopping the HTTP server and answering its requests.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from .errors import ApiError, default_description
from .faults import FaultInjection
from .limits import RateLimits
from .models import JSONDict, RecordedCall
from .params import MAX_UPLOAD_BYTES, int_or, read_params
from .users import UserDriving

_LOG = logging.getLogger(__name__)


class FakeTelegram(FaultInjection, UserDriving):
    """A fake Telegram Bot API server for tests, benchmarks and fault injection.

    Start it with ``await tg.start()`` (or ``async with FakeTelegram() as tg``) and point the
    bot at :attr:`base_url` and :attr:`base_file_url`.
    """

    def __init__(
        self,
        *,
        token: str = "123456:TEST-TOKEN",
        bot_id: int = 123456,
        bot_username: str = "wijkbot_test_bot",
        bot_first_name: str = "Wijkbot",
        host: str = "127.0.0.1",
        port: int = 0,
        strict_limits: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            token=token,
            bot_id=bot_id,
            bot_username=bot_username,
            bot_first_name=bot_first_name,
            clock=clock,
        )
        self.host = host
        self.port = port
        self._requested_port = port
        self._runner: web.AppRunner | None = None
        self.limits = RateLimits()
        """Telegram's flood limits; each message-sending call is logged here while enforced."""
        self._strict_limits = strict_limits

    def enforce_limits(self, on: bool = True) -> None:
        """Answer 429 with ``retry_after`` to any call that would exceed Telegram's limits:
        30 messages per sliding second overall, 1 per second per private chat, 20 per minute
        per group (see ``limits.py``)."""
        self._strict_limits = on

    def reset(self) -> None:
        super().reset()
        self.limits.reset()

    # -----------------------------------------------------------------------------------------
    # Lifecycle

    async def start(self) -> None:
        """Start serving on :attr:`host`; with ``port=0`` the OS picks a free port.

        After :meth:`stop`, ``start()`` binds the same port again and keeps all state, so a bot
        that keeps running sees a Telegram outage and reconnects afterwards.
        """
        if self._runner is not None:
            raise RuntimeError("FakeTelegram is already running")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.create_server((self.host, self._requested_port or self.port), family=family)
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("*", "/file/bot{token}/{file_path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_unexpected)
        # Long polls are released by stop(), so a short shutdown timeout only cuts off requests
        # that are stuck for another reason.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        try:
            await runner.setup()
            await web.SockSite(runner, sock).start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._stopping = False
        self.port = sock.getsockname()[1]
        self._runner = runner
        _LOG.debug("fake Telegram listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        """Release waiting long polls and delays, then shut the server down."""
        self._stopping = True
        self._notify()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """Root URL of the running server, e.g. ``http://127.0.0.1:54321``."""
        if self._runner is None:
            raise RuntimeError("FakeTelegram is not running; call start() first")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """Value for ``ApplicationBuilder().base_url()``; PTB appends the token and method."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for ``ApplicationBuilder().base_file_url()``."""
        return f"{self.url}/file/bot"

    # -----------------------------------------------------------------------------------------
    # HTTP layer

    async def _handle_api(self, request: web.Request) -> web.Response:
        """Answer a Bot API call: check it, apply injected faults, handle it and record it."""
        started = time.time()
        loop_started = asyncio.get_running_loop().time()
        requested = request.match_info["method"]
        entry = self._methods.get(requested.lower())
        method = entry[0] if entry else requested
        params: JSONDict = {}
        result: Any = None
        try:
            params_error: ApiError | None = None
            try:
                params = await read_params(request)
            except ApiError as error:
                params_error = error
            # Token and method errors take precedence over malformed parameters.
            if request.match_info["token"] != self.token:
                raise ApiError(HTTPStatus.UNAUTHORIZED, "Unauthorized")
            if entry is None:
                self._protocol_error(f"unknown Bot API method {requested!r}")
                raise ApiError(HTTPStatus.NOT_FOUND, "Not Found")
            if params_error is not None:
                raise params_error
            delays = self._delays.get(method.lower())
            if delays:
                await self._sleep(delays.popleft())
            fault = self._take_fault(method, params)
            if fault is not None:
                parameters = {"retry_after": fault.retry_after} if fault.retry_after else None
                raise ApiError(fault.status, fault.description, parameters)
            if self._strict_limits:
                chat = int_or(params.get("chat_id"), None)
                wait = self.limits.admit(method, chat, time.monotonic())
                if wait is not None:
                    raise ApiError(
                        HTTPStatus.TOO_MANY_REQUESTS,
                        default_description(HTTPStatus.TOO_MANY_REQUESTS, wait),
                        {"retry_after": wait},
                    )
            result = await entry[1](params, request)
        except ApiError as error:
            status, body = int(error.status), error.to_json()
        except Exception as error:
            _LOG.exception("fake Telegram failed while handling %s", method)
            self.errors.append(f"{method}: internal error in the fake server: {error!r}")
            status = HTTPStatus.INTERNAL_SERVER_ERROR
            body = ApiError(status, "Internal Server Error").to_json()
        else:
            status, body = HTTPStatus.OK, {"ok": True, "result": result}
        self.calls.append(
            RecordedCall(
                method=method,
                params=params,
                timestamp=started,
                ok=body["ok"],
                status=status,
                error=None if body["ok"] else body["description"],
                duration=asyncio.get_running_loop().time() - loop_started,
                result=result,
            )
        )
        self._notify()
        if body["ok"] and self._drops.get(method.lower(), 0) > 0:
            self._drops[method.lower()] -= 1
            # The work is done; the answer is lost on the way back.
            if request.transport is not None:
                request.transport.abort()
        return web.json_response(body, status=status)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        """Serve a stored file's bytes under ``base_file_url``."""
        if request.match_info["token"] != self.token:
            return web.json_response(
                ApiError(HTTPStatus.UNAUTHORIZED, "Unauthorized").to_json(), status=401
            )
        stored = self._files_by_path.get(request.match_info["file_path"])
        if stored is None:
            return web.json_response(
                ApiError(HTTPStatus.NOT_FOUND, "Not Found").to_json(), status=404
            )
        return web.Response(
            body=stored.content, content_type=stored.mime_type or "application/octet-stream"
        )

    async def _handle_unexpected(self, request: web.Request) -> web.Response:
        """Answer 404 to any other path and record it as a protocol error."""
        self._protocol_error(f"request to unexpected path {request.method} {request.path}")
        return web.json_response(ApiError(HTTPStatus.NOT_FOUND, "Not Found").to_json(), status=404)
