"""What the load benchmark reads from Asterisk's AMI events: how many events flow, which
callers are up and which reached an agent, and the key-to-prompt and key-to-Dial latencies
on Asterisk's own clock.

The clock. manager.conf has ``timestampevents = yes``: every event carries ``Timestamp``
(epoch seconds, microseconds), stamped by Asterisk when it raises the event. Both ends of a
latency are events of the same channel, so the latency is Asterisk's view of it, with no
AMI transport, no Python scheduling of this observer, and no clock skew in it.

* key-to-prompt: a ``DTMFEnd`` (``Direction: Received``: the caller's key, not one Asterisk
  sent) to the next ``AGIExecStart`` on that channel whose command plays something
  (``GET DATA``, ``STREAM FILE``, ``EXEC Playback``: what the caller hears next). A digit
  that a ``GET DATA`` collects inside Asterisk (the PIN's digits) starts no command; the next
  prompt is counted from the last key before it (the PIN's ``#``), so the PIN check is in.
* key-to-Dial: the ``DTMFEnd`` of "0" (an agent, please) to the ``DialBegin`` on the
  caller's channel: the ACD's whole path, IVR step, queue, decision and the Dial. A caller
  who waits because every agent is busy is not an ACD latency: only Dials within
  :data:`DIAL_WITHIN` seconds of the key count; the rest are counted as queued.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from callcenter.asterisk.protocol import Message
from callcenter.asterisk.subscription import Subscription

PROMPTS = ("GET DATA", "STREAM FILE", "EXEC Playback")
CALLER_CONTEXT = "from-carrier"
AGENT_KEY = "0"
DIAL_WITHIN = 2.0


@dataclass
class LoadObserver:
    events: int = 0
    live: set[str] = field(default_factory=set)  # callers' channels up
    with_agent: set[str] = field(default_factory=set)  # of them, dialled to an agent
    key_to_prompt_ms: list[float] = field(default_factory=list)
    # The same samples by the key that ended the prompt: "1" (a menu), "#" (the PIN's end).
    by_key: dict[str, list[float]] = field(default_factory=dict)
    key_to_dial_ms: list[float] = field(default_factory=list)
    queued: int = 0  # "0" pressed, Dial later than DIAL_WITHIN (agents busy)
    _key: dict[str, tuple[str, float]] = field(default_factory=dict)  # channel -> (digit, ts)

    def take(self, message: Message) -> None:
        self.events += 1
        name = message.name
        channel = message.get("Channel") or ""
        if name == "Newchannel":
            if message.get("Context") == CALLER_CONTEXT:
                self.live.add(channel)
        elif name == "Hangup":
            self.live.discard(channel)
            self.with_agent.discard(channel)
            self._key.pop(channel, None)
        elif channel not in self.live:
            return
        elif name == "DTMFEnd" and message.get("Direction") == "Received":
            self._key[channel] = (message.get("Digit") or "", _stamp(message))
        elif name == "AGIExecStart" and (message.get("Command") or "").startswith(PROMPTS):
            self._prompt(channel, _stamp(message))
        elif name == "DialBegin":
            self.with_agent.add(channel)
            self._dial(channel, _stamp(message))

    def _prompt(self, channel: str, at: float) -> None:
        key = self._key.get(channel)
        if key is not None and key[0] != AGENT_KEY:
            del self._key[channel]
            self.key_to_prompt_ms.append((at - key[1]) * 1000)
            self.by_key.setdefault(key[0], []).append((at - key[1]) * 1000)

    def _dial(self, channel: str, at: float) -> None:
        key = self._key.pop(channel, None)
        if key is None or key[0] != AGENT_KEY:
            return
        if at - key[1] <= DIAL_WITHIN:
            self.key_to_dial_ms.append((at - key[1]) * 1000)
        else:
            self.queued += 1

    def cut(self) -> tuple[list[float], list[float], dict[str, list[float]]]:
        """The samples so far, and start afresh (one window's worth each time)."""
        taken = self.key_to_prompt_ms, self.key_to_dial_ms, self.by_key
        self.key_to_prompt_ms, self.key_to_dial_ms, self.by_key = [], [], {}
        return taken

    async def follow(self, events: Subscription[Message]) -> None:
        """Read a subscription until it ends."""
        while True:
            try:
                message = await events.get()
            except StopAsyncIteration:
                return
            self.take(message)


def _stamp(message: Message) -> float:
    return float(message.get("Timestamp") or "nan")
