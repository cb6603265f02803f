"""The composition root: builds every long-lived object in the app's lifespan.

Nothing is created at import time; tests build apps with their own settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import signal
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from callcenter import __version__
from callcenter.acd.agent_states import AgentStates
from callcenter.acd.agents import reason_codes
from callcenter.acd.phones import PhoneCheck, PhoneWatch
from callcenter.acd.service import AcdService
from callcenter.acd.wrap_up import WrapUpRules
from callcenter.api import api_router
from callcenter.api.desk import mount_agent_desktop, phone_socket_origin
from callcenter.api.errors import install_error_handlers
from callcenter.api.forwarding import ForwardToOwner, OwnerForwarder
from callcenter.api.no_store import NoStoreForApi
from callcenter.api.routes.health import health_router
from callcenter.api.ws import cti_hub
from callcenter.api.ws import router as ws_router
from callcenter.asterisk.client import AmiClient, AmiConfig
from callcenter.asterisk.errors import AmiAuthenticationError
from callcenter.broker import broker_config
from callcenter.broker.nats_link import NatsBrokerLink
from callcenter.cluster.desks import ClusterDesks
from callcenter.cluster.ownership import CallOwnership
from callcenter.crm.recording_alarm import RecordingAlarm, StorageWatch, alarm_event
from callcenter.crm.recording_pauses import RecordingPauses
from callcenter.crm.recordings import RecordingService
from callcenter.cti.desk_watch import DeskWatch
from callcenter.cti.floor import FloorState
from callcenter.cti.floor_publisher import FloorPublisher
from callcenter.cti.hub import CtiHub
from callcenter.cti.pop_delivery import HubPopDelivery
from callcenter.events import EventBus
from callcenter.heap import start_up_frozen
from callcenter.ivr.calendar import BusinessCalendar
from callcenter.ivr.loader import FlowsInvalid
from callcenter.ivr.registry import FlowRegistry
from callcenter.ivr.sounds import INDEX_NAME, SoundCatalog, refresh_prompts
from callcenter.lifecycle import Policy, ServiceTasks
from callcenter.logfilters import install_access_log_filter
from callcenter.outbound.model import CallingHours, DialRules
from callcenter.outbound.service import OutboundService
from callcenter.pbx.adoption import CallAdoption
from callcenter.pbx.call_control import CallControl
from callcenter.pbx.caller_leg import CallerLegs, QueueEntry
from callcenter.pbx.channels import ChannelTracker
from callcenter.pbx.consult_recording import ConsultRecorder
from callcenter.pbx.ivr_runner import IvrConfig, IvrRunner
from callcenter.pbx.link import CallHandler, PbxLink, Resyncs, by_context
from callcenter.pbx.phone_config import PhoneConfig
from callcenter.pbx.phone_credentials import PhoneCredentials
from callcenter.pbx.progressive import PROGRESSIVE_CONTEXT, ProgressiveCalls
from callcenter.pbx.prompt_files import PromptSpeaker
from callcenter.pbx.recording import CallRecorder
from callcenter.pbx.recording_mute import AmiRecordingMute, end_pauses_on_hangup
from callcenter.pbx.registrations import PhoneRegistrations
from callcenter.pbx.supervision import Supervision
from callcenter.pbx.virtual_hold import VirtualHoldCallBacks
from callcenter.persistence import migrate
from callcenter.persistence.adopted_ends import AsteriskEnds
from callcenter.persistence.agent_phones import SqlAgentPhones
from callcenter.persistence.call_owner import PgCoordination
from callcenter.persistence.cel_import import CelImporter
from callcenter.persistence.db import Database, ensure_sqlite_folder
from callcenter.persistence.floor import load_floor_seed
from callcenter.persistence.journal import WriteJournal, journaled_sql_stores
from callcenter.persistence.outbound import SqlOutboundStore, keep_return_visits
from callcenter.persistence.outbound_reports import campaign_reader
from callcenter.persistence.phone_secrets import SqlPhoneSecrets
from callcenter.persistence.recording_files import recording_storage_for
from callcenter.persistence.recording_pauses import SqlPauseLedger
from callcenter.persistence.recordings import SqlRecordingLedger
from callcenter.persistence.supervision import SqlSupervisionBackend
from callcenter.runtime import Runtime
from callcenter.sandbox.instance import AsteriskInstance, cel_file_for, phones_conf_for
from callcenter.sandbox.router import router_db_for
from callcenter.secretbox import box_for
from callcenter.settings import Settings

log = logging.getLogger(__name__)


def ami_config(settings: Settings) -> AmiConfig:
    return AmiConfig(
        host=settings.ami_host,
        port=settings.ami_port,
        username=settings.ami_username,
        secret=settings.ami_secret.get_secret_value(),
        ssl_context=ssl.create_default_context() if settings.ami_tls else None,
        action_timeout=settings.ami_action_timeout,
        ping_interval=settings.ami_ping_interval,
        event_queue_size=settings.ami_event_queue_size,
    )


@dataclass(frozen=True)
class IvrPaths:
    prompts_dir: Path  # where the service reads the prompt index
    prompts_in_asterisk: str  # the same folder as Asterisk names it
    recordings_in_asterisk: str


def ivr_paths(settings: Settings) -> IvrPaths:
    """Explicit settings (a deployment), else the sandbox instance's folders."""
    instance = AsteriskInstance(settings)
    prompts_dir = settings.ivr_prompts_dir or instance.prompts_dir
    in_asterisk = settings.ivr_prompts_dir_in_asterisk
    if not in_asterisk:
        in_asterisk = (
            str(prompts_dir)
            if settings.ivr_prompts_dir
            else "/" + str(instance.prompts_dir.relative_to(instance.root))
        )
    recordings = settings.ivr_recordings_dir or str(instance.dir_in_root / "spool" / "messages")
    return IvrPaths(prompts_dir, in_asterisk, recordings)


def business_calendar(settings: Settings) -> BusinessCalendar:
    return BusinessCalendar.of(
        opens=settings.business_opens,
        closes=settings.business_closes,
        weekdays=settings.business_weekdays,
        holidays=settings.business_holidays,
        timezone=settings.business_timezone,
    )


def dial_rules(settings: Settings) -> DialRules:
    return DialRules(
        center_time_zone=settings.business_timezone,
        hours=CallingHours(
            weekday_start=settings.outbound_weekday_start,
            weekday_end=settings.outbound_weekday_end,
            weekend_start=settings.outbound_weekend_start,
            weekend_end=settings.outbound_weekend_end,
        ),
        max_attempts=settings.outbound_max_attempts,
        min_spacing=dt.timedelta(minutes=settings.outbound_min_spacing_minutes),
    )


def load_ivr(settings: Settings, paths: IvrPaths) -> tuple[FlowRegistry, SoundCatalog]:
    """The flows (an invalid folder stops the start, with every error named) and the index
    of their rendered prompts (a missing one is reported by /health and the log)."""
    registry = FlowRegistry(settings.ivr_flows_dir, settings.ivr_default_flow)
    sounds = SoundCatalog(paths.prompts_dir / INDEX_NAME, paths.prompts_in_asterisk)
    refresh_prompts(sounds, registry.current)
    return registry, sounds


async def seeded_floor(settings: Settings, db: Database, events: EventBus) -> FloorPublisher:
    """The wallboard, starting from today's report so far, the calls a previous run left
    open and the agents' stored states. Called before anything can publish an event, so
    that no event is both in the seed and folded again."""
    async with db.read() as session:
        seed = await load_floor_seed(session, dt.datetime.now(dt.UTC), settings.business_timezone)
    state = FloorState(
        tz=ZoneInfo(settings.business_timezone), service_level_seconds=seed.service_level_seconds
    )
    state.seed(
        seed.day,
        seed.figures,
        seed.waiting,
        live=seed.live,
        agents=seed.agents,
        queues=seed.queues,
    )
    return FloorPublisher(
        events,
        state,
        batch=settings.ws_floor_batch_seconds,
        gap=settings.ws_floor_snapshot_seconds,
        refresh=settings.ws_floor_refresh_seconds,
        campaigns=campaign_reader(db, settings.business_timezone),  # outbound progress
    )


def reload_flows(runtime: Runtime) -> bool:
    """Reload the IVR flows and their prompt index; False (old flows kept) on any error."""
    try:
        runtime.flows.reload()
    except FlowsInvalid:
        return False  # the registry logged every error
    refresh_prompts(runtime.sounds, runtime.flows.current)
    return True


@contextlib.contextmanager
def _reload_on_sighup(runtime: Runtime) -> Iterator[None]:
    """``kill -HUP <pid>`` reloads the flows, the Unix way to re-read configuration."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGHUP, reload_flows, runtime)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread: no signals
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGHUP)


async def _run_ami(runtime: Runtime) -> None:
    try:
        await runtime.ami.run()
    except AmiAuthenticationError as exc:
        # Keep serving: /health says why there is no PBX (503), and an operator fixes the
        # secret. Waiting here keeps the task "running": a refused login is no crash.
        runtime.ami_error = str(exc)
        log.error("%s", exc)
        await asyncio.Event().wait()


def _on_the_pbx(
    runtime: Runtime, run: Callable[[], Awaitable[None]]
) -> Callable[[], Awaitable[None]]:
    """A task that follows the AMI client, and ends when the client closes: once the PBX
    refused the login for good, it waits like the client's task (no restart every few
    seconds: /health already says why there is no PBX)."""

    async def follow() -> None:
        await run()
        if runtime.ami_error is not None:
            await asyncio.Event().wait()

    return follow


def _call_ownership(
    runtime: Runtime,
    hub: CtiHub,
    start_call_owner: Callable[[dt.datetime], Awaitable[None]],
) -> CallOwnership:
    """A cluster's instance (docs/scaling.md): a standby until it takes the call-owner lease,
    then the owner; its hub's desks counted with the other instances'."""
    settings = runtime.settings
    desks = ClusterDesks()
    hub.presence = desks
    beat = settings.cluster_beat_seconds

    async def take_over(at: dt.datetime) -> None:
        began = time.monotonic()
        await start_call_owner(at)
        runtime.tasks.start(
            "takeover-report", lambda: _report_takeover(runtime, began), Policy.UNTIL_DONE
        )

    async def step_down() -> None:
        # The PBX tasks end with the AMI client: the service is stopping, not failing.
        runtime.tasks.begin_stop()
        await runtime.ami.close()  # nothing more reaches Asterisk from here

    return CallOwnership(
        PgCoordination(
            settings.effective_database_url,
            settings.effective_instance_id,
            settings.effective_internal_url,
            # Four beats missed (and never under two seconds): that instance is gone.
            fresh_seconds=max(4 * beat, 2.0),
        ),
        desks,
        instance_id=settings.effective_instance_id,
        internal_url=settings.effective_internal_url,
        beat=beat,
        take_over=take_over,
        step_down=step_down,
    )


async def _report_takeover(runtime: Runtime, began: float) -> None:
    """Log how long the new owner took to be ready to drive calls: the PBX link resynced
    (every channel known again) and the ACD's agents and queues loaded from the database."""
    await runtime.link.resynced.wait()
    if runtime.acd is not None:
        await runtime.acd.started.wait()
    seconds = time.monotonic() - began
    if runtime.cluster is not None:
        runtime.cluster.ready_seconds = seconds
    log.warning("call owner ready %.0f ms after taking the lease", seconds * 1000)


class _UseIvr:
    """The default call handler: the IVR runner built in the lifespan."""


USE_IVR = _UseIvr()


def create_app(
    settings: Settings,
    call_handler: CallHandler | _UseIvr | None = USE_IVR,
    *,
    on_fatal: Callable[[str], None] | None = None,
) -> FastAPI:
    """The service. ``on_fatal`` is told when a task the service cannot run without failed
    (``callcenter serve`` then exits non-zero); without it, ``/health`` says so (503)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = settings.effective_database_url
        ensure_sqlite_folder(url)
        if settings.database_auto_migrate:
            await migrate.upgrade_async(url)
        paths = ivr_paths(settings)
        registry, sounds = load_ivr(settings, paths)
        db = Database(url)
        # Writes of a call's story that the database refuses for now wait in a local journal
        # and land when it is back (docs/operations.md, "The write journal").
        journal = WriteJournal(settings.effective_journal_dir)
        stores = journaled_sql_stores(
            journal,
            db,
            pin_max_failures=settings.ivr_pin_max_failures,
            write_timeout=settings.journal_write_timeout,
        )
        await journal.drain()  # what a previous run left lands before anything reads
        ami = AmiClient(ami_config(settings))
        tracker = ChannelTracker()
        started_at = dt.datetime.now(dt.UTC)
        events = EventBus()
        resyncs = Resyncs()
        calls = CallControl(
            ami,
            tracker,
            stores.call_control,
            events,
            extensions=[
                *settings.agent_extensions,
                *settings.advisor_extensions,
                *settings.supervisor_extensions,
            ],
            outbound_trunk=settings.outbound_trunk,
            hotline_number=settings.hotline_number,
            outbound_ring_seconds=settings.outbound_ring_seconds,
        )
        # Every call put through to an agent is recorded (docs/recording.md); a full or
        # unwritable storage raises the recording alarm ("Faults and alarms" there).
        recording_storage = recording_storage_for(settings)
        recording_alarm = RecordingAlarm(
            recording_storage,
            min_free_bytes=settings.recordings_min_free_bytes,
            on_change=lambda view: events.publish(alarm_event(view)),
        )
        recorder = (
            CallRecorder(
                ami,
                tracker,
                resyncs,
                RecordingService(recording_storage, SqlRecordingLedger(db), alarm=recording_alarm),
            )
            if settings.recordings_enabled
            else None
        )
        # A consult is recorded as a file of its own, linked to the call's recording.
        consults = ConsultRecorder(ami, tracker, recorder) if recorder is not None else None
        calls.consults = consults
        calls.recording = recorder
        legs = CallerLegs(ami, tracker, resyncs, calls, recorder)
        # The agent pauses a call's recording (docs/recording.md, "Pausing a recording").
        pauses = (
            RecordingPauses(
                AmiRecordingMute(ami, tracker, recorder, calls, recording_storage_for(settings)),
                SqlPauseLedger(db),
                events,
                limit_seconds=settings.recording_pause_limit_seconds,
            )
            if recorder is not None and settings.pbx_enabled
            else None
        )
        if recorder is not None and pauses is not None:
            recorder.is_paused = pauses.is_paused  # a restarted recording stays paused
        hub = cti_hub(settings, events)
        # Events to and from the other instances (issue 21; callcenter/broker/): built before
        # anything publishes, so that no event of this instance misses the broker.
        broker = (
            NatsBrokerLink(events, hub, broker_config(settings)) if settings.broker_url else None
        )
        use_ivr = isinstance(call_handler, _UseIvr)
        # Which phones are registered (issue 16): no "ready" without one. Without a PBX no
        # phone rings anyway, and nothing is checked (callcenter/acd/phones.py).
        phones = PhoneRegistrations(ami)
        phone_check = PhoneCheck(phones, SqlAgentPhones(db)) if settings.pbx_enabled else None
        # The ACD's ring and click-to-dial ring the line that is registered, the browser's
        # first (issue 19; PhoneRegistrations.line_for); so does monitoring, below.
        legs.lines = phones
        calls.lines = phones
        # Each person's own SIP secret (issue 19): pjsip_phones.conf, reloaded over the AMI.
        phone_credentials = PhoneCredentials(
            SqlPhoneSecrets(db),
            box_for(settings),
            PhoneConfig(
                phones_conf_for(settings),
                settings.sip_realm,
                ami,
                router=settings.sip_router,
                router_db=router_db_for(settings),
            )
            if settings.pbx_enabled
            else None,
        )
        agent_states = AgentStates(
            stores.agent_states,
            events,
            reasons=reason_codes(settings.agent_not_ready_reasons),
            phones=phone_check,
        )
        acd = AcdService(
            stores.acd,
            events,
            agent_states,
            # The agent's phone rings once the pop is on its way to the desk.
            pops=HubPopDelivery(hub, events),
            speaker=PromptSpeaker(sounds.current) if use_ivr else None,
            calendar=business_calendar(settings),
            wrap_up=WrapUpRules(
                extend_seconds=settings.wrap_up_extend_seconds or None,
                limit_seconds=settings.wrap_up_limit_seconds,
            ),
        )
        handler: CallHandler | None
        if isinstance(call_handler, _UseIvr):
            handler = IvrRunner(
                registry,
                stores.ivr,
                sounds.current,
                IvrConfig(
                    calendar=business_calendar(settings),
                    recordings_dir=paths.recordings_in_asterisk,
                ),
                on_queued=QueueEntry(legs, acd),
                link=legs,  # a prompt cut by a lost link plays again once it is back
                places=acd.places,  # a callback asked for while waiting keeps the place
            )
        else:
            handler = call_handler
        # Progressive dialling (docs/outbound.md): clients dialled first enter the service in
        # their own context and go to the agent they were dialled for.
        progressive = ProgressiveCalls(
            ami,
            legs,
            acd,
            stores.call_control,
            events,
            trunk=settings.outbound_trunk,
            hotline_number=settings.hotline_number,
            ring_seconds=settings.outbound_ring_seconds,
        )
        if handler is not None:
            handler = by_context({PROGRESSIVE_CONTEXT: progressive}, handler)
        link = PbxLink(ami, tracker, handler, resyncs=resyncs)
        # Adopted calls: controllable; those that ended meanwhile end as Asterisk recorded it.
        adoption = CallAdoption(link, legs, acd, calls, AsteriskEnds(db, cel_file_for(settings)))
        floor = await seeded_floor(settings, db, events)
        # The dialler (docs/outbound.md): it dials through click-to-dial, so only with a PBX.
        outbound = OutboundService(
            SqlOutboundStore(db), calls if settings.pbx_enabled else None, dial_rules(settings)
        )
        if settings.pbx_enabled:
            # Virtual hold: a kept place's turn dials the caller back for that agent.
            acd.places.call_backs = VirtualHoldCallBacks(outbound, progressive)
        pbx = settings.pbx_enabled
        runtime = Runtime(
            settings,
            db,
            ami,
            tracker,
            link,
            registry,
            sounds,
            events,
            agent_states,
            acd,
            tasks=ServiceTasks(on_fatal=on_fatal),
            journal=journal,
            cti=hub,
            floor=floor,
            calls=calls if pbx else None,
            supervision=(
                Supervision(
                    ami,
                    tracker,
                    SqlSupervisionBackend(db),
                    calls=calls,
                    phones=phones,
                    lines=phones,
                )
                if pbx
                else None
            ),
            phones=phones if pbx else None,
            recording_pauses=pauses,
            recording_alarm=recording_alarm if recorder is not None and pbx else None,
            outbound=outbound,
            phone_credentials=phone_credentials,
        )
        runtime.broker = broker
        app.state.runtime = runtime
        tasks = runtime.tasks

        async def start_call_owner(owner_since: dt.datetime) -> None:
            """The part of the service that drives calls: at the start on one machine, at
            the takeover of the call-owner lease in a cluster (``owner_since``: calls a
            previous owner left open before then are adopted)."""
            # Every new account gets its return visit (docs/outbound.md).
            center_zone = ZoneInfo(settings.business_timezone)
            tasks.start(
                "return-visits",
                lambda: keep_return_visits(db, lambda: dt.datetime.now(center_zone).date()),
            )
            if settings.pbx_enabled:
                tasks.start("ami", lambda: _run_ami(runtime), Policy.FATAL)
                tasks.start("pbx-link", _on_the_pbx(runtime, runtime.link.run))
                tasks.start("phones", _on_the_pbx(runtime, phones.run))
                # The people's secrets written for Asterisk before the first AMI login
                # reloads them (callcenter/pbx/phone_credentials.py).
                await phone_credentials.prepare()
                tasks.start(
                    "phone-lines",
                    _on_the_pbx(runtime, functools.partial(phone_credentials.run, ami)),
                )
                if phone_check is not None:
                    tasks.start("phone-watch", PhoneWatch(phone_check, agent_states, events).run)
                if settings.agent_desk_grace_seconds > 0:
                    # No "ready" without a desk open (docs/agent-desktop.md).
                    desks = DeskWatch(
                        agent_states,
                        events,
                        grace_seconds=settings.agent_desk_grace_seconds,
                        # After a restart the desks reconnect: the heartbeat window.
                        start_grace_seconds=settings.ws_heartbeat_seconds * 3,
                        ready_agents=SqlAgentPhones(db).ready_agent_ids,
                    )
                    if isinstance(hub.presence, ClusterDesks):
                        hub.presence.attach(desks)  # desks open on any instance count
                    else:
                        hub.presence = desks
                    tasks.start("desk-watch", desks.run)
                tasks.start("acd", acd.run)
                tasks.start("call-control", _on_the_pbx(runtime, calls.run))
                if recorder is not None:
                    tasks.start("recordings", _on_the_pbx(runtime, recorder.run))
                    watch = StorageWatch(recording_alarm, settings.recordings_check_seconds)
                    tasks.start("recording-storage", watch.run)
                if consults is not None:
                    tasks.start("recording-consults", _on_the_pbx(runtime, consults.run))
                if pauses is not None:
                    tasks.start("recording-pauses", pauses.run)
                    pause_ends = functools.partial(end_pauses_on_hangup, ami, tracker, pauses)
                    tasks.start("recording-pause-ends", _on_the_pbx(runtime, pause_ends))
                tasks.start("outbound", functools.partial(outbound.follow, events))
                # Dials whose end was not heard (a restart mid-call) get it from the record.
                tasks.start("outbound-settle", outbound.keep_settled)
                tasks.start("progressive-calls", _on_the_pbx(runtime, progressive.run))
                tasks.start(
                    "progressive-dialler",
                    functools.partial(outbound.run_progressive, events, progressive, acd),
                )
                tasks.start("acd-adopt", lambda: adoption.run(owner_since), Policy.UNTIL_DONE)
                if settings.cel_import_seconds > 0:
                    # Calls the service never saw (the fallback took them) become records.
                    importer = CelImporter(
                        db, cel_file_for(settings), service_started_at=owner_since
                    )
                    tasks.start("cel-import", lambda: importer.run(settings.cel_import_seconds))

        cluster = _call_ownership(runtime, hub, start_call_owner) if settings.cluster else None
        runtime.cluster = cluster
        if cluster is not None:
            app.state.forwarder = OwnerForwarder()
        try:
            tasks.start("journal", journal.run)
            tasks.start("cti-hub", hub.run)
            if broker is not None:
                tasks.start("broker", broker.run)
            tasks.start("floor", floor.run)
            if cluster is None:
                await start_call_owner(started_at)
            else:
                # Standby until the lease is taken (callcenter/cluster/ownership.py).
                tasks.start("call-owner", cluster.run, Policy.FATAL)
            frozen = start_up_frozen() if settings.heap_freeze else contextlib.nullcontext()
            with _reload_on_sighup(runtime), frozen:
                yield
        finally:
            hub.close()  # closes every socket (1001)
            floor.close()
            tasks.begin_stop()
            await ami.close()
            await tasks.finish("ami", timeout=5.0)
            await tasks.stop()
            if cluster is not None:
                await app.state.forwarder.close()
            await db.dispose()

    install_access_log_filter()  # phone and ID numbers travel in search query strings
    app = FastAPI(title="callcenter", version=__version__, lifespan=lifespan)
    install_error_handlers(app)
    app.add_middleware(NoStoreForApi)  # personal data is never cached anywhere
    if settings.cluster:
        # Outermost: a standby's /api goes to the call owner, whose answer is kept as it is.
        app.add_middleware(ForwardToOwner)
    app.include_router(api_router())
    app.include_router(health_router)
    app.include_router(ws_router)
    # At /desk/, under a strict CSP that lets the page reach Asterisk's WebSocket SIP (the
    # browser phone) and nothing else; an app without a PBX has no phone to reach.
    phone_socket = [phone_socket_origin(settings)] if settings.pbx_enabled else []
    mount_agent_desktop(app, settings.agent_ui_dir, connect_to=phone_socket)

    return app
