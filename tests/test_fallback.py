"""Unknown commands, free text and stickers point to /help."""

from __future__ import annotations

from tests.fixtures import said
from tests.flows import only
from tests.harness import Harness


async def test_unknown_command_free_text_and_stickers_point_to_help(harness: Harness) -> None:
    h = harness
    user = h.user(7004, "Lost")
    assert only(await h.send(user, "/vliegen")).text == said("fallback.unknown_command")
    assert only(await h.send(user, "wat moet ik doen?")).text == said("fallback.free_text")
    mark = h.tg.last_message_id(user.id)
    update_id = h.tg.push_photo(user)
    await h.processed(update_id)
    assert only(h.tg.messages_since(user.id, mark)).text == said("fallback.other")
    mark = h.tg.last_message_id(user.id)
    update_id = h.tg.push_location(user, 52.37, 4.89)
    await h.processed(update_id)
    assert "/checkin" in only(h.tg.messages_since(user.id, mark)).text
    h.tg.assert_no_errors()
