"""The multi-node topology on one machine (issue 21, point 5): two sandbox Asterisk nodes and
the Kamailio router in front of them, on loopback ports of their own. scripts/cluster runs
this (``python -m callcenter.sandbox.topology up|down|status``) after making sure PostgreSQL,
Kamailio and (when its script exists) NATS are there; the service instances are started by
the script's hook with the environment :func:`service_environment` prints.

Where things run, by default (each overridable from the environment):

* node 1: instance ``node1``, SIP udp 5160, AMI 5138, WSS 8189, RTP 20000-20999
  (CALLCENTER_CLUSTER_NODE1="name,ami,sip,rtp");
* node 2: instance ``node2``, SIP udp 5260, AMI 5238, WSS 8289, RTP 21000-21999
  (CALLCENTER_CLUSTER_NODE2);
* the router: 127.0.0.1:5090, udp and tcp (CALLCENTER_CLUSTER_ROUTER_PORT).

Out of the way of the single-node defaults (SIP 5060, AMI 5038, scripts/client.py's 5070),
so that both can run on one machine. Each node's ``systemname`` is its instance name
(asterisk.conf), so channel uniqueids (``node1-1765432100.42``) are unique across nodes.

Both nodes read one pjsip_phones.conf: node 2's is a relative symbolic link to node 1's
(the nodes share the sandbox root), which the service writes (its CALLCENTER_SANDBOX_INSTANCE
is node 1's) along with the router's HA1 table.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from callcenter.sandbox.errors import SandboxError
from callcenter.sandbox.instance import PHONES_CONF, AsteriskInstance
from callcenter.sandbox.router import KamailioRouter, RouterConfig
from callcenter.settings import Settings, load_settings

HOST = "127.0.0.1"
DEFAULT_NODES = ("node1,5138,5160,20000", "node2,5238,5260,21000")
DEFAULT_ROUTER_PORT = 5090


@dataclass(frozen=True)
class NodePorts:
    instance: str
    ami: int
    sip: int
    rtp: int

    @classmethod
    def parse(cls, text: str) -> NodePorts:
        try:
            name, ami, sip, rtp = (part.strip() for part in text.split(","))
            return cls(name, int(ami), int(sip), int(rtp))
        except ValueError as exc:
            raise SandboxError(
                "cluster-node-invalid", f"a node is 'instance,ami,sip,rtp', not {text!r}"
            ) from exc


@dataclass(frozen=True)
class Topology:
    nodes: tuple[NodePorts, ...]
    router_port: int

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Topology:
        nodes = tuple(
            NodePorts.parse(env.get(f"CALLCENTER_CLUSTER_NODE{index}") or default)
            for index, default in enumerate(DEFAULT_NODES, start=1)
        )
        port = int(env.get("CALLCENTER_CLUSTER_ROUTER_PORT") or DEFAULT_ROUTER_PORT)
        return cls(nodes, port)

    @property
    def router_address(self) -> str:
        return f"{HOST}:{self.router_port}"

    def node_settings(self, node: NodePorts) -> Settings:
        # The AMI login, realm and everything else come from the environment, as the
        # service's do: the service instances log in to every node with the same user.
        return load_settings(
            sandbox_instance=node.instance,
            ami_port=node.ami,
            sip_port=node.sip,
            sip_wss_port=wss_port(node),
            rtp_start=node.rtp,
            rtp_end=node.rtp + 999,
        )

    def instances(self) -> list[AsteriskInstance]:
        return [AsteriskInstance(self.node_settings(node)) for node in self.nodes]

    def router(self, realm: str) -> KamailioRouter:
        return KamailioRouter(
            RouterConfig(
                HOST, self.router_port, tuple(f"{HOST}:{n.sip}" for n in self.nodes), realm
            )
        )


def service_environment(topology: Topology) -> dict[str, str]:
    """What a service instance needs to work in this topology: node 1 as its sandbox instance
    (pjsip_phones.conf, prompts, recordings), the router, and PostgreSQL."""
    first = topology.nodes[0]
    return {
        "CALLCENTER_SANDBOX_INSTANCE": first.instance,
        "CALLCENTER_AMI_PORT": str(first.ami),
        "CALLCENTER_SIP_PORT": str(first.sip),
        "CALLCENTER_SIP_WSS_PORT": str(wss_port(first)),
        "CALLCENTER_RTP_START": str(first.rtp),
        "CALLCENTER_RTP_END": str(first.rtp + 999),
        "CALLCENTER_SIP_ROUTER": topology.router_address,
    }


def wss_port(node: NodePorts) -> int:
    """The node's WSS port (and the one after it, its plain HTTP): 8189 for SIP 5160, clear
    of the single-node default 8089."""
    return node.sip + 3029


def share_phones(instances: list[AsteriskInstance]) -> None:
    """Every node after the first includes the first node's pjsip_phones.conf: a relative
    link, which resolves the same inside the sandbox root (Asterisk) and on the host."""
    first = instances[0]
    for node in instances[1:]:
        link = node.phones_conf
        target = os.path.relpath(first.phones_conf, link.parent)
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() and os.readlink(link) == target:
            continue
        link.unlink(missing_ok=True)
        link.symlink_to(target)


def up(topology: Topology) -> list[str]:
    instances = topology.instances()
    said = []
    for instance in instances:
        said.append(instance.up())
    share_phones(instances)
    said.append(topology.router(instances[0].settings.sip_realm).up())
    return said


def down(topology: Topology) -> list[str]:
    realm = topology.node_settings(topology.nodes[0]).sip_realm
    said = [topology.router(realm).down()]
    said += [instance.down() for instance in topology.instances()]
    return said


def status(topology: Topology) -> list[str]:
    instances = topology.instances()
    router = topology.router(instances[0].settings.sip_realm)
    lines = []
    for node, instance in zip(topology.nodes, instances, strict=True):
        state = instance.status()
        lines.append(
            f"node {node.instance:<8} SIP udp {HOST}:{node.sip}  AMI {HOST}:{node.ami}  "
            f"RTP {node.rtp}-{node.rtp + 999}  {'up' if state.running else 'down'}: "
            f"{state.detail}"
        )
    routing = router.status()
    lines.append(
        f"router   {topology.router_address} udp+tcp  {'up' if routing.running else 'down'}: "
        f"{routing.detail}"
    )
    if routing.running:
        for uri, flags in sorted(router.node_states().items()):
            meaning = "in use" if flags.startswith("A") else "skipped (down)"
            lines.append(f"  dispatcher {uri}: {flags} ({meaning})")
        lines.append(f"  phones registered at the router: {', '.join(router.registered()) or '-'}")
    lines.append(f"  phones' HA1 table: {router.subscribers}")
    lines.append(f"  shared pjsip_phones.conf: {instances[0].dir / 'etc' / PHONES_CONF}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("command", choices=("up", "down", "status", "env"))
    args = parser.parse_args(argv)
    topology = Topology.from_env(os.environ)
    try:
        if args.command == "env":
            lines = [f"{k}={v}" for k, v in service_environment(topology).items()]
        else:
            lines = {"up": up, "down": down, "status": status}[args.command](topology)
    except SandboxError as exc:
        print(f"cluster: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
