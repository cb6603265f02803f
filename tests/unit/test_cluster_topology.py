"""scripts/cluster's topology (callcenter/sandbox/topology.py): where each part runs, what a
service instance is told, and the nodes sharing one pjsip_phones.conf. The topology itself
runs in tests/integration/test_cluster_real_kamailio.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.sandbox import topology
from callcenter.sandbox.errors import SandboxError
from callcenter.sandbox.instance import AsteriskInstance
from callcenter.settings import load_settings
from tests.support.environment import clear_callcenter_settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_callcenter_settings(monkeypatch)


def test_defaults_keep_clear_of_the_single_node_ports() -> None:
    chosen = topology.Topology.from_env({})
    single = load_settings()
    taken = {single.sip_port, single.ami_port, single.sip_wss_port, 5070}
    for node in chosen.nodes:
        settings = chosen.node_settings(node)
        ports = {settings.sip_port, settings.ami_port, settings.sip_wss_port}
        assert not ports & taken
        assert settings.rtp_end < single.rtp_start or settings.rtp_start > single.rtp_end
    assert chosen.router_port not in taken
    assert [node.instance for node in chosen.nodes] == ["node1", "node2"]


def test_nodes_and_router_port_come_from_the_environment() -> None:
    chosen = topology.Topology.from_env(
        {
            "CALLCENTER_CLUSTER_NODE2": "k2,25938,25960,39000",
            "CALLCENTER_CLUSTER_ROUTER_PORT": "25800",
        }
    )
    assert chosen.nodes[1] == topology.NodePorts("k2", 25938, 25960, 39000)
    assert chosen.router_address == "127.0.0.1:25800"
    router = chosen.router("callcenter")
    assert router.config.nodes == ("127.0.0.1:5160", "127.0.0.1:25960")
    with pytest.raises(SandboxError, match="instance,ami,sip,rtp"):
        topology.Topology.from_env({"CALLCENTER_CLUSTER_NODE1": "k1,25838"})


def test_a_service_instance_is_told_node_one_and_the_router() -> None:
    env = topology.service_environment(topology.Topology.from_env({}))
    assert env["CALLCENTER_SANDBOX_INSTANCE"] == "node1"
    assert env["CALLCENTER_AMI_PORT"] == "5138"
    assert env["CALLCENTER_SIP_ROUTER"] == "127.0.0.1:5090"
    # Every one a setting the service reads, and together valid.
    settings = load_settings(**{n.removeprefix("CALLCENTER_").lower(): v for n, v in env.items()})
    assert settings.sip_router == "127.0.0.1:5090"
    assert settings.rtp_start == 20000


def test_node_two_reads_node_ones_phones(tmp_path: Path) -> None:
    chosen = topology.Topology.from_env({})
    nodes = [
        AsteriskInstance(
            chosen.node_settings(node).model_copy(update={"sandbox_cache_dir": tmp_path})
        )
        for node in chosen.nodes
    ]
    nodes[0].phones_conf.parent.mkdir(parents=True)
    nodes[0].phones_conf.write_text("[1001](phone)\n")
    topology.share_phones(nodes)
    topology.share_phones(nodes)  # again: the link is kept
    assert nodes[1].phones_conf.is_symlink()
    assert nodes[1].phones_conf.read_text() == "[1001](phone)\n"
    assert not Path(nodes[1].phones_conf.readlink()).is_absolute()
