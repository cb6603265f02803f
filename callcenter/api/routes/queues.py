"""REST routes: queue configuration.

=======  ======================  ==================
method   path                    roles
=======  ======================  ==================
GET      /api/queues             supervisor, admin
GET      /api/queues/{name}      supervisor, admin
PUT      /api/queues/{name}      admin
GET      /api/queues/{name}/live supervisor, admin
=======  ======================  ==================

PUT creates a queue (``version`` null: 201; 409 ``queue-exists`` if it does) or replaces the
configuration of the version you read (200; 409 ``stale-version`` if it changed since, 404
``queue-not-found`` if there is none). An overflow queue must exist and overflowing must
never loop back (422 ``queue-invalid``); an overflow node must exist in every IVR flow that
enqueues callers into the queue (422 ``queue-invalid``). The IVR flows enqueue callers by
these names. Every change is audited (``admin.queue.create``, ``admin.queue.update``, with
the settings changed from what to what).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from callcenter.acd.queues import InvalidQueueConfig
from callcenter.api.deps import DbDep, Managers, Principal, require_roles
from callcenter.api.schemas.common import errors
from callcenter.api.schemas.queues import LiveQueueOut, QueueIn, QueueOut, WaitingCallOut
from callcenter.crm.vocabulary import Role
from callcenter.events import QueueChanged
from callcenter.persistence import queues
from callcenter.persistence.audit import record_audit

router = APIRouter(prefix="/queues", tags=["queues"])

Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
# What a queue's audit entry leaves out: the record's own bookkeeping, not its settings.
_NOT_SETTINGS = {"name", "version", "updated_at", "updated_by_id"}
QueueName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,49}$")]


@router.get("")
async def list_queues(db: DbDep, _principal: Managers) -> list[QueueOut]:
    """Every queue, by name."""
    async with db.read() as session:
        return [QueueOut.of(record) for record in await queues.list_queues(session)]


@router.get("/{queue_name}", responses=errors(404))
async def get_queue(queue_name: QueueName, db: DbDep, _principal: Managers) -> QueueOut:
    async with db.read() as session:
        return QueueOut.of(await queues.get_queue(session, queue_name))


@router.put("/{queue_name}", responses=errors(404, 409, 422))
async def put_queue(
    queue_name: QueueName,
    body: QueueIn,
    response: Response,
    request: Request,
    db: DbDep,
    principal: Admin,
) -> QueueOut:
    config = body.to_config(queue_name)
    if config.overflow_node is not None:
        missing = request.app.state.runtime.flows.current.missing_overflow_node(
            queue_name, config.overflow_node
        )
        if missing:
            raise InvalidQueueConfig(
                f"flows {', '.join(missing)} enqueue into {queue_name!r} but have no node "
                f"{config.overflow_node!r}",
                field="overflow_node",
            )
    async with db.write() as session:
        before = None if body.version is None else await queues.get_queue(session, queue_name)
        record, created = await queues.put_queue(
            session, config, body.version, by_user_id=principal.user_id
        )
        after = QueueOut.of(record).model_dump(mode="json", exclude=_NOT_SETTINGS)
        old = {} if before is None else QueueOut.of(before).model_dump(mode="json")
        await record_audit(
            session,
            principal.user_id,
            "admin.queue.create" if created else "admin.queue.update",
            detail={
                "queue": queue_name,
                "version": record.version,
                "changes": {
                    k: {"from": old.get(k), "to": v} for k, v in after.items() if old.get(k) != v
                },
            },
            at=record.updated_at,
        )
    if created:
        response.status_code = 201
    # The ACD routes with the new configuration from the next decision on.
    request.app.state.runtime.events.publish(QueueChanged(queue=queue_name))
    return QueueOut.of(record)


@router.get("/{queue_name}/live", responses=errors(404))
async def live_queue(
    queue_name: QueueName, request: Request, db: DbDep, _principal: Managers
) -> LiveQueueOut:
    """The calls waiting now, in the order the ACD will serve them (a live view: it is not
    stored; after a restart it starts empty and fills as calls are adopted)."""
    async with db.read() as session:
        await queues.get_queue(session, queue_name)  # 404 for a queue that does not exist
    acd = request.app.state.runtime.acd
    waiting = acd.live(queue_name) if acd is not None else []
    now = acd.now() if acd is not None else 0.0
    return LiveQueueOut(
        queue=queue_name,
        waiting=[
            WaitingCallOut(
                call_id=call.call_id,
                waited_seconds=round(max(0.0, now - call.enqueued_at), 1),
                priority=call.priority,
                language=call.language,
                client_id=call.client_id,
                advisor_id=call.advisor_id,
                kept_place=acd is not None and acd.places.is_kept(call.call_id),
            )
            for call in waiting
        ],
    )
