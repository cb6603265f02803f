"""A durable local journal of the writes of a call's story the database could not take
(issue 14; operators: docs/operations.md, "The write journal").

A call's story is written as it happens: the record's phases (IVR ended, queued, offered,
answered, ended, wrapped up) and the agent's state changes the ACD makes (reserved, on call,
wrap-up, ready). When the database is unreachable or refuses a write for now (PostgreSQL
restarting, SQLite on a full disk or read-only: unavailable.py), the write goes to a file
(file.py) with its own times, and the caller goes on as if it had landed:

* a record's phases and routes return as done;
* an agent's state change the ACD makes returns the status the state machine gives from the
  agent's last known status (agent_states.py ``KnownStatuses``): the agent goes to wrap-up,
  then ready, as the call justifies, and takes the next call while the database is away.

A replayer lands the entries in order once the database takes writes again. The wrappers have
the ports of the stores they wrap (the ACD's ``AcdStore``: acd_store.py; the agents' state
owner's ``AgentStateStore``: agent_states.py; the IVR's and call control's: calls.py), so the
ACD, the IVR and call control do not know the journal is there; stores.py builds them.

Order. While the journal holds anything, every write of these kinds goes behind it, even once
the database is back: nothing overtakes an earlier write of the same record or agent
(writes.py). An agent's own change (login, ready, a supervisor's force) is not journaled: the
person sees the error and tries again. While the journal holds changes of that agent it first
tries to land them, and refuses (``agent-writes-pending``) if it cannot.

Landing twice stores once. A crash between a write landing and the journal forgetting it
replays it at the next start. What makes each kind safe to replay:

* a phase sets a column to a time, once and in order: the record refuses a phase it has, or
  one before a later phase it has, and the journal counts the entry as landed;
* an overflow adds one entry to the path: not added again when the path already ends with it
  and the call is in that queue (a call never overflows twice in a row the same way: after
  ``overflow:general=backup`` it waits in backup, and its next step starts from there);
* an agent's change carries its own time: not applied again when the agent already has a
  change of that event at or after that time (for the same call, when it names one). While the
  change waits, no later change of that agent reaches the database by another road (see
  Order), so such a row can only be this change, or one that came after it;
* the IVR's path and outcome are set whole; an anomaly's close keeps an end already set.

Reads. The ACD's reads of agents and open calls first let the journal land what it can, then
add what still waits: an agent's journaled changes move the status read on, and a call whose
end is journaled is not open. So a restart over a full journal does not adopt a call that
ended, nor end it a second time at the restart's time.
"""

from callcenter.persistence.journal.agent_states import AgentWritesPending
from callcenter.persistence.journal.file import JournalStatus, WriteJournal
from callcenter.persistence.journal.stores import (
    JournaledSqlStores,
    JournaledStores,
    journaled_sql_stores,
    journaled_stores,
)

__all__ = [
    "AgentWritesPending",
    "JournalStatus",
    "JournaledSqlStores",
    "JournaledStores",
    "WriteJournal",
    "journaled_sql_stores",
    "journaled_stores",
]
