"""The people's own SIP secrets as stored (``phone_secrets``), for the phone credentials
(callcenter/pbx/phone_credentials.py ``PhoneSecretStore``): sealed text in, sealed text out;
nothing here sees a secret in the clear. Audit entries for handing out and rotating are
written here too, in the same unit of work as the change they describe."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, insert, select

from callcenter.pbx.phone_credentials import StoredLine
from callcenter.persistence.admin_users import UserNotFound
from callcenter.persistence.audit import record_audit
from callcenter.persistence.db import Database
from callcenter.persistence.tables import PhoneSecret, User


class SqlPhoneSecrets:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def lines(self) -> list[StoredLine]:
        """Every active person with an extension, with their sealed secret (None: none yet)."""
        stmt = (
            select(User.id, User.extension, PhoneSecret.sealed)
            .outerjoin(PhoneSecret, PhoneSecret.user_id == User.id)
            .where(User.active, User.extension.is_not(None), User.extension != "")
            .order_by(User.extension)
        )
        async with self.db.read() as session:
            rows = (await session.execute(stmt)).all()
        return [StoredLine(user_id, extension, sealed) for user_id, extension, sealed in rows]

    async def line_of(self, user_id: int) -> StoredLine:
        """The user's line; its extension None when they have none (or are not active)."""
        stmt = (
            select(User.id, User.extension, User.active, PhoneSecret.sealed)
            .outerjoin(PhoneSecret, PhoneSecret.user_id == User.id)
            .where(User.id == user_id)
        )
        async with self.db.read() as session:
            found = (await session.execute(stmt)).first()
        if found is None:
            raise UserNotFound(f"no user {user_id}", user_id=user_id)
        uid, extension, active, sealed = found
        return StoredLine(uid, (extension or None) if active else None, sealed)

    async def save(self, user_id: int, sealed: str, *, actor_id: int | None, rotated: bool) -> None:
        """Store the user's new sealed secret (replacing any), audited when a person rotated
        it (``phone.credentials_rotated``; the service's own first secret is not)."""
        now = dt.datetime.now(dt.UTC)
        async with self.db.write() as session:
            await session.execute(delete(PhoneSecret).where(PhoneSecret.user_id == user_id))
            await session.execute(
                insert(PhoneSecret).values(user_id=user_id, sealed=sealed, rotated_at=now)
            )
            if rotated:
                await record_audit(
                    session,
                    actor_id,
                    "phone.credentials_rotated",
                    detail={"user_id": user_id},
                    at=now,
                )

    async def handed_out(self, user_id: int, extension: str) -> None:
        """Audit that the user's credentials were handed to them (never the secret)."""
        async with self.db.write() as session:
            await record_audit(
                session, user_id, "phone.credentials_issued", detail={"extension": extension}
            )
