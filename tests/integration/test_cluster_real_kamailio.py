"""Two Asterisk nodes behind Kamailio (issue 21, points 4 and 5): the real router from Debian,
two real sandbox Asterisk instances, sipp callers and a test desk phone; no service.

Without the service every call takes the dialplan's fallback (extensions.conf
[service-fallback]) after the pickup deadline: here mode "queue", whose app_queue rings the
agents' phones as ``PJSIP/<ext>``, the same dial string the service's ACD uses. So a call
that reaches the phone has crossed the whole path: carrier -> router -> a node -> the router
(the AOR's contact, pjsip_phones.conf) -> where the phone registered.

The last test runs the service itself (the session's sandbox node, behind a router of its
own) with CALLCENTER_SIP_ROUTER: its ACD rings an agent registered at the router.

Ports: node i is ``CALLCENTER_TEST_NODE<i>`` ("instance,ami,sip,rtp"), by default the test
instance's ports plus 100 * i (RTP plus 1000 * i); the router CALLCENTER_TEST_ROUTER_PORT,
by default the test SIP port minus 10, and the service test's router the port after it.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from callcenter.asterisk.client import open_ami
from callcenter.pbx.phone_config import PhoneConfig, PhoneLine, new_secret
from callcenter.sandbox.errors import SandboxError
from callcenter.sandbox.instance import AsteriskInstance
from callcenter.sandbox.router import KamailioRouter, RouterConfig, kamailio_binary
from callcenter.settings import Settings, load_settings
from tests.integration.test_acd_real_asterisk import log_in, short_queue, to_an_agent
from tests.support.agent_phone import AgentPhone, Answer
from tests.support.ami import config_for
from tests.support.dtmf import KeypadCaller
from tests.support.hotline import HOTLINE as HOTLINE_NUMBER
from tests.support.hotline import Hotline
from tests.support.phone_secrets import sandbox_phone_secrets
from tests.support.sipp import CallerResult, SippCaller, TrunkCaller, register_phone

pytestmark = pytest.mark.asterisk

HOST = "127.0.0.1"
HOTLINE = "95888"
# How long a node may take to see a phone (un)registered at the router: the AOR's qualify
# (2 s) plus its timeout (1 s), with a margin for a busy machine.
QUALIFY_WAIT = 15.0
# How long the router may take to mark a stopped node down: a probe every second, 2 s for
# its answer, with a margin.
PROBE_WAIT = 15.0


def _node_settings(index: int) -> Settings:
    base_instance = os.environ.get("CALLCENTER_TEST_INSTANCE", "pytest")
    ami = int(os.environ.get("CALLCENTER_TEST_AMI_PORT", "15038")) + 100 * index
    sip = int(os.environ.get("CALLCENTER_TEST_SIP_PORT", "15060")) + 100 * index
    rtp = int(os.environ.get("CALLCENTER_TEST_RTP_START", "12000")) + 1000 * index
    instance = f"{base_instance}-n{index}"
    given = os.environ.get(f"CALLCENTER_TEST_NODE{index}")
    if given:
        name, ami_text, sip_text, rtp_text = given.split(",")
        instance, ami, sip, rtp = name, int(ami_text), int(sip_text), int(rtp_text)
    return load_settings(
        sandbox_instance=instance,
        ami_port=ami,
        sip_port=sip,
        sip_wss_port=sip + 29,
        rtp_start=rtp,
        rtp_end=rtp + 999,
        ami_username="callcenter-test",
        ami_secret=secrets.token_urlsafe(18),
        # No service: each call goes to the fallback's queue a second after it arrives.
        service_pickup_seconds=1,
        fallback_mode="queue",
        fallback_queue_wait_seconds=10,
        cel_import_seconds=0,
    )


def _router_port() -> int:
    default = int(os.environ.get("CALLCENTER_TEST_SIP_PORT", "15060")) - 10
    return int(os.environ.get("CALLCENTER_TEST_ROUTER_PORT", str(default)))


@dataclass
class Cluster:
    nodes: list[AsteriskInstance]
    router: KamailioRouter
    phone_secrets: dict[str, str]

    @property
    def router_port(self) -> int:
        return self.router.config.port

    def calls_processed(self) -> list[int]:
        """Each node's count of calls that ran its dialplan since it started."""
        return [_processed(node.cli("core show calls")) for node in self.nodes]


def _contact_status(node: AsteriskInstance, extension: str) -> str:
    """The node's status of the phone's contact at the router: Avail or Unavail."""
    text = node.cli(f"pjsip show aor {extension}")
    match = re.search(rf"Contact:\s+{extension}/\S+\s+\S+\s+(\w+)", text)
    return match.group(1) if match else "none"


def _processed(text: str) -> int:
    match = re.search(r"(\d+) calls? processed", text)
    assert match, text
    return int(match.group(1))


async def _until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait for ``check()`` to hold, asking again every 0.2 s (the router and the nodes tell
    nothing by themselves: their state is read over their control sockets)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.2)


async def _apply_phones(
    cluster_nodes: list[AsteriskInstance], router: KamailioRouter
) -> dict[str, str]:
    """Fresh secrets for every agent phone, written the way the service writes them with a
    router (pjsip_phones.conf on each node, the HA1 table for the router) and reloaded."""
    extensions = cluster_nodes[0].settings.agent_extensions
    phone_secrets = {extension: new_secret() for extension in extensions}
    lines = [PhoneLine(ext, secret) for ext, secret in phone_secrets.items()]
    for index, node in enumerate(cluster_nodes):
        async with open_ami(config_for(node.settings)) as ami:
            config = PhoneConfig(
                node.phones_conf,
                node.settings.sip_realm,
                ami,
                router=router.config.address,
                router_db=router.db if index == 0 else None,
            )
            await config.apply(lines)
    return phone_secrets


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    if os.geteuid() != 0:
        pytest.fail("the sandbox and the router need root: run the suite with scripts/test")
    try:
        kamailio_binary()
    except SandboxError as exc:
        pytest.fail(f"{exc} (scripts/test runs scripts/ensure-kamailio)")
    nodes = [AsteriskInstance(_node_settings(index)) for index in (1, 2)]
    router = KamailioRouter(
        RouterConfig(
            HOST,
            _router_port(),
            tuple(f"{HOST}:{node.settings.sip_port}" for node in nodes),
        )
    )
    router.down()
    for node in nodes:
        node.down()
        node.up()
    router.up()
    try:
        phone_secrets = asyncio.run(_apply_phones(nodes, router))
        yield Cluster(nodes, router, phone_secrets)
    finally:
        router.down()
        for node in nodes:
            node.down()


def _routed_caller(port: int, hold_ms: int) -> SippCaller:
    """A trunk caller that follows the router's Record-Route, as a carrier does: its ACK and
    BYE go to the node's Contact with the route set (sipp's [next_url] and [routes])."""
    caller = SippCaller(port, HOTLINE, hold_ms=hold_ms)
    _routed(caller)
    return caller


async def _calls(port: int, count: int, hold_ms: int = 2500) -> list[CallerResult]:
    callers = [_routed_caller(port, hold_ms) for _ in range(count)]
    for caller in callers:
        await caller.start()
    return list(await asyncio.gather(*(caller.wait(60) for caller in callers)))


async def test_callers_at_the_router_are_spread_over_both_nodes(cluster: Cluster) -> None:
    before = cluster.calls_processed()
    results = await _calls(cluster.router_port, 4)
    assert all(result.succeeded for result in results), [r.output for r in results]
    assert all(result.log.answered_at is not None for result in results)
    after = cluster.calls_processed()
    taken = [a - b for a, b in zip(after, before, strict=True)]
    # Round robin: two each.
    assert taken == [2, 2], taken
    # Each node names its channels' uniqueids after itself (asterisk.conf systemname), so a
    # uniqueid names one channel across the nodes.
    for node in cluster.nodes:
        settings = node.cli("core show settings")
        assert re.search(rf"System name:\s+{node.settings.sandbox_instance}\n", settings)


async def test_a_phone_registered_at_the_router_is_reached_from_either_node(
    cluster: Cluster,
) -> None:
    phone = AgentPhone(
        cluster.router_port,
        "1001",
        password=cluster.phone_secrets,
        behaviour=Answer(after=0.2, hang_up_after=0.5),
    )
    await phone.start()
    try:
        assert "1001" in cluster.router.registered()
        # Each node's device state of PJSIP/1001 follows the registration at the router.
        for node in cluster.nodes:
            await _until(
                lambda node=node: _contact_status(node, "1001") == "Avail",
                QUALIFY_WAIT,
                f"{node.settings.sandbox_instance} sees 1001 registered",
            )
        assert _contact_status(cluster.nodes[0], "1002") == "Unavail"
        reached_from = []
        for count in (1, 2):
            before = cluster.calls_processed()
            caller = _routed_caller(cluster.router_port, hold_ms=20_000)
            await caller.start()
            await phone.wait_invite(count, timeout=20)
            result = await caller.wait(60)
            # The agent hung up: the far end's BYE reached the caller through the router.
            assert result.succeeded, result.output
            assert result.log.far_end_hung_up
            after = cluster.calls_processed()
            reached_from += [i for i, (a, b) in enumerate(zip(after, before, strict=True)) if a > b]
        assert sorted(reached_from) == [0, 1]
        assert len(phone.answered) == 2
    finally:
        await phone.stop()
    for node in cluster.nodes:
        await _until(
            lambda node=node: _contact_status(node, "1001") == "Unavail",
            QUALIFY_WAIT,
            f"{node.settings.sandbox_instance} sees 1001 gone",
        )


async def test_a_register_with_a_wrong_password_is_refused(cluster: Cluster) -> None:
    wrong = await register_phone(cluster.router_port, "1002", password="not-the-secret", expect=401)
    assert wrong.succeeded, wrong.output
    assert "1002" not in cluster.router.registered()
    # Another person's secret does not open this extension either.
    borrowed = await register_phone(
        cluster.router_port, "1002", password=cluster.phone_secrets["1003"], expect=401
    )
    assert borrowed.succeeded, borrowed.output
    right = await register_phone(cluster.router_port, "1002", password=cluster.phone_secrets)
    assert right.succeeded, right.output
    assert "1002" in cluster.router.registered()


async def test_calls_go_to_the_other_node_when_one_stops(cluster: Cluster) -> None:
    first, second = cluster.nodes
    second_uri = f"sip:{HOST}:{second.settings.sip_port}"
    second.kill()  # as a crash: no goodbye on any socket
    # Before the probe has noticed, a call sent to the dead node fails over to the other.
    before = _processed(first.cli("core show calls"))
    early = await _calls(cluster.router_port, 2)
    assert all(result.succeeded for result in early), [r.output for r in early]
    await _until(
        lambda: cluster.router.node_states().get(second_uri, "").startswith("I"),
        PROBE_WAIT,
        "the router marks the stopped node down",
    )
    results = await _calls(cluster.router_port, 4)
    assert all(result.succeeded for result in results), [r.output for r in results]
    assert _processed(first.cli("core show calls")) - before == 6


# --- the service behind the router ------------------------------------------------------------


def _routed(caller: TrunkCaller) -> TrunkCaller:
    """The caller's scenario, made to follow the router's Record-Route (see _routed_caller)."""
    text = caller.scenario.read_text()
    text = text.replace(
        '<recv response="200" rtd="true"/>', '<recv response="200" rtd="true" rrs="true"/>'
    )
    for method in ("ACK", "BYE"):
        text = text.replace(
            f"{method} sip:[service]@[remote_ip]:[remote_port] SIP/2.0",
            f"{method} [next_url] SIP/2.0\n      [routes]",
        )
    caller.scenario.write_text(text)
    return caller


async def test_the_service_rings_an_agent_registered_at_the_router(
    hotline_factory: Callable[..., Any],
    asterisk: AsteriskInstance,
    asterisk_settings: Settings,
) -> None:
    """The service with CALLCENTER_SIP_ROUTER on the session's own sandbox node, behind a
    router of its own: the service writes the router's HA1 table and the AORs' contacts, the
    agent's phone registers at the router, the ACD lets the agent go ready (the node's device
    state follows the router) and rings PJSIP/1001, which the router puts through."""
    port = _router_port() + 1
    router = KamailioRouter(RouterConfig(HOST, port, (f"{HOST}:{asterisk_settings.sip_port}",)))
    router.down()
    router.up()
    try:
        line: Hotline = await hotline_factory(
            sip_router=router.config.address, sip_router_db_dir=router.db
        )
        assert "contact = sip:1001@" in asterisk.phones_conf.read_text()
        await short_queue(line)
        async with AgentPhone(
            port, "1001", password=line.phone_secrets, behaviour=Answer(0.5, 2.0)
        ) as phone:
            await _until(
                lambda: _contact_status(asterisk, "1001") == "Avail",
                QUALIFY_WAIT,
                "the node sees 1001 registered at the router",
            )
            agent = await log_in(line, "agent01")
            caller = _routed(
                KeypadCaller(port, HOTLINE_NUMBER, to_an_agent(8.0), caller=line.client.phone)
            )
            await caller.start()
            await phone.wait_answered(timeout=30)
            result = await caller.wait()
            call = await line.ended_interaction()
        assert result.succeeded, result.output
        assert call.agent_id == agent
        assert call.answered_at is not None
    finally:
        router.down()
        # The session's sandbox goes back to phones that register at it.
        await sandbox_phone_secrets(asterisk, asterisk_settings)
