"""The SIP router's side of several Asterisk nodes (issue 21): what the service writes for it
(callcenter/pbx/phone_config.py), its rendered config (callcenter/sandbox/router.py,
asterisk_conf/kamailio/), and what its control socket answers. The router itself runs in
tests/integration/test_cluster_real_kamailio.py."""

from __future__ import annotations

from pathlib import Path

import pytest

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
from callcenter.settings import load_settings

LINES = [PhoneLine("1002", "s3cret-b"), PhoneLine("1001", "s3cret-a")]


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
