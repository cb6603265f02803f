"""The SIP router's side of several Asterisk nodes (issue 21): what the service writes for it
(callcenter/pbx/phone_config.py), its rendered config (callcenter/sandbox/router.py,
asterisk_conf/kamailio/), and what its control socket answers. The router itself runs in
tests/integration/test_cluster_real_kamailio.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from callcenter.pbx.phone_config import (
    ROUTER_SUBSCRIBER_HEADER,
    ROUTER_SUBSCRIBER_TABLE,
    PhoneConfig,
    PhoneLine,
    ha1,
    render_phones,
    render_router_subscribers,
)
from callcenter.sandbox import router
from callcenter.settings import PROJECT_ROOT, load_settings
from tests.support.environment import clear_callcenter_settings

LINES = [PhoneLine("1002", "s3cret-b"), PhoneLine("1001", "s3cret-a")]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_callcenter_settings(monkeypatch)


def test_without_a_router_the_phones_register_at_asterisk() -> None:
    text = render_phones(LINES, "cc")
    assert "contact =" not in text
    assert "qualify_frequency" not in text


def test_behind_a_router_the_desk_line_is_reached_through_it_and_qualified() -> None:
    text = render_phones(LINES, "cc", router="10.0.0.5:5060")
    assert "[1001](phone-aor)\ncontact = sip:1001@10.0.0.5:5060\nqualify_frequency = 2\n" in text
    # The browser's line still registers at a node (WSS): no contact of its own.
    assert "[1001-web](phone-aor)\n\n" in text
    assert text.count("contact = ") == 2


def test_the_router_gets_the_same_ha1_as_asterisk_and_never_the_secret() -> None:
    table = render_router_subscribers(LINES, "cc")
    assert table.splitlines() == [
        "username(string) domain(string) ha1(string)",
        f"1001:cc:{ha1('1001', 'cc', 's3cret-a')}",
        f"1002:cc:{ha1('1002', 'cc', 's3cret-b')}",
    ]
    assert "s3cret" not in table
    with pytest.raises(ValueError, match="not an extension"):
        render_router_subscribers([PhoneLine("10:01", "x")], "cc")


def test_the_service_and_the_sandbox_write_the_same_table_header() -> None:
    # callcenter.pbx and callcenter.sandbox may not import each other (import-linter).
    assert router.SUBSCRIBER_HEADER == ROUTER_SUBSCRIBER_HEADER
    assert router.SUBSCRIBER_TABLE == ROUTER_SUBSCRIBER_TABLE


async def test_phone_config_writes_both_files_behind_a_router(tmp_path: Path) -> None:
    db = tmp_path / "router-db"
    db.mkdir()
    config = PhoneConfig(
        tmp_path / "pjsip_phones.conf", "cc", None, router="127.0.0.1:25800", router_db=db
    )
    await config.apply(LINES)
    assert (db / "subscriber").read_text() == render_router_subscribers(LINES, "cc")
    assert "contact = sip:1002@127.0.0.1:25800" in (tmp_path / "pjsip_phones.conf").read_text()


def test_the_router_db_is_the_sandbox_routers_unless_set(tmp_path: Path) -> None:
    assert router.router_db_for(load_settings()) is None
    assert router.router_db_for(load_settings(sip_router="127.0.0.1:25800")) == Path(
        "/var/lib/callcenter/routers/25800/db"
    )
    chosen = load_settings(sip_router="kamailio:5060", sip_router_db_dir=tmp_path)
    assert router.router_db_for(chosen) == tmp_path


def test_desk_phones_are_told_to_register_at_the_router_when_there_is_one() -> None:
    assert load_settings(sip_port=5060).desk_phone_server == "127.0.0.1:5060"
    assert load_settings(sip_router="127.0.0.1:5090").desk_phone_server == "127.0.0.1:5090"
    container = load_settings(
        sip_router="kamailio:5060", sip_router_public_address="198.51.100.20:5080"
    )
    assert container.desk_phone_server == "198.51.100.20:5080"


def test_rendered_config_names_the_nodes_ports_and_realm(tmp_path: Path) -> None:
    config = router.RouterConfig("127.0.0.1", 25800, ("127.0.0.1:25860", "127.0.0.1:25960"))
    router.render_router(config, tmp_path, db_dir=tmp_path / "db", run_dir=tmp_path / "run")
    nodes = (tmp_path / "dispatcher.list").read_text().splitlines()
    assert [line for line in nodes if not line.startswith("#")] == [
        "1 sip:127.0.0.1:25860 0 0",
        "1 sip:127.0.0.1:25960 0 0",
    ]
    cfg = (tmp_path / "kamailio.cfg").read_text()
    assert "listen=udp:127.0.0.1:25800" in cfg
    assert "listen=tcp:127.0.0.1:25800" in cfg
    assert f'"text://{tmp_path / "db"}"' in cfg
    assert 'auth_check("callcenter", "subscriber", "1")' in cfg
    assert "{{" not in cfg


def test_dispatcher_list_answer_is_read_per_node() -> None:
    answer = """{
	NRSETS: 1
	RECORDS: {
		SET: {
			ID: 1
			TARGETS: {
				DEST: {
					URI: sip:127.0.0.1:25960
					FLAGS: IP
					PRIORITY: 0
				}
				DEST: {
					URI: sip:127.0.0.1:25860
					FLAGS: AP
					PRIORITY: 0
				}
			}
		}
	}
}
"""
    assert router.parse_dispatcher_list(answer) == {
        "sip:127.0.0.1:25960": "IP",
        "sip:127.0.0.1:25860": "AP",
    }


# --- the containers (docker-compose.yml, profile "cluster") -----------------------------------

ROUTER_SCRIPT = PROJECT_ROOT / "docker" / "kamailio" / "render_router.py"
ASTERISK_SCRIPT = PROJECT_ROOT / "docker" / "asterisk" / "render_conf.py"


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_router_image_renders_with_the_sandbox_context_keys(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    captured: dict[str, object] = {}

    def capture(source: Path, target: Path, context: dict[str, object]) -> list[Path]:
        captured.update(context)
        return []

    monkeypatch.setattr(router, "render_tree", capture)
    config = router.RouterConfig("127.0.0.1", 25800, ("127.0.0.1:25860",))
    router.render_router(config, tmp_path, db_dir=tmp_path, run_dir=tmp_path)
    script = _load(ROUTER_SCRIPT, "callcenter_docker_render_router")
    context = script.build_context(
        {"CALLCENTER_SIP_EXTERNAL_ADDRESS": "198.51.100.20"}, "172.28.0.9"
    )
    assert set(context) == set(captured)
    assert context["nodes"] == ["asterisk:5060"]
    assert (context["public_port"], context["advertise"]) == (5080, "198.51.100.20")
    with pytest.raises(script.ConfigError, match="CALLCENTER_SIP_EXTERNAL_ADDRESS"):
        script.build_context({}, "172.28.0.9")
    with pytest.raises(script.ConfigError, match="CALLCENTER_ROUTER_NODES"):
        script.build_context(
            {
                "CALLCENTER_SIP_EXTERNAL_ADDRESS": "198.51.100.20",
                "CALLCENTER_ROUTER_NODES": "asterisk;5060",
            },
            "172.28.0.9",
        )


def test_the_container_router_has_two_sides(tmp_path: Path) -> None:
    config = router.RouterConfig(
        "172.28.0.9", 5060, ("asterisk:5060",), public_port=5080, advertise="198.51.100.20"
    )
    router.render_router(config, tmp_path, db_dir=tmp_path, run_dir=tmp_path)
    cfg = (tmp_path / "kamailio.cfg").read_text()
    assert "listen=udp:172.28.0.9:5080 advertise 198.51.100.20:5080" in cfg
    # Calls to the nodes leave from the compose network's side.
    assert cfg.count("force_send_socket(udp:172.28.0.9:5060);") == 2


def test_the_cluster_profile_adds_a_router_and_a_second_node_with_its_own_name() -> None:
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    default = {name for name, service in services.items() if "profiles" not in service}
    assert default == {"asterisk", "postgres", "app"}
    assert services["kamailio"]["profiles"] == ["cluster"]
    assert services["asterisk-2"]["profiles"] == ["cluster"]
    second = services["asterisk-2"]["environment"]
    assert (
        second["CALLCENTER_AMI_SECRET"]
        == services["asterisk"]["environment"]["CALLCENTER_AMI_SECRET"]
    )
    script = _load(ASTERISK_SCRIPT, "callcenter_docker_render_conf_for_router")
    env = {
        "CALLCENTER_AMI_SECRET": "s",
        "CALLCENTER_AMI_PERMIT": "172.28.0.0/24",
        "CALLCENTER_TRUNK_ADDRESS": "kamailio",
        "CALLCENTER_SIP_EXTERNAL_ADDRESS": "198.51.100.20",
    }
    first = script.build_context(env, "/modules")
    named = script.build_context(
        {**env, "CALLCENTER_SANDBOX_INSTANCE": second["CALLCENTER_SANDBOX_INSTANCE"]}, "/modules"
    )
    assert (first["instance"], named["instance"]) == ("docker", "asterisk-2")
    # The app tells the router's HA1 table where the router reads it.
    app_env = services["app"]["environment"]
    assert app_env["CALLCENTER_SIP_ROUTER_DB_DIR"] == "/var/lib/callcenter/phones"
    public = "${CALLCENTER_ROUTER_PUBLIC_PORT:-5080}"
    assert app_env["CALLCENTER_SIP_ROUTER_PUBLIC_ADDRESS"].endswith(f":{public}")
    assert services["kamailio"]["ports"][0].startswith(f"{public}:")
    assert "phones:/var/lib/callcenter/phones:ro" in services["kamailio"]["volumes"]
