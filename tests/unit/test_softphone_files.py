"""The desk's browser phone (issue 19) without a browser: JsSIP pinned and built at setup with
its licences, the page's words for every state the phone can be in, and the policy that lets
the page reach Asterisk's WebSocket SIP and nothing else. What runs in a browser is tested in
tests/browser/test_desk_softphone.py.
"""

from __future__ import annotations

import json
import re

import httpx

from callcenter.api.desk import AGENT_UI_DIR, CONTENT_SECURITY_POLICY, phone_socket_origin
from callcenter.app import create_app
from callcenter.settings import load_settings
from tests.support import ui_files
from tests.support.ui_files import LANGUAGES

BUILD_DIR = AGENT_UI_DIR.parent / "agent_ui_build"
VENDOR_DIR = AGENT_UI_DIR / "vendor"
SOFTPHONE = AGENT_UI_DIR / "js" / "softphone.js"
MEDIA = AGENT_UI_DIR / "js" / "softphone_media.js"


def test_jssip_is_pinned_by_version_and_by_hash() -> None:
    package = json.loads((BUILD_DIR / "package.json").read_text())
    lock = json.loads((BUILD_DIR / "package-lock.json").read_text())
    wanted = {**package["dependencies"], **package["devDependencies"]}
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v in wanted.values()), wanted  # no ranges
    assert lock["packages"][""]["dependencies"] == package["dependencies"]
    for name, version in wanted.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    for path, entry in lock["packages"].items():
        if path:  # every package, JsSIP's own dependencies too, checked against its hash
            assert entry["integrity"].startswith("sha512-"), path


def test_the_build_output_is_not_committed() -> None:
    ignored = (AGENT_UI_DIR.parent / ".gitignore").read_text().split()
    assert "/agent_ui/vendor/" in ignored
    assert "/agent_ui_build/node_modules/" in ignored


def test_setup_built_jssip_as_a_module_with_every_bundled_licence() -> None:
    bundle = VENDOR_DIR / "jssip.js"
    assert bundle.is_file(), "agent_ui/vendor/jssip.js is missing: run scripts/setup"
    code = bundle.read_text()
    assert re.search(r"export\s*\{\s*\w+ as default\s*\}", code)  # what softphone.js imports
    assert "eval(" not in code
    assert "new Function" not in code
    notices = (VENDOR_DIR / "jssip.LICENSES.txt").read_text()
    version = json.loads((BUILD_DIR / "package.json").read_text())["dependencies"]["jssip"]
    assert f"jssip {version} (MIT)" in notices
    assert "José Luis Millán" in notices  # JsSIP's copyright line, kept whole
    for dependency in ("debug", "events", "sdp-transform", "ms"):
        assert re.search(rf"^{dependency} \S+ \(MIT\)$", notices, re.M), dependency


def _states(source: str) -> set[str]:
    return set(re.findall(r"""this\.set\(\s*"(\w+)\"""", source)) | {"off"}


def test_every_state_and_problem_of_the_phone_has_words_in_both_languages() -> None:
    source = SOFTPHONE.read_text()
    states = _states(source)
    # The states the module can be in, as its code sets them; a new one needs words.
    assert {"registered", "no_microphone", "unreachable", "reconnecting", "no_phone"} <= states
    calls = set(re.findall(r"""this\.call = "(\w+)\"""", source))
    assert calls == {"ringing", "answering", "talking"}
    problems = set(re.findall(r"""return "(\w+)";""", MEDIA.read_text()))
    assert {"denied", "missing", "busy", "gone", "insecure", "other"} == problems
    wanted = (
        {f"softphone.state.{s}" for s in states}
        | {f"softphone.call.{c}" for c in calls}
        | {f"softphone.mic_{p}" for p in problems}
    )
    for language in LANGUAGES:
        words = ui_files.dictionary(AGENT_UI_DIR, language)
        assert sorted(wanted - set(words)) == [], language


def test_the_page_asks_for_its_credentials_over_the_session_only() -> None:
    """The password comes from GET /api/me/phone (the session cookie) and lives in memory:
    nothing of it goes to the browser's storage."""
    source = SOFTPHONE.read_text() + MEDIA.read_text()
    assert 'get("/me/phone")' in source
    stored = re.findall(r"localStorage\.setItem\((.*)\);", source)
    assert stored == ["CHOICE_KEY, JSON.stringify(choice)"]  # the chosen devices, nothing else
    assert "sessionStorage" not in source


def test_closing_the_page_unregisters_the_phone() -> None:
    main = (AGENT_UI_DIR / "js" / "main.js").read_text()
    assert re.search(r"""addEventListener\("pagehide", \(\) => softphone\.stop\(\)\)""", main)
    stop = SOFTPHONE.read_text().split("  stop() {", 1)[1].split("\n  }\n", 1)[0]
    assert "ua?.stop()" in stop  # JsSIP's stop: REGISTER with Expires: 0, then the socket


def test_every_element_the_phone_looks_up_is_in_the_page() -> None:
    ids = set(re.findall(r"""\$\("(softphone-[\w-]+)"\)""", SOFTPHONE.read_text()))
    assert {"softphone-answer", "softphone-keypad", "softphone-mic", "softphone-speaker"} <= ids
    page = {named.get("id") for _, named in ui_files.markup(AGENT_UI_DIR / "index.html").elements}
    assert sorted(ids - page) == []


async def test_the_desk_may_connect_to_asterisks_websocket_sip_and_nowhere_else() -> None:
    settings = load_settings(sip_wss_host="pbx.example.test", sip_wss_port=8443)
    app = create_app(settings)  # static files: no lifespan needed
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as http:
        page = await http.get("/desk/")
    directives = dict(d.split(" ", 1) for d in page.headers["content-security-policy"].split("; "))
    assert directives["connect-src"] == "'self' wss://pbx.example.test:8443"
    assert phone_socket_origin(settings) == "wss://pbx.example.test:8443"
    assert directives["script-src"] == "'self'"
    # Without a PBX there is no phone to reach: the policy is the plain one.
    quiet = create_app(load_settings(pbx_enabled=False))
    transport = httpx.ASGITransport(app=quiet)
    async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as http:
        plain = await http.get("/desk/")
    assert plain.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "connect-src 'self';" in CONTENT_SECURITY_POLICY
