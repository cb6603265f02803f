"""What the running service holds, built once by the composition root (callcenter/app.py)
and handed to routes through ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass, field

from callcenter.acd.agent_states import AgentStates
from callcenter.acd.ports import PhoneRegistry
from callcenter.acd.service import AcdService
from callcenter.asterisk.client import AmiClient
from callcenter.broker import BrokerLink
from callcenter.cluster.ownership import CallOwnership
from callcenter.crm.recording_alarm import RecordingAlarm
from callcenter.crm.recording_pauses import RecordingPauses
from callcenter.cti.floor_publisher import FloorPublisher
from callcenter.cti.hub import CtiHub
from callcenter.events import EventBus
from callcenter.ivr.registry import FlowRegistry
from callcenter.ivr.sounds import SoundCatalog
from callcenter.lifecycle import ServiceTasks
from callcenter.outbound.service import OutboundService
from callcenter.passwords import PasswordWork
from callcenter.pbx.call_control import CallControl
from callcenter.pbx.channels import ChannelTracker
from callcenter.pbx.link import PbxLink
from callcenter.pbx.phone_credentials import PhoneCredentials
from callcenter.pbx.supervision import Supervision
from callcenter.persistence.db import Database
from callcenter.persistence.journal import WriteJournal
from callcenter.settings import Settings


@dataclass
class Runtime:
    """Everything the running service holds; handed to routes through ``app.state``."""

    settings: Settings
    db: Database
    ami: AmiClient
    tracker: ChannelTracker
    link: PbxLink
    flows: FlowRegistry
    sounds: SoundCatalog
    events: EventBus
    agent_states: AgentStates
    acd: AcdService | None = None
    tasks: ServiceTasks = field(default_factory=ServiceTasks)  # the supervised tasks
    journal: WriteJournal | None = None  # writes waiting for the database
    ami_error: str | None = None
    cti: CtiHub | None = None  # the websocket hub (/ws)
    calls: CallControl | None = None  # the agents' call control (None without a PBX)
    supervision: Supervision | None = None  # supervisors' monitoring (None without a PBX)
    floor: FloorPublisher | None = None  # the wallboard (floor.snapshot)
    phones: PhoneRegistry | None = None  # which phones are registered (None without a PBX)
    recording_pauses: RecordingPauses | None = None  # pausing recordings (PBX, recording on)
    recording_alarm: RecordingAlarm | None = None  # recordings' storage (None: not recording)
    outbound: OutboundService | None = None  # the dialler (dials only with a PBX)
    # Each person's own SIP credentials (issue 19); without a PBX they are made, not applied.
    phone_credentials: PhoneCredentials | None = None
    # One of several instances (docs/scaling.md): owner or standby. None: the only one.
    cluster: CallOwnership | None = None
    # Events to and from the other instances (callcenter/broker/). None: no broker set.
    broker: BrokerLink | None = None
    # The logins' password checks (callcenter/passwords.py): threads of their own.
    passwords: PasswordWork = field(default_factory=PasswordWork)
