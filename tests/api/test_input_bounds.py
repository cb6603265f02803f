"""No value a client sends gets a 500: every route of the OpenAPI document, every parameter and
body field, fed values that fit no column (2^31, 2^63, 10^30, NaN, infinity, 100,000
characters, a NUL, a lone surrogate, the year 1 or 9999), answers 4xx, and a 422 answers in
the error format of every error (``error``, ``message``, ``detail``).

The walk builds one plausible request per operation from the document (required fields only,
each filled with a value its schema accepts), then changes one field at a time. An id of 2^31
reaches PostgreSQL's INTEGER columns only when the route lets it through: that is the point,
so the test runs on both databases like every API test.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from callcenter.crm.vocabulary import Role
from tests.api.conftest import Api
from tests.support.crm_data import add_call_in_hand, add_client, add_follow_up

Schema = dict[str, Any]
Path = tuple[str | int, ...]

BIG_INTS: list[int] = [2**31, -(2**31) - 1, 2**63, -(2**63) - 1, 10**30]
HUGE_TEXT = "x" * 100_000
URL_TEXT = "x" * 10_000  # a URL's share: httpx (like any server) refuses a longer one
# Values for a string with a pattern: the first one the pattern accepts is used.
PATTERNED = ["2026-03", "general", "1001", "+8613800138000", "break", "trading"]
# What an operation is fed when its schema says nothing more useful.
PLAIN = {"date": "2026-03-02", "date-time": "2026-03-02T09:00:00+00:00", "time": "09:00"}
# Dates and times at the edge of what Python holds: one step further overflows.
ODD_DATES = ["0001-01-01", "9999-12-31", "10000-01-01", "2026-02-30"]
ODD_TIMES = [
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59.999999Z",
    "2026-03-02T25:00:00Z",
]
# Logging out would end the session the rest of the walk acts with.
SKIPPED = {("post", "/api/auth/logout")}
ROLE_ORDER = (Role.SUPERVISOR, Role.ADMIN, Role.AGENT, Role.ADVISOR)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    params: list[Schema]  # OpenAPI parameter objects (path and query)
    body: Schema | None


class Document:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc

    def resolve(self, schema: Schema) -> Schema:
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = {**self.doc["components"]["schemas"][name], **_without_ref(schema)}
        options = [o for o in schema.get("anyOf", []) if o.get("type") != "null"]
        if options:
            return self.resolve({**options[0], **_without(schema, "anyOf")})
        return schema

    def operations(self) -> Iterator[Operation]:
        for path, ops in self.doc["paths"].items():
            for method, op in ops.items():
                content = op.get("requestBody", {}).get("content", {})
                body = content.get("application/json", {}).get("schema")
                params = [p for p in op.get("parameters", []) if p["in"] in ("path", "query")]
                if (params or body) and (method, path) not in SKIPPED:
                    yield Operation(method, path, params, body)

    # --- a value each schema accepts ---------------------------------------------------

    def sample(self, schema: Schema) -> Any:
        schema = self.resolve(schema)
        if "examples" in schema:
            return schema["examples"][0]
        if "default" in schema:
            return schema["default"]
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "integer":
            return max(1, math.ceil(schema.get("minimum", 1)))
        if kind == "number":
            return float(schema.get("minimum", 1) or 1)
        if kind == "boolean":
            return False
        if kind == "array":
            return [self.sample(schema["items"])] * schema.get("minItems", 0)
        if kind == "object":
            props = schema.get("properties", {})
            return {name: self.sample(props[name]) for name in schema.get("required", [])}
        if "pattern" in schema:
            return next(v for v in PATTERNED if re.search(schema["pattern"], v))
        return PLAIN.get(schema.get("format", ""), "x")

    def dict_entry(self, schema: Schema) -> tuple[str, Schema] | None:
        """A key and the value schema of a dict-like object (additional or pattern
        properties), or None."""
        if isinstance(schema.get("additionalProperties"), dict):
            names = schema.get("propertyNames")
            key = self.sample(names) if names else "k"
            return str(key), schema["additionalProperties"]
        for pattern, value in schema.get("patternProperties", {}).items():
            return next(v for v in PATTERNED if re.search(pattern, v)), value
        return None

    # --- every place a value goes, and what to put there -------------------------------

    def leaves(
        self, schema: Schema, at: Path = (), depth: int = 0
    ) -> Iterator[tuple[Path, Schema]]:
        schema = self.resolve(schema)
        kind = schema.get("type")
        if depth > 4:
            return
        if kind == "object":
            for name, child in schema.get("properties", {}).items():
                yield from self.leaves(child, (*at, name), depth + 1)
            entry = self.dict_entry(schema)
            if entry is not None:
                yield from self.leaves(entry[1], (*at, entry[0]), depth + 1)
        elif kind == "array":
            yield from self.leaves(schema["items"], (*at, 0), depth + 1)
        else:
            yield at, schema

    def with_value(self, schema: Schema, base: Any, at: Path, value: Any) -> Any:
        if not at:
            return value
        schema = self.resolve(schema)
        head, rest = at[0], at[1:]
        if isinstance(head, int):
            items = list(base) if base else [self.sample(schema["items"])]
            items[0] = self.with_value(schema["items"], items[0], rest, value)
            return items
        obj = dict(base or {})
        child = schema.get("properties", {}).get(head)
        if child is None:
            entry = self.dict_entry(schema)
            assert entry is not None
            child = entry[1]
        obj[head] = self.with_value(child, obj.get(head), rest, value)
        return obj


def _without(schema: Schema, key: str) -> Schema:
    return {k: v for k, v in schema.items() if k != key}


def _without_ref(schema: Schema) -> Schema:
    return _without(schema, "$ref")


def extremes(schema: Schema, *, in_json: bool) -> list[Any]:
    """Values that fit no column of this schema's kind, as JSON or as URL text."""
    kind = schema.get("type")
    fmt = schema.get("format")
    if kind in ("integer", "number"):
        numbers: list[Any] = [*BIG_INTS]
        if in_json:
            numbers += [math.nan, math.inf, -math.inf, 1e300]
        else:
            numbers += ["NaN", "inf", "-inf", "1e400", "1" * 5000]
        return numbers
    if kind == "string" and fmt == "date":
        return ODD_DATES
    if kind == "string" and fmt == "date-time":
        return ODD_TIMES
    if kind == "string" and in_json:
        return [HUGE_TEXT, "a\x00b", "a\ud800b"]  # a lone surrogate: no UTF-8 holds it
    if kind == "string":
        return [URL_TEXT, "a\x00b"]
    return []


def well_formed_error(response: httpx.Response) -> bool:
    """The body of every error: a stable id, words for people, and details."""
    body = response.json()
    return (
        isinstance(body, dict)
        and isinstance(body.get("error"), str)
        and isinstance(body.get("message"), str)
        and isinstance(body.get("detail"), dict | list)
    )


@dataclass
class Walk:
    api: Api
    doc: Document
    failures: list[str]

    async def send(
        self, op: Operation, role: Role, values: dict[str, Any], body: Any, what: str = ""
    ) -> httpx.Response | None:
        path = op.path
        query = {}
        for param in op.params:
            name = param["name"]
            if param["in"] == "path":
                path = path.replace("{" + name + "}", quote(str(values[name]), safe=""))
            elif name in values:
                query[name] = str(values[name])
        headers = self.api.as_(role)
        content = None
        if body is not None:
            # As a client may write it: NaN and Infinity as Python's json reads them, a lone
            # surrogate escaped (httpx's own encoder refuses both).
            content = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            return await self.api.http.request(
                op.method, path, params=query, content=content, headers=headers
            )
        except Exception as exc:  # the app raised: the server would have answered 500
            self.failures.append(f"{op.method} {op.path} {what}: raised {exc!r:.300}")
            return None

    async def attempt(
        self, op: Operation, role: Role, values: dict[str, Any], body: Any, what: str
    ) -> None:
        """Send, and check the answer. A write refused as stale (an earlier value went in
        and moved the version on) is sent again at the current version, to reach the write."""
        response = await self.send(op, role, values, body, what)
        if (
            response is not None
            and response.status_code == 409
            and response.json().get("error") == "stale-version"
            and isinstance(body, dict)
        ):
            body = {**body, "version": response.json()["detail"]["current_version"]}
            response = await self.send(op, role, values, body, what)
        self.check(op, what, response)

    def check(self, op: Operation, what: str, response: httpx.Response | None) -> None:
        if response is None:
            return
        if response.status_code >= 500:
            self.failures.append(f"{op.method} {op.path} {what}: {response.status_code}")
        elif response.status_code == 422 and not well_formed_error(response):
            self.failures.append(f"{op.method} {op.path} {what}: 422 {response.text[:200]}")

    async def operation(self, op: Operation) -> int:
        """Send each extreme value in each field of ``op``; the number of requests sent."""
        values = {
            p["name"]: self.doc.sample(p["schema"])
            for p in op.params
            if p["in"] == "path" or p.get("required")
        }
        body = self.doc.sample(op.body) if op.body is not None else None
        role = await self.role_for(op, values, body)
        sent = 0
        for param in op.params:
            for value in extremes(self.doc.resolve(param["schema"]), in_json=False):
                changed = {**values, param["name"]: value}
                await self.attempt(op, role, changed, body, f"{param['name']}={value!s:.40}")
                sent += 1
        if op.body is not None:
            for at, leaf in self.doc.leaves(op.body):
                for value in extremes(leaf, in_json=True):
                    changed = self.doc.with_value(op.body, copy.deepcopy(body), at, value)
                    await self.attempt(op, role, values, changed, f"body{list(at)}={value!r:.40}")
                    sent += 1
        return sent

    async def role_for(self, op: Operation, values: dict[str, Any], body: Any) -> Role:
        """The first role the route lets in (a refused role never reaches the database)."""
        for role in ROLE_ORDER:
            response = await self.send(op, role, values, body)
            if response is not None and response.status_code not in (401, 403):
                return role
        return ROLE_ORDER[0]


async def seed(api: Api) -> None:
    """A row with id 1 in each table a path names, so that requests get past "not found"
    to the writes their values go into."""
    client_id = await add_client(api.db, api.branch.id)
    # Interaction 1 is a call in the test agent's hands, so their client is in the agent's
    # scope and the agent may set its wrap-up.
    call = await add_call_in_hand(api.db, client_id, api.users[Role.AGENT].id)
    assert (client_id, call) == (1, 1)
    assert await add_follow_up(api.db, client_id) == 1
    complaint = {
        "client_id": client_id,
        "category_code": "trading.fees",
        "summary": "s",
        "description": "d",
    }
    created = await api.http.post("/api/complaints", json=complaint, headers=api.as_(Role.AGENT))
    assert created.json()["id"] == 1, created.text


async def test_no_value_in_any_field_of_any_route_gets_a_500(api: Api) -> None:
    await seed(api)
    doc = Document((await api.http.get("/openapi.json")).json())
    walk = Walk(api, doc, [])
    sent = 0
    for op in doc.operations():
        sent += await walk.operation(op)
    assert sent > 500  # the walk found the routes' fields
    assert walk.failures == []


async def test_an_id_past_postgresqls_integer_is_a_422_naming_the_field(api: Api) -> None:
    too_big = await api.http.get(f"/api/clients/{2**31}", headers=api.as_(Role.AGENT))
    largest = await api.http.get(f"/api/clients/{2**31 - 1}", headers=api.as_(Role.AGENT))
    assert too_big.status_code == 422, too_big.text
    body = too_big.json()
    assert body["error"] == "invalid-request"
    assert [error["loc"] for error in body["detail"]] == [["path", "client_id"]]
    assert body["message"].startswith("path.client_id: ")
    assert largest.status_code == 404  # the largest INTEGER is an id, naming no client


async def test_a_422_names_the_fields_but_never_echoes_their_values(api: Api) -> None:
    # NaN, which JSON cannot carry back; a lone surrogate, which UTF-8 cannot; a megabyte.
    content = (
        b'{"client_id": NaN, "category_code": "a\\ud800b", "summary": "'
        + b"x" * 1_000_000
        + b'", "description": "d"}'
    )
    headers = {**api.as_(Role.AGENT), "Content-Type": "application/json"}
    response = await api.http.post("/api/complaints", content=content, headers=headers)
    assert response.status_code == 422, response.text[:300]
    detail = response.json()["detail"]
    assert {tuple(error["loc"]) for error in detail} == {
        ("body", "client_id"),
        ("body", "category_code"),
        ("body", "summary"),
    }
    assert all(set(error) == {"type", "loc", "msg"} for error in detail)
    assert len(response.content) < 1_000


async def test_a_time_no_utc_datetime_holds_is_a_422(api: Api) -> None:
    await seed(api)
    body = {"phase": "wrapped_up", "at": "0001-01-01T00:00:00+08:00"}
    response = await api.http.patch("/api/interactions/1", json=body, headers=api.as_(Role.AGENT))
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "at"]
    assert "outside the years 1 to 9999" in error["msg"]
