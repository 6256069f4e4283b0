"""The sandbox's web chat in a real browser: Debian's Chromium driven by Playwright, against the
real bot on demo data. Screenshots of every step land in tests/artifacts/ for people to look at.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.domain.dates import format_date
from bot.sandbox.runtime import Persona, Sandbox
from bot.sandbox.web import start_web
from bot.texts import get_texts
from tests.sandbox.support import running_sandbox

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Generous: a time jump plays days of scheduler work before the page hears of it.
WAIT_MS = 30_000
TEXTS = get_texts()

pytestmark = pytest.mark.slow


def ui(key: str, **params: object) -> str:
    return TEXTS.plain("nl", f"sandbox.ui.{key}", **params)


def said(key: str, **params: object) -> str:
    return TEXTS.plain("nl", key, **params)


def need_browser() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing (apt-get install chromium)"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(reason + " and REQUIRE_BROWSER=1")
    pytest.skip(reason)


@asynccontextmanager
async def browser_page(url: str) -> AsyncIterator[object]:
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=WAIT_MS)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 860})
            context.set_default_timeout(WAIT_MS)
            page = await context.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on(
                "console",
                lambda message: problems.append(message.text) if message.type == "error" else None,
            )
            page.on(
                "response",
                lambda response: (
                    problems.append(f"{response.status} {response.url}")
                    if response.status >= 400
                    else None
                ),
            )
            await page.goto(url)
            yield page
            assert problems == [], problems
        finally:
            await browser.close()


def persona_named(sandbox: Sandbox, role: str, name: str | None = None) -> Persona:
    return next(
        p for p in sandbox.personas() if p.role == role and (name is None or p.name == name)
    )


async def test_one_person_plays_every_role_in_the_browser(tmp_path: Path) -> None:
    need_browser()
    from playwright.async_api import Locator, Page, expect

    ARTIFACTS.mkdir(exist_ok=True)
    shots = iter(range(1, 100))

    async def shot(page: Page, name: str) -> None:
        # Once the last request is answered, so the picture shows the page at rest.
        await expect(page.locator("body.busy")).to_have_count(0)
        await page.screenshot(path=str(ARTIFACTS / f"sandbox-{next(shots):02d}-{name}.png"))

    def message(page: Page, text: str) -> Locator:
        return page.get_by_test_id("message").filter(has_text=text).last

    async def choose(page: Page, persona: Persona) -> None:
        item = page.get_by_test_id("persona").filter(has_text=persona.name).first
        await item.click()
        await expect(item).to_have_attribute("aria-current", "true")
        await expect(page.get_by_test_id("chat-head")).to_contain_text(persona.name)

    async def type_and_send(page: Page, text: str) -> None:
        field = page.get_by_test_id("input")
        await field.fill(text)
        await field.press("Enter")

    async def press(bubble: Locator, label: str) -> None:
        await bubble.get_by_role("button", name=label, exact=True).click()

    async with running_sandbox(tmp_path) as sandbox:
        server = await start_web(sandbox, 0)
        try:
            async with browser_page(server.url) as opened:
                page: Page = opened  # type: ignore[assignment]
                coordinator = persona_named(sandbox, "coordinator")
                teacher = persona_named(sandbox, "teacher")
                begeleider = persona_named(sandbox, "begeleider")

                # The page in Dutch, with every person of the demo.
                await expect(page.get_by_test_id("persona")).to_have_count(len(sandbox.personas()))
                await expect(page.get_by_test_id("jump-exchange-day")).to_have_text(
                    ui("jump_exchange_day")
                )

                # The coordinator's overview shows both pairs.
                await choose(page, coordinator)
                await type_and_send(page, "/overzicht")
                overview = message(page, "De Regenboog")
                await expect(overview).to_contain_text("De Vlinder")
                await shot(page, "coordinator-overview")

                # A broadcast, as a coordinator would send it: the menu, text, the buttons.
                await page.get_by_test_id("menu-button").click()
                await page.locator('[data-testid="command"][data-command="bericht"]').click()
                await expect(message(page, "Nieuw bericht")).to_be_visible()
                await type_and_send(page, "Morgen neemt iedereen een lunchpakket mee.")
                audience = message(page, "Aan wie gaat het bericht?")
                await press(audience, said("broadcast.btn_all"))
                await press(message(page, "Gelezen"), said("broadcast.btn_read_yes"))
                await press(
                    message(page, "Wanneer moet het bericht weg?"), said("broadcast.btn_now")
                )
                summary = message(page, "Klaar om te versturen?")
                await expect(message(page, "Zo krijgen de ontvangers het")).to_contain_text(
                    f"Bericht van {coordinator.name}"
                )
                await shot(page, "coordinator-broadcast-preview")
                await press(summary, said("broadcast.btn_send"))
                await expect(message(page, "📣 Je bericht")).to_contain_text("ontvangers")
                await shot(page, "coordinator-broadcast-sent")

                # A teacher ticks a checklist item; the list changes in place.
                await choose(page, teacher)
                await type_and_send(page, "/checklist")
                open_item = page.get_by_test_id("inline-button").filter(has_text="⬜").first
                label = (await open_item.inner_text()).strip()
                bubble = page.get_by_test_id("message").filter(has=open_item)
                message_id = await bubble.get_attribute("data-message-id")
                await shot(page, "teacher-checklist")
                await open_item.click()
                same = page.locator(f'[data-testid="message"][data-message-id="{message_id}"]')
                ticked = "✅" + label.removeprefix("⬜")
                await expect(same.get_by_role("button", name=ticked, exact=True)).to_be_visible()
                await expect(same.get_by_test_id("edited")).to_have_text(ui("edited"))
                await shot(page, "teacher-checklist-ticked")

                # The next exchange day at 07:30: the begeleider gets the day's schedule.
                await choose(page, begeleider)
                for _ in range(4):
                    day = sandbox.next_exchange_day()
                    assert day is not None
                    label_day = format_date(day.astimezone(sandbox.settings.tz).date(), "nl")
                    await page.get_by_test_id("jump-exchange-day").click()
                    await expect(page.get_by_test_id("time-machine")).to_contain_text(
                        ui("time_machine")
                    )
                    await expect(page.get_by_test_id("clock")).to_contain_text("07:30")
                    await expect(page.get_by_test_id("jump-exchange-day")).to_be_enabled()
                    # The demo's begeleiders help one pair; the other pair's day skips them.
                    if any(label_day in (m.text or "") for m in sandbox.tg.messages(begeleider.id)):
                        break
                schedule = message(page, label_day)
                await expect(schedule).to_be_visible()
                await expect(schedule).to_contain_text(begeleider.name)
                await shot(page, "begeleider-day-schedule")

                # The begeleider counts the pupils.
                await type_and_send(page, "/aanwezig 25 22")
                question = message(page, "Voor welk moment is deze telling?")
                await question.get_by_test_id("inline-button").first.click()
                await expect(message(page, "Genoteerd")).to_contain_text("25")
                await shot(page, "begeleider-headcount")

                # The coordinator's broadcast reached the begeleider too.
                await expect(message(page, f"Bericht van {coordinator.name}")).to_be_visible()

                # English on the page; then starting over asks first.
                await page.get_by_test_id("lang-en").click()
                await expect(page.get_by_test_id("jump-hour")).to_have_text(
                    TEXTS.plain("en", "sandbox.ui.jump_hour")
                )
                await page.get_by_test_id("lang-nl").click()
                page.once("dialog", lambda dialog: dialog.accept())
                await page.get_by_test_id("reset").click()
                await expect(page.get_by_test_id("status")).to_have_text(ui("reset_done"))
                await expect(page.get_by_test_id("time-machine")).to_be_hidden()
                await shot(page, "after-reset")
        finally:
            await server.stop()
