"""Login errors and network failures in the page's language (issue 16, point 6), in Chromium
against the running service and the real Asterisk.

On the desk, in zh-CN and in English: a wrong password, the back-off after repeated wrong
passwords (with its wait in seconds), a wrong second-factor code, the server unreachable
while logging in, and once logged in, a request the server's schema refuses (422, field by
field) and the live connection lost (the page says it is reconnecting). Each message is the
one the dictionaries hold for that language: the desk's own, else the shared one
(agent_ui/messages/i18n/, agent_ui/js/errors.js); never the server's English message.
Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, Route, WebSocketRoute, expect

from callcenter.api.desk import AGENT_UI_DIR
from tests.browser.conftest import VIEWPORT, ServedDesk
from tests.support.logins import DEMO_PASSWORD, demo_codes

pytestmark = [pytest.mark.asterisk, pytest.mark.browser, pytest.mark.timeout(240)]


def words(language: str, key: str) -> str:
    """What the desk shows for ``key`` in ``language``: its own words, else the shared."""
    for folder in (AGENT_UI_DIR, AGENT_UI_DIR / "messages"):
        dictionary = json.loads((folder / "i18n" / f"{language}.json").read_text("utf-8"))
        if key in dictionary:
            text: str = dictionary[key]
            return text
    raise AssertionError(f"no words for {key} in {language}")


def pattern(text: str) -> re.Pattern[str]:
    """A text with its {placeholders} as any number."""
    parts = re.split(r"\{\w+\}", text)
    return re.compile("^" + r"\d+".join(re.escape(part) for part in parts) + "$")


# In the page: a state the API does not offer, through the page's own modules.
REFUSED_STATE = """async () => {
  const { ApiError, post } = await import("/desk/js/api.js");
  const { describeError } = await import("/desk/js/errors.js");
  try {
    await post("/agents/me/state", { state: "on_holiday" });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return { text: describeError(error), detail: error.detail };
  }
  throw new Error("the server took a state it does not offer");
}"""


class LiveLink:
    """The desk's websocket through Playwright: passed to the server until ``cut()``, then
    closed, and every reconnection refused, as when the network to the server is gone."""

    def __init__(self) -> None:
        self.routes: list[WebSocketRoute] = []
        self.cut_off = False

    async def route(self, ws: WebSocketRoute) -> None:
        if self.cut_off:
            await ws.close(code=1011, reason="gone")
            return
        ws.connect_to_server()
        self.routes.append(ws)

    async def cut(self) -> None:
        self.cut_off = True
        for ws in self.routes:
            await ws.close(code=1011, reason="gone")


async def submit(page: Page, username: str, password: str) -> None:
    await page.fill("#login-username", username)
    await page.fill("#login-password", password)
    await page.click("#login-submit")


@pytest.mark.parametrize("language", ["zh-CN", "en"])
async def test_login_errors_and_network_failures_are_shown_in_the_pages_language(
    served_desk: ServedDesk, browser: Browser, artifacts: Path, language: str
) -> None:
    context = await browser.new_context(viewport=VIEWPORT, locale=language)  # type: ignore[arg-type]
    page = served_desk.watch(await context.new_page())
    link = LiveLink()
    await page.route_web_socket(re.compile(r"/ws$"), link.route)
    await page.goto(f"{served_desk.base_url}/desk/")
    await expect(page.locator("#login-view")).to_be_visible()
    await expect(page.locator("html")).to_have_attribute("lang", language)
    error = page.locator("#login-error")

    # A wrong password.
    await submit(page, "agent02", "not-the-password")
    await expect(error).to_have_text(words(language, "error.bad-credentials"))

    # Wrong again and again: the back-off, with its wait.
    backoff = pattern(words(language, "error.retry_in"))
    for _ in range(8):
        await submit(page, "agent02", "not-the-password")
        await expect(page.locator("#login-submit")).to_be_enabled()
        if backoff.match(await error.inner_text()):
            break
    await expect(error).to_have_text(backoff)
    await page.screenshot(path=str(artifacts / f"messages-{language}-backoff.png"))

    # The server unreachable while logging in.
    async def refuse(route: Route) -> None:
        await route.abort("connectionrefused")

    await page.route("**/api/auth/login", refuse)
    await submit(page, "agent01", DEMO_PASSWORD)
    await expect(error).to_have_text(words(language, "error.network"))
    await page.screenshot(path=str(artifacts / f"messages-{language}-unreachable.png"))
    await page.unroute("**/api/auth/login", refuse)

    # A wrong second-factor code (a supervisor's login asks for one).
    await submit(page, "supervisor01", DEMO_PASSWORD)
    await expect(page.locator("#mfa-form")).to_be_visible()
    valid = set(demo_codes())
    wrong = next(code for code in ("000000", "111111", "222222") if code not in valid)
    await page.fill("#mfa-code", wrong)
    await page.click("#mfa-submit")
    await expect(page.locator("#mfa-error")).to_have_text(words(language, "error.bad-mfa-code"))
    await page.click("#mfa-back")

    # Logged in, then the live connection is lost: the page says it is reconnecting.
    await submit(page, "agent01", DEMO_PASSWORD)
    await expect(page.locator("#desk-view")).to_be_visible()
    status = page.locator("#ws-status")
    await expect(status).to_have_text(words(language, "ws.open"))

    # A request the server's schema refuses (422 invalid-request): each field, and why, in
    # the page's language, worded by errors.js from the real answer's detail.
    refused = await page.evaluate(REFUSED_STATE)
    ((field, kind),) = [(entry["loc"][-1], entry["type"]) for entry in refused["detail"]]
    assert (field, kind) == ("state", "literal_error")
    why = words(language, f"invalid.{kind}")
    one = words(language, "invalid.field").format(field=field, why=why)
    assert refused["text"] == words(language, "invalid.fields").format(fields=one)
    await link.cut()
    await expect(status).to_have_attribute("data-status", "reconnecting")
    await expect(status).to_have_text(words(language, "ws.reconnecting"))
    await page.screenshot(path=str(artifacts / f"messages-{language}-reconnecting.png"))

    assert served_desk.csp_violations() == []
    await context.close()
