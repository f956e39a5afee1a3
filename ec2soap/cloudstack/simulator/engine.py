"""The simulator's engine: authentication, parameter validation, envelopes, paging and async jobs.

It runs synchronously inside one database transaction per request, on the store's thread pool (never on the
reactor). Resource families live in sibling modules; each exports COMMANDS (command → handler) and optionally
JOB_ACTIONS (action name → function run when a job comes due), ADMIN_ONLY (commands users may not call),
seed(ctx) (first start) and advance(ctx) (time-driven transitions, e.g. expunging destroyed VMs). Wire behaviour follows
../shared/reference/cloudstack-api/protocol.md; section numbers below refer to it.
"""
from __future__ import annotations

import json
import logging
import re
import time
import uuid as uuidlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from ec2soap.cloudstack import signing, spec
from ec2soap.store.db import READONLY
from ec2soap.store.tables import cs_counter, cs_job, cs_object

__all__ = [
    "Simulator", "SimulatorConfig", "Caller", "Ctx", "SimError", "Listing", "JobStarted", "SUCCESS",
    "param_error", "invalid_value", "permission_denied", "cs_date", "public_fields", "ADMIN", "USER",
]

log = logging.getLogger(__name__)

ADMIN, USER, DOMAIN_ADMIN = 1, 0, 2
DEFAULT_PAGE_SIZE = 500
_CONTROL = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]")
_MAP_KEY = re.compile(r"^([^\[\]]+)\[(\d+)\]\.([^\[\]]+)$")
_NOT_PARAMS = {"command", "apikey", "signature", "signatureversion", "expires", "sessionkey", "response",
               "customjobid", "starteventid", "_"}
AUTH_FAILED = "unable to verify user credentials and/or request signature"

# Java command classes, for the async job's `cmd` field (cosmetic, but clients log it).
_CMD_PACKAGE = "org.apache.cloudstack.api.command.user."


class _WriteNeeded(Exception):
    """A read-only request found state to change; Simulator.handle runs it again as a writer."""


class SimError(Exception):
    """A CloudStack error: HTTP status = errorcode (§7)."""

    def __init__(self, errorcode: int, errortext: str, cserrorcode: int | None = 4350):
        super().__init__(errortext)
        self.errorcode = errorcode
        self.errortext = errortext
        self.cserrorcode = cserrorcode


def param_error(text: str) -> SimError:
    """InvalidParameterValueException → 431 / 4350."""
    return SimError(431, text, 4350)


def invalid_value(command: str, name: str, value: str) -> SimError:
    """The dispatcher's message for a uuid that names nothing (§1), a ServerApiException → 9999."""
    return SimError(431, f"Unable to execute API command {command.lower()} due to invalid value. Invalid parameter "
                         f"{name} value={value} due to incorrect long value format, or entity does not exist or "
                         f"due to incorrect parameter annotation for the field in api cmd class.", 9999)


def permission_denied(text: str) -> SimError:
    return SimError(531, text, 4365)


def cs_date(ts: float) -> str:
    """CloudStack's date format: 2021-10-04T09:24:38+0000."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S%z")


@dataclass
class Listing:
    """A list command's full result; the engine pages it and writes `count`."""
    items: list[dict]


@dataclass
class JobStarted:
    jobid: str
    object_id: str | None = None


SUCCESS = object()


@dataclass
class SimulatorConfig:
    job_seconds: float = 2.0
    # The seed value of expunge.delay: CloudStack's default is one day.
    expunge_seconds: float = 86400.0
    # Per-action durations override job_seconds (e.g. {"deploy": 5.0} for a slow deploy).
    durations: dict[str, float] = field(default_factory=dict)
    deterministic_seed: int | None = None


@dataclass
class Caller:
    """Who is calling: a user (by API key) or the SYSTEM account on the integration port (§5)."""
    user: dict
    account: dict

    @property
    def is_admin(self) -> bool:
        return self.account.get("accounttype") == ADMIN

    @property
    def account_id(self) -> str:
        return self.account["id"]

    @property
    def user_id(self) -> str:
        return self.user["id"]


class Ctx:
    """One request's view of the simulator: the transaction, the caller, the clock, and state helpers."""

    def __init__(self, sim: "Simulator", conn: Connection, caller: Caller, command: str, now: float):
        self.sim = sim
        self.conn = conn
        self.caller = caller
        self.command = command
        self.now = now
        self.config = sim.config
        self._memo: dict[Any, Any] = {}

    def memo(self, key: Any, build: Callable[[], Any]) -> Any:
        """A value derived from the state (e.g. tags by resource), built once per request and dropped at the
        next write: renderers use it to avoid rescanning a kind once per listed item."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]

    # -- state ---------------------------------------------------------------------------------------------
    def new_uuid(self) -> str:
        return self.sim.new_uuid()

    def get(self, kind: str, uuid: str | None, *, removed: bool = False) -> dict | None:
        if not uuid:
            return None
        key = ("row", kind, uuid)
        if key not in self._memo:
            # The stored text is kept, not the dict: every caller gets its own copy to change.
            self._memo[key] = self.conn.execute(select(cs_object.c.data, cs_object.c.removed).where(
                cs_object.c.uuid == uuid, cs_object.c.kind == kind)).first()
        row = self._memo[key]
        if row is None or (row.removed is not None and not removed):
            return None
        return orjson.loads(row.data)

    def find(self, kind: str, *, account_id: str | None = None, name: str | None = None,
             removed: bool = False, where: Callable[[dict], bool] | None = None) -> list[dict]:
        """Rows of KIND in creation order, optionally of one account / with one name."""
        query = select(cs_object.c.data).where(cs_object.c.kind == kind).order_by(cs_object.c.id)
        if account_id is not None:
            query = query.where(cs_object.c.account_id == account_id)
        if name is not None:
            query = query.where(cs_object.c.name == name)
        if not removed:
            query = query.where(cs_object.c.removed.is_(None))
        items = [orjson.loads(r.data) for r in self.conn.execute(query)]
        return [i for i in items if where(i)] if where else items

    def insert(self, kind: str, data: dict, *, account_id: str | None = None) -> dict:
        """Store a new entity. data["id"] is set to a fresh uuid unless given; data is returned."""
        data.setdefault("id", self.new_uuid())
        self._memo.clear()
        if kind == "user":
            self.sim._key_index = None
        self.sim._next_advance = 0.0
        self.conn.execute(insert(cs_object).values(
            uuid=data["id"], kind=kind, account_id=account_id, name=_name_of(data),
            data=_dump(data), created=self.now))
        return data

    def save(self, kind: str, data: dict) -> dict:
        self._memo.clear()
        if kind == "user":
            self.sim._key_index = None
        self.sim._next_advance = 0.0
        self.conn.execute(update(cs_object).where(cs_object.c.uuid == data["id"], cs_object.c.kind == kind)
                          .values(data=_dump(data), name=_name_of(data)))
        return data

    def remove(self, kind: str, uuid: str) -> None:
        """Mark removed: gone from lists, still known to uuid lookups that ask for removed rows."""
        self._memo.clear()
        if kind == "user":
            self.sim._key_index = None
        self.sim._next_advance = 0.0
        self.conn.execute(update(cs_object).where(cs_object.c.uuid == uuid, cs_object.c.kind == kind)
                          .values(removed=self.now))

    def lock(self) -> None:
        """Take the simulator's state lock before changing anything in a read-only path (e.g. advance())."""
        self.sim._lock(self.conn)

    def account_of(self, kind: str, uuid: str) -> str | None:
        return self.conn.execute(select(cs_object.c.account_id).where(cs_object.c.uuid == uuid,
                                                                      cs_object.c.kind == kind)).scalar()

    def next_counter(self, name: str, start: int = 1) -> int:
        """A per-database sequence, incremented inside this transaction (row-locked where supported)."""
        # Update first: the row lock is taken before the value is read, so racing callers queue up.
        bumped = self.conn.execute(update(cs_counter).where(cs_counter.c.name == name)
                                   .values(value=cs_counter.c.value + 1)).rowcount
        if not bumped:
            self.conn.execute(insert(cs_counter).values(name=name, value=start))
            return start
        return int(self.conn.execute(select(cs_counter.c.value).where(cs_counter.c.name == name)).scalar())

    # -- ownership -----------------------------------------------------------------------------------------
    def owned(self, obj: dict | None, kind: str, param: str, value: str) -> dict:
        """OBJ if the caller may act on it; a missing one is the dispatcher's invalid-value 431 (§1),
        another account's is CloudStack's PermissionDenied 531."""
        if obj is None:
            raise invalid_value(self.command, param, value)
        if not self.caller.is_admin and obj.get("accountid", self.caller.account_id) != self.caller.account_id:
            raise permission_denied(f"Account {self.caller.account['name']} does not have permission to "
                                    f"operate with resource {value}")
        return obj

    def require(self, kind: str, p: Mapping[str, Any], param: str = "id") -> dict:
        """The entity named by uuid parameter PARAM, checked for ownership."""
        value = p[param]
        return self.owned(self.get(kind, value), kind, param, value)

    def scope_accounts(self, p: Mapping[str, Any]) -> str | None:
        """Which account a list shows (§9 listall): a user sees its own; an admin sees its own unless
        listall=true, or the named `account`/`domainid`. None means every account."""
        if not self.caller.is_admin:
            return self.caller.account_id
        if p.get("account"):
            match = self.find("account", name=p["account"])
            return match[0]["id"] if match else "-none-"
        if p.get("listall") or p.get("domainid"):
            return None
        return self.caller.account_id

    # -- jobs ----------------------------------------------------------------------------------------------
    def start_job(self, action: str, args: dict, *, instance_type: str | None = None,
                  instance_id: str | None = None, object_id: str | None = None,
                  duration: float | None = None) -> JobStarted:
        """Queue an async job; JOB_ACTIONS[action](ctx, args) runs when it comes due and gives jobresult."""
        jobid = self.sim.new_uuid()
        if duration is None:
            duration = self.config.durations.get(action, self.config.job_seconds)
        cmd_name = self.command[0].upper() + self.command[1:]
        self._memo.clear()
        self.conn.execute(insert(cs_job).values(
            uuid=jobid, account_id=self.caller.account_id, user_id=self.caller.user_id, command=self.command,
            cmd=f"{_CMD_PACKAGE}{cmd_name}Cmd", status=0, result_code=0, result=None,
            instance_type=instance_type, instance_id=instance_id,
            action=json.dumps({"action": action, "args": args, "caller": self.caller.user_id}),
            created=self.now, due=self.now + duration, completed=None))
        return JobStarted(jobid, object_id)


def _dump(data: dict) -> str:
    """A stored document: JSON with sorted keys (orjson: the simulator decodes thousands per request)."""
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode("utf-8")


def _name_of(data: dict) -> str | None:
    name = data.get("name") or data.get("username")
    return str(name)[:255] if name is not None else None


def _lower_params(raw: Mapping[str, str]) -> dict[str, Any]:
    """Parameter names are case-insensitive (§1): lower-case them; fold `name[i].field` into lists."""
    out: dict[str, Any] = {}
    maps: dict[str, dict[int, dict]] = {}
    for key, value in raw.items():
        if "[" in key or "]" in key:
            match = _MAP_KEY.match(key)
            if not match:
                raise SimError(430, f"Unable to decode parameter {key}; if specifying an object array, please "
                                    f"use parameter[index].field=XXX, e.g. userGroupList[0].group=httpGroup", 9999)
            base, index, fieldname = match.group(1).lower(), int(match.group(2)), match.group(3)
            maps.setdefault(base, {}).setdefault(index, {})[fieldname] = value
        else:
            out[key.lower()] = value
    for base, entries in maps.items():
        out[base] = [entries[i] for i in sorted(entries)]
    return out


def _to_bool(value: str) -> bool:
    return str(value).lower() == "true"


def _check_params(command: str, entry: dict, params: dict[str, Any]) -> dict[str, Any]:
    """Validate and convert by the spec's types (§1). Unknown parameters are ignored."""
    out: dict[str, Any] = {}
    lc = command.lower()
    declared = entry["params"]
    for name, value in params.items():
        if isinstance(value, str) and name != "activationrule" and _CONTROL.search(value):
            raise SimError(431, f"Received value containing illegal ASCII non-printable characters for "
                                f"parameter {name}", 9999)
    for name, info in declared.items():
        if name not in params:
            if info["required"]:
                raise SimError(431, f"Unable to execute API command {lc} due to missing parameter {name}", 9999)
            continue
        value = params[name]
        kind = info["type"]
        if kind == "map":
            if isinstance(value, str):
                raise SimError(430, f"Unable to decode parameter {name}; if specifying an object array, please "
                                    f"use parameter[index].field=XXX, e.g. userGroupList[0].group=httpGroup", 9999)
            out[name] = value
            continue
        if value == "":
            if info["required"]:
                raise param_error(f"Invalid value provided for API arg: {name}")
            continue
        if len(value) > info.get("length", 255) and kind not in ("list",) and name != "userdata":
            raise SimError(431, f"Unable to execute API command {lc} due to invalid value. Value greater than "
                                f"max allowed length {info.get('length', 255)} for param: {name}", 9999)
        if kind == "boolean":
            out[name] = _to_bool(value)
        elif kind in ("integer", "long", "short"):
            try:
                out[name] = int(value)
            except ValueError:
                raise SimError(431, f"Unable to execute API command {lc} due to invalid value {value} for "
                                    f"parameter {name}", 9999) from None
        elif kind == "list":
            out[name] = [v for v in (s.strip() for s in value.split(",")) if v]
        elif kind == "uuid":
            if value != "-1" and not _looks_like_id(value):
                raise invalid_value(command, name, value)
            out[name] = value
        else:
            out[name] = value
    return out


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _looks_like_id(value: str) -> bool:
    return bool(_UUID.match(value)) or value.isdigit()


def _page(command: str, items: list[dict], p: Mapping[str, Any]) -> list[dict]:
    """page/pagesize rules of BaseListCmd (§9)."""
    page, size = p.get("page"), p.get("pagesize")
    if size is not None and size > DEFAULT_PAGE_SIZE:
        raise param_error(f"Page size can't exceed max allowed page size value: {DEFAULT_PAGE_SIZE}")
    if size == -1:
        if page is not None:
            raise SimError(431, "Can't specify page parameter when pagesize is -1 (Unlimited)", 9999)
        return items
    if size is not None and page is None:
        raise SimError(431, '"page" parameter is required when "pagesize" is specified', 9999)
    if page is not None and size is None:
        raise SimError(431, '"pagesize" parameter is required when "page" is specified', 9999)
    if page is None:
        return items[:DEFAULT_PAGE_SIZE]
    if page < 1 or size < 1:
        raise param_error("Invalid page or pagesize value")
    start = size * (page - 1)
    return items[start:start + size]


def public_fields(obj: Any, fields: dict) -> Any:
    """OBJ with only what FIELDS (a spec response table) documents, recursively; `_` keys always go.
    A documented field without a nested table (maps, listApis' own `response`) is passed through whole."""
    if isinstance(obj, list):
        return [public_fields(item, fields) for item in obj]
    if not isinstance(obj, dict):
        return obj
    out = {}
    for key, value in obj.items():
        if key.startswith("_") or key not in fields:
            continue
        nested = fields[key].get("fields")
        out[key] = public_fields(value, nested) if nested else value
    return out


def keyword_filter(items: list[dict], keyword: str | None, *fields: str) -> list[dict]:
    if not keyword:
        return items
    kw = keyword.lower()
    return [i for i in items if any(kw in str(i.get(f, "")).lower() for f in fields or ("name",))]


class Simulator:
    """A CloudStack management server: `handle(params)` answers one API request as (status, body dict).

    `store` must be migrated. Handlers come from the family modules listed in `families`."""

    def __init__(self, store: Any, config: SimulatorConfig | None = None, *, clock: Callable[[], float] = time.time,
                 families: Iterable[Any] | None = None):
        self.store = store
        self.config = config or SimulatorConfig()
        self.clock = clock
        self._uuid_counter = 0
        self._next_advance = 0.0
        self._key_index: dict[str, str] | None = None
        if families is None:
            from ec2soap.cloudstack.simulator import FAMILIES
            families = FAMILIES
        self.families = list(families)
        self.commands: dict[str, Callable] = {}
        self.job_actions: dict[str, Callable] = {}
        for module in self.families:
            self.commands.update(module.COMMANDS)
            self.job_actions.update(getattr(module, "JOB_ACTIONS", {}))
        unknown = sorted(set(self.commands) - set(spec.commands()))
        if unknown:
            raise ValueError(f"simulator handlers for commands not in the spec: {unknown}")

    # -- ids -------------------------------------------------------------------------------------------------
    def new_uuid(self) -> str:
        if self.config.deterministic_seed is None:
            return str(uuidlib.uuid4())
        self._uuid_counter += 1
        return str(uuidlib.UUID(int=(self.config.deterministic_seed << 64) | self._uuid_counter, version=4))

    # -- entry points --------------------------------------------------------------------------------------------
    def handle(self, raw: Mapping[str, str], *, integration: bool = False) -> tuple[int, dict]:
        """One API request. RAW is the request's parameters as sent (names not yet lower-cased).
        On the integration port (§5) no signature is checked and the caller is the SYSTEM admin.

        Lists and queries run in a read-only transaction; if one finds state to change first (a job that
        came due, a VM to expunge), it is run again as a writer."""
        entry = spec.commands().get(raw.get("command") or "")
        if entry is not None and _read_only(raw["command"], entry):
            try:
                return self.store.run_sync(self._handle, dict(raw), integration, readonly=True)
            except _WriteNeeded:
                pass
        return self.store.run_sync(self._handle, dict(raw), integration)

    def handle_deferred(self, raw: Mapping[str, str], *, integration: bool = False) -> Any:
        """The same on the store's thread pool → Deferred of (status, body)."""
        return self.store.defer(self.handle, dict(raw), integration=integration)

    def seed(self) -> dict:
        """Create the zone, templates, offerings, admin and demo users on an empty database (idempotent).
        Returns {"admin": user, "demo": user}."""
        from ec2soap.cloudstack.simulator import seed

        return self.store.run_sync(seed.seed, self)

    # -- the request ---------------------------------------------------------------------------------------------
    def _handle(self, conn: Connection, raw: dict[str, str], integration: bool) -> tuple[int, dict]:
        name = raw.get("command")
        now = self.clock()
        entry = spec.commands().get(name) if name else None
        responsekey = entry["responsekey"] if entry else "errorresponse"
        try:
            if integration:
                caller = self._system_caller(conn)
                if name is None or entry is None or name not in self.commands:
                    raise SimError(432, f"Unknown API command: {name}", 9999)
            else:
                caller = self._authenticate(conn, raw, now)
                if caller is None:
                    return 401, {responsekey: {"uuidList": [], "errorcode": 401, "errortext": AUTH_FAILED}}
                if entry is None or name not in self.commands:
                    return 401, {"errorresponse": {"uuidList": [], "errorcode": 401, "errortext": AUTH_FAILED}}
                if not self._allowed(caller, name):
                    raise SimError(401, f"The given command '{name}' either does not exist, is not available "
                                        f"for user.", 9999)
            if not _read_only(name, entry):
                self._lock(conn)
            self._advance_jobs(conn, now)
            params = _check_params(name, entry, {k: v for k, v in _lower_params(raw).items()
                                                 if k not in _NOT_PARAMS})
            ctx = Ctx(self, conn, caller, name, now)
            with conn.begin_nested():
                result = self.commands[name](ctx, params)
            return 200, self._envelope(name, entry, result, params)
        except SimError as err:
            body: dict[str, Any] = {"uuidList": [], "errorcode": err.errorcode}
            if err.cserrorcode is not None:
                body["cserrorcode"] = err.cserrorcode
            body["errortext"] = err.errortext
            key = "errorresponse" if err.errorcode == 432 else responsekey
            return err.errorcode, {key: body}

    def _envelope(self, name: str, entry: dict, result: Any, params: Mapping[str, Any]) -> dict:
        key = entry["responsekey"]
        kind = entry["kind"]
        if kind == "list":
            assert isinstance(result, Listing), f"{name} must return a Listing"
            total = len(result.items)
            page = _page(name, result.items, params)
            if total == 0:
                return {key: {}}
            if not page:
                return {key: {"count": total}}
            return {key: {"count": total, entry["listitemkey"]: page}}
        if kind == "async":
            assert isinstance(result, JobStarted), f"{name} must return JobStarted"
            body = {"jobid": result.jobid}
            if "id" in entry.get("immediatefields", ()):
                body = {"id": result.object_id, "jobid": result.jobid}
            return {key: body}
        if kind == "success":
            return {key: {"success": True}}
        if kind == "asyncjob":
            return {key: result}
        return {key: {entry["objectkey"]: result}}

    # -- callers -----------------------------------------------------------------------------------------------
    def _user_by_key(self, conn: Connection, apikey: str) -> tuple[dict, dict] | None:
        """The user holding APIKEY and its account. An index (key → user uuid) saves decoding every user on
        every request; it is only a hint: the user row read afterwards must still hold that key."""
        ctx = Ctx(self, conn, None, "", 0)  # type: ignore[arg-type]
        for rebuild in (self._key_index is None, True):
            if rebuild:
                self._key_index = {u["apikey"]: u["id"] for u in ctx.find("user") if u.get("apikey")}
            user = ctx.get("user", self._key_index.get(apikey))  # type: ignore[union-attr]
            if user is not None and user.get("apikey") == apikey:
                account = ctx.get("account", user["accountid"])
                return (user, account) if account else None
        return None

    def _authenticate(self, conn: Connection, raw: Mapping[str, str], now: float) -> Caller | None:
        """API key + signature (§2); signatureVersion=3 requires a future `expires`."""
        apikey = next((v for k, v in raw.items() if k.lower() == "apikey"), None)
        if not apikey or "signature" not in raw:
            return None
        found = self._user_by_key(conn, apikey)
        if found is None:
            return None
        user, account = found
        if user.get("state") != "enabled" or account.get("state") != "enabled":
            return None
        if not signing.verify(raw, user.get("secretkey", "")):
            return None
        version = next((v for k, v in raw.items() if k.lower() == "signatureversion"), None)
        if version == "3":
            expires = next((v for k, v in raw.items() if k.lower() == "expires"), None)
            when = _parse_date(expires) if expires else None
            if when is None or when <= now:
                return None
        return Caller(user=user, account=account)

    def _system_caller(self, conn: Connection) -> Caller:
        ctx = Ctx(self, conn, None, "", 0)  # type: ignore[arg-type]
        account = ctx.find("account", name="system")
        users = ctx.find("user", name="system")
        if not account or not users:
            raise SimError(530, "The simulator is not seeded", 4250)
        return Caller(user=users[0], account=account[0])

    def _allowed(self, caller: Caller, name: str) -> bool:
        return caller.is_admin or not any(name in getattr(f, "ADMIN_ONLY", ()) for f in self.families)

    # -- jobs ---------------------------------------------------------------------------------------------------
    def _lock(self, conn: Connection) -> None:
        """Serialize state changes across threads and processes, as CloudStack's own DB locks do. SQLite
        transactions already hold the database's write lock (BEGIN IMMEDIATE); elsewhere one row is locked."""
        if conn.get_execution_options().get(READONLY):
            raise _WriteNeeded()
        if conn.dialect.name == "sqlite":
            return
        if conn.execute(select(cs_counter.c.value).where(cs_counter.c.name == "_lock").with_for_update()
                        ).first() is None:
            Ctx(self, conn, None, "", 0).next_counter("_lock")  # type: ignore[arg-type]

    def _advance_jobs(self, conn: Connection, now: float) -> None:
        """Finish every job whose time has come, oldest first (lazy: no timers, survives restarts)."""
        if conn.execute(select(cs_job.c.id).where(cs_job.c.status == 0, cs_job.c.due <= now).limit(1)).first():
            self._lock(conn)
        due = conn.execute(select(cs_job).where(cs_job.c.status == 0, cs_job.c.due <= now)
                           .order_by(cs_job.c.due, cs_job.c.id)).fetchall()
        for job in due:
            self._finish_job(conn, job, job.due)
        # Families' time-driven changes (expunging, downloads) are looked at again only when one is due, or
        # after this process changed anything (a write may start a new timer). The simulator's state is
        # changed by the process that serves it; another Simulator object on the same database starts fresh.
        if now < self._next_advance:
            return
        advancing = [family for family in self.families if hasattr(family, "advance")]
        ctx = Ctx(self, conn, self._system_caller(conn), "advance", now)
        upcoming = [family.advance(ctx) for family in advancing]
        self._next_advance = min((t for t in upcoming if t is not None), default=float("inf"))

    def _finish_job(self, conn: Connection, job: Any, when: float) -> None:
        action = json.loads(job.action)
        ctx_conn = conn
        user = Ctx(self, ctx_conn, None, job.command, when).get("user", action["caller"])  # type: ignore[arg-type]
        account = Ctx(self, ctx_conn, None, job.command, when).get("account", job.account_id)  # type: ignore
        caller = Caller(user=user or {"id": job.user_id}, account=account or {"id": job.account_id})
        ctx = Ctx(self, conn, caller, job.command, when)
        try:
            with conn.begin_nested():
                result = self.job_actions[action["action"]](ctx, action["args"])
            status, code = 1, 0
            if result is SUCCESS or result is None:
                result = {"success": True}
        except SimError as err:
            status, code = 2, 530
            result = {"errorcode": err.errorcode, "errortext": err.errortext}
        conn.execute(update(cs_job).where(cs_job.c.id == job.id).values(
            status=status, result_code=code, result=json.dumps(result), completed=when))
        self._next_advance = 0.0  # a finished job can release a time-driven change

    def job_response(self, ctx: Ctx, job: Any) -> dict:
        """AsyncJobResponse fields for queryAsyncJobResult / listAsyncJobs (§8)."""
        body: dict[str, Any] = {"accountid": job.account_id, "userid": job.user_id, "cmd": job.cmd,
                                "jobstatus": job.status, "jobprocstatus": 0, "jobresultcode": job.result_code}
        if job.status != 0:
            body["jobresulttype"] = "object"
            body["jobresult"] = json.loads(job.result)
        if job.instance_type:
            body["jobinstancetype"] = job.instance_type
        if job.instance_id:
            body["jobinstanceid"] = job.instance_id
        body["created"] = cs_date(job.created)
        if job.completed is not None:
            body["completed"] = cs_date(job.completed)
        body["jobid"] = job.uuid
        return body


def _read_only(name: str, entry: dict) -> bool:
    return entry["kind"] in ("list", "asyncjob") or name.startswith(("list", "get", "query"))


def _parse_date(text: str) -> float | None:
    """DateUtil.parseTZDateString formats (§1, §2)."""
    text = text.strip()
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
        try:
            return datetime.strptime(text, fmt).timestamp()
        except ValueError:
            pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()
