"""The app over HTTP (httpx, in process) on each database, with one user per role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from callcenter.app import create_app
from callcenter.crm.vocabulary import Role
from callcenter.persistence.db import Database
from callcenter.persistence.tables import Branch, User
from callcenter.settings import load_settings


@dataclass
class Api:
    app: FastAPI
    http: httpx.AsyncClient
    db: Database
    users: dict[Role, User]
    branch: Branch

    def as_(self, role: Role) -> dict[str, str]:
        """Headers that make the request act as the test user of ``role``."""
        return {"X-User": self.users[role].username}


@pytest.fixture
async def api(database_url: str, database: Database) -> AsyncIterator[Api]:
    async with database.write() as session:
        branch = Branch(
            code="SH01", name="上海浦东营业部", name_en="Shanghai Pudong", city="Shanghai"
        )
        session.add(branch)
        await session.flush()
        users = {
            role: User(
                username=f"test-{role.value}",
                display_name=f"Test {role.value}",
                role=role,
                branch_id=branch.id,
                extension=str(1000 + index),
            )
            for index, role in enumerate(Role, start=1)
        }
        session.add_all(users.values())
    settings = load_settings(
        database_url=database_url, pbx_enabled=False, database_auto_migrate=False
    )
    app = create_app(settings, call_handler=None)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield Api(app, http, app.state.runtime.db, users, branch)
