"""Decoding of Bot API request parameters.

Telegram accepts parameters in the query string, as a JSON body, as an urlencoded form or as
multipart form data. In the form encodings every value is a string, so complex values
(``reply_markup``, ``entities``, ``scope`` ...) arrive JSON-encoded inside a form field and
numbers arrive as digits; both are decoded here so that handlers and tests see Python values.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from .errors import ApiError, bad_request
from .models import UploadedFile

JSONDict = dict[str, Any]

# Parameters whose value is a JSON-serialized object or array.
JSON_FIELDS = frozenset(
    {
        "allowed_updates",
        "caption_entities",
        "commands",
        "entities",
        "explanation_entities",
        "link_preview_options",
        "media",
        "menu_button",
        "message_ids",
        "options",
        "permissions",
        "question_entities",
        "reaction",
        "reply_markup",
        "reply_parameters",
        "results",
        "scope",
    }
)
INT_FIELDS = frozenset(
    {
        "cache_time",
        "chat_id",
        "from_chat_id",
        "limit",
        "message_id",
        "message_thread_id",
        "offset",
        "reply_to_message_id",
        "user_id",
    }
)
FLOAT_FIELDS = frozenset({"latitude", "longitude", "timeout"})
BOOL_FIELDS = frozenset(
    {
        "allow_sending_without_reply",
        "disable_content_type_detection",
        "disable_notification",
        "disable_web_page_preview",
        "drop_pending_updates",
        "has_spoiler",
        "protect_content",
        "show_alert",
        "show_caption_above_media",
    }
)
# Telegram's own file size limit for uploads by bots.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024

_INTEGER = re.compile(r"^[+-]?\d+$")


async def read_params(request: web.Request) -> JSONDict:
    """Collect and decode all parameters of a Bot API request."""
    params: JSONDict = dict(request.query)
    content_type = request.content_type
    if content_type == "application/json":
        try:
            body = await request.json()
        except ValueError as error:
            raise bad_request("can't parse JSON encoded request body") from error
        if body is not None:
            if not isinstance(body, dict):
                raise bad_request("JSON encoded request body must be an Object")
            params.update(body)
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            form = await request.post()
        except web.HTTPRequestEntityTooLarge as error:
            raise ApiError(413, "Request Entity Too Large") from error
        for name, value in form.items():
            if isinstance(value, web.FileField):
                params[name] = UploadedFile(
                    filename=value.filename,
                    content=value.file.read(),
                    content_type=value.content_type,
                )
            else:
                params[name] = value
    return decode_params(params)


def decode_params(params: JSONDict) -> JSONDict:
    """Turn string-encoded values of known parameters into JSON/Python values."""
    decoded: JSONDict = {}
    for name, value in params.items():
        decoded[name] = _decode_value(name, value)
    return decoded


def _decode_value(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if name in JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError as error:
            raise bad_request(f"can't parse {name} JSON object") from error
    if name in INT_FIELDS and _INTEGER.match(value):
        return int(value)
    if name in FLOAT_FIELDS:
        try:
            return float(value)
        except ValueError:
            return value
    if name in BOOL_FIELDS and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    return value


def int_or(value: Any, default: Any) -> Any:
    """``value`` as an int (an int, or digits in a string; never a bool), else ``default``."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value):
        return int(value)
    return default
