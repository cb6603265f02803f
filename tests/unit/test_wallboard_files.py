"""The wallboard page's files (agent_ui/wallboard/) as the app serves them, and the desk's
rules it keeps: the same strict CSP, no inline script or style, no API text turned into
markup, and two dictionaries that say the same things, including every error the
supervisor's actions can meet. What runs in a browser: tests/browser/test_wallboard.py."""

from __future__ import annotations

import re

import httpx
import pytest

from callcenter.acd import agents
from callcenter.acd import service as acd_service
from callcenter.acd.agents import DEFAULT_NOT_READY_REASONS
from callcenter.acd.model import AgentState
from callcenter.api.desk import AGENT_UI_DIR, CONTENT_SECURITY_POLICY
from callcenter.api.routes.supervision import FloorUnavailable
from callcenter.app import create_app
from callcenter.crm.vocabulary import Tier
from callcenter.demo.acd import DEMO_QUEUES
from callcenter.errors import DomainError
from callcenter.pbx import supervision
from callcenter.pbx.call_states import PbxUnavailable
from callcenter.settings import load_settings
from tests.support import ui_files
from tests.support.ui_files import LANGUAGES, Markup, disagreements, markup, risky_code

WALLBOARD = AGENT_UI_DIR / "wallboard"
MODULES = sorted((WALLBOARD / "js").glob("*.js"))

# What the supervisor's actions can be refused with (callcenter/api/routes/supervision.py):
# each is shown in words in both languages, not as a bare id.
ACTION_ERRORS: tuple[type[DomainError], ...] = (
    supervision.AgentNotOnCall,
    supervision.NoSupervisorPhone,
    supervision.CannotMonitorSelf,
    supervision.NotMonitoring,
    acd_service.CallNotWaitingHere,
    acd_service.AgentNotReadyForCall,
    acd_service.UnknownQueueName,
    PbxUnavailable,
    FloorUnavailable,
    agents.IllegalAgentTransition,
    agents.AgentAlreadyLoggedIn,
    agents.AgentNotLoggedIn,
    agents.ReasonRequired,
    agents.ReasonNotExpected,
    agents.UnknownReason,
    agents.ReasonReserved,
    agents.AgentNotFound,
    agents.AgentHasNoPhone,
)


def sources() -> str:
    return "\n".join(module.read_text() for module in MODULES)


def dictionary(language: str) -> dict[str, str]:
    return ui_files.dictionary(WALLBOARD, language)


def _markup() -> Markup:
    return markup(WALLBOARD / "index.html")


async def test_the_wallboard_is_served_under_the_desks_csp() -> None:
    app = create_app(load_settings(pbx_enabled=False))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as http:
        page = await http.get("/desk/wallboard/")
        module = await http.get("/desk/wallboard/js/wallboard.js")
        shared = await http.get("/desk/js/socket.js")  # what wallboard.js imports as ../../js/

    for response in (page, module, shared):
        assert response.status_code == 200
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert 'src="js/wallboard.js"' in page.text


def test_the_page_has_no_inline_script_or_style() -> None:
    page = _markup()
    assert page.scripts == [{"type": "module", "src": "js/wallboard.js"}]
    assert page.inline == []


def test_the_modules_never_turn_text_into_markup_or_code() -> None:
    assert len(MODULES) > 1, "found no modules: the wallboard's js/ moved"
    assert risky_code(sources()) == []


def test_both_dictionaries_say_the_same_things() -> None:
    assert disagreements(WALLBOARD) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_and_label_the_page_shows_is_in_the_dictionaries(language: str) -> None:
    source = sources()
    used = set(re.findall(r"""\bt\(\s*[`"']([\w.\-]+)[`"']""", source))
    assert used, "found no keys: the pattern no longer matches the code"
    labels = (
        {f"state.{s.value}" for s in AgentState}
        | {f"reason.{r}" for r in DEFAULT_NOT_READY_REASONS}
        | {f"tier.{t.value}" for t in Tier}
        | {f"ws.{s}" for s in ("open", "connecting", "reconnecting", "closed", "refused")}
        | {f"wb.mode.{m.value}" for m in supervision.MonitorMode}
        | {f"error.{e.error_id}" for e in ACTION_ERRORS}
    )
    wanted = _markup().keys | used | labels
    assert sorted(wanted - set(dictionary(language))) == []


def test_every_module_the_page_imports_is_there() -> None:
    for module in MODULES:
        for target in re.findall(
            r"""^import .* from "(\.{1,2}/[^"]+)";""", module.read_text(), re.M
        ):
            assert (module.parent / target).resolve().is_file(), f"{module.name}: {target}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_queues_are_labelled_once_by_the_desks_dictionary_which_the_board_reads(
    language: str,
) -> None:
    """queue_names.js reads the desk's `queue.<name>` labels: the demo's every queue has one
    there, in both languages, and the wallboard keeps no copy that could say otherwise."""
    desk = ui_files.dictionary(AGENT_UI_DIR, language)
    assert sorted(f"queue.{q.name}" for q in DEMO_QUEUES if f"queue.{q.name}" not in desk) == []
    assert [key for key in dictionary(language) if key.startswith("queue.")] == []
    module = (WALLBOARD / "js" / "queue_names.js").read_text()
    assert "`../../i18n/${lang}.json`" in module  # the desk's folder, from wallboard/js/
    assert "queueLabel(q.queue)" in sources()  # the queues card


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_boards_browser_phone_has_its_elements_and_every_word_of_the_desks(
    language: str,
) -> None:
    """The board runs the desk's phone (../../js/softphone.js, imported, not copied): every
    element it looks up is in the board's page, and every ``softphone.*`` word the desk has
    is in the board's dictionaries (the phone's words come from the page's own)."""
    softphone = (AGENT_UI_DIR / "js" / "softphone.js").read_text()
    ids = set(re.findall(r"""\$\("(softphone-[\w-]+)"\)""", softphone)) | {"softphone"}
    page = {named.get("id") for _, named in _markup().elements}
    assert sorted(ids - page) == []
    desk = {k for k in ui_files.dictionary(AGENT_UI_DIR, language) if k.startswith("softphone.")}
    assert desk, "the desk's dictionary has no phone words: the prefix changed"
    assert sorted(desk - set(dictionary(language))) == []
    phone = (WALLBOARD / "js" / "phone.js").read_text()
    assert 'from "../../js/softphone.js"' in phone
    assert not (WALLBOARD / "js" / "softphone.js").exists()
    board = (WALLBOARD / "js" / "wallboard.js").read_text()
    assert re.search(r"""addEventListener\("pagehide", \(\) => phone\.stop\(\)\)""", board)
