"""Events between service instances (issue 21, point 2): the broker link.

Each instance's :class:`~callcenter.events.EventBus` stays in process. The link publishes the
envelopes its bus originated to a NATS JetStream stream and hands the ones other instances
originated to its bus (:meth:`EventBus.deliver`, their origin's epoch and seq kept), so that a
desk or a wallboard connected to any instance sees the whole center. nats-py is imported by
:mod:`callcenter.broker.nats_link` alone (an import-linter contract holds it there);
:mod:`callcenter.broker.desks` and :mod:`callcenter.broker.status` are plain Python.
"""

from callcenter.broker.desks import RemoteDesks
from callcenter.broker.status import (
    BrokerConfig,
    BrokerLink,
    BrokerState,
    BrokerStatus,
    broker_config,
)

__all__ = [
    "BrokerConfig",
    "BrokerLink",
    "BrokerState",
    "BrokerStatus",
    "RemoteDesks",
    "broker_config",
]
