"""Schemas of the health check and the live channel view."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class JournalOut(BaseModel):
    """The write journal (docs/operations.md, "The write journal")."""

    path: str
    pending: int  # writes waiting for the database
    oldest_age_seconds: float | None
    last_error: str | None
    durable: bool  # False: the journal's own disk refused an entry (kept in memory only)
    landed: int
    rejected: int


class RecordingAlarmOut(BaseModel):
    """The recording storage's alarm (docs/recording.md, "Faults and alarms")."""

    active: bool
    reason: str | None  # disk-full, unwritable; None: no alarm
    since: dt.datetime | None  # raised at
    calls_affected: int  # calls whose recording failed for it since
    free_bytes: int | None  # the storage's free space at the last probe
    detail: str | None  # what the probe or the failure said
    cleared_at: dt.datetime | None  # the end of the last alarm


class HealthOut(BaseModel):
    status: str  # ok, degraded (calls handled), unavailable (503: calls cannot be handled)
    problems: list[str]  # why the service is unavailable, one sentence each
    version: str
    # single (the only instance), owner (drives the calls) or standby (docs/scaling.md).
    role: str = "single"
    instance_id: str | None = None
    owner_url: str | None = None  # where this instance forwards the API (cluster only)
    ami: str
    ami_generation: int
    ami_error: str | None
    live_channels: int
    # Calls Asterisk gave to the dialplan's fallback before this run picked them up.
    calls_missed_pickup: int = 0
    ivr_flows_generation: int
    ivr_prompts_error: str | None
    # Events the websocket hub and the wallboard dropped because they fell behind the bus
    # (pops included): anything but 0 is worth an alert.
    cti_events_lost: int
    floor_events_lost: int
    journal: JournalOut | None = None
    # Calls go on, their recordings fail: "degraded" while active (None: not recording).
    recording_alarm: RecordingAlarmOut | None = None
    # The events between instances (callcenter/broker/); None: no broker set (one process).
    broker: BrokerOut | None = None


class BrokerOut(BaseModel):
    """The broker link: "degraded" while it is not connected (the other instances' events
    do not reach this one's desks, nor this one's theirs)."""

    state: str  # connecting, connected, disconnected, closed
    error: str | None  # why it is not connected
    published: int  # this instance's events the broker stored
    received: int  # other instances' events handed to this one's bus
    rejected: int  # events from the broker that could not be read (logged, skipped)
    dropped: int  # this instance's events dropped unpublished (its buffer was full)
    reconnects: int


class ChannelOut(BaseModel):
    uniqueid: str
    name: str
    linkedid: str
    state: str
    caller_number: str
    caller_name: str
    context: str
    exten: str
    bridge_id: str
