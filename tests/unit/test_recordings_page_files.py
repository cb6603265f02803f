"""The recordings page's files (agent_ui/recordings/) as the app serves them: the desk's CSP
(with media from this origin only, for the <audio> element), no inline script or style, no
API text turned into markup, every key it shows in both dictionaries. What runs in a browser
is in tests/browser/test_recording_playback.py."""

from __future__ import annotations

import re

import httpx

from callcenter.api.desk import AGENT_UI_DIR, CONTENT_SECURITY_POLICY
from callcenter.app import create_app
from callcenter.crm.recording_access import PlaybackReason
from callcenter.crm.recordings import RecordingStatus
from callcenter.settings import load_settings
from tests.support import ui_files
from tests.support.ui_files import LANGUAGES, disagreements, markup, risky_code

PAGE = AGENT_UI_DIR / "recordings"
MODULE = PAGE / "js" / "recordings.js"


async def test_the_page_is_served_under_the_desks_csp_which_lets_audio_from_here() -> None:
    assert "media-src 'self'" in CONTENT_SECURITY_POLICY
    app = create_app(load_settings(pbx_enabled=False))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as http:
        responses = [
            await http.get(f"/desk/recordings/{name}")
            for name in (
                "",
                "recordings.css",
                "js/recordings.js",
                "i18n/en.json",
                "i18n/zh-CN.json",
            )
        ]
    for response in responses:
        assert response.status_code == 200, response.url
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_no_inline_script_or_style_and_no_text_turned_into_markup() -> None:
    page = markup(PAGE / "index.html")
    assert page.scripts == [{"type": "module", "src": "js/recordings.js"}]
    assert page.inline == []
    assert risky_code(MODULE.read_text()) == []


def test_the_dictionaries_say_the_same_things_and_hold_every_key_shown() -> None:
    assert disagreements(PAGE) == []
    source = MODULE.read_text()
    shown = set(re.findall(r"""\bt\(\s*["']([\w.\-]+)["']""", source))
    shown |= {f"rec.scope.{key}" for key in ("recording", "interaction", "complaint", "client")}
    shown |= {f"rec.status.{status}" for status in RecordingStatus}
    shown |= {f"rec.reason.{reason}" for reason in PlaybackReason}
    shown |= markup(PAGE / "index.html").keys
    for language in LANGUAGES:
        assert sorted(shown - set(ui_files.dictionary(PAGE, language))) == [], language


def test_the_reasons_offered_are_the_apis() -> None:
    options = {
        attrs.get("value")
        for tag, attrs in markup(PAGE / "index.html").elements
        if tag == "option" and attrs.get("value")
    }
    assert options == {reason.value for reason in PlaybackReason}
