"""The simulator's request context and the vocabulary every family speaks: errors, results, the caller, and
`Ctx` with its services (state, look-up-or-431, configuration values, tags, jobs).

Families import from here (or from engine.py, which re-exports it); this module imports no family.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Collection, Mapping

import orjson
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from ec2soap.cloudstack.simulator.errors import SimError, invalid_value, param_error, permission_denied
from ec2soap.cloudstack.simulator.tagging import TagService
from ec2soap.store.prepared import Prepared
from ec2soap.store.tables import cs_counter, cs_job, cs_object

__all__ = [
    "SimulatorConfig", "Caller", "Ctx", "SimError", "Listing", "JobStarted", "SUCCESS", "param_error",
    "invalid_value", "permission_denied", "cs_date", "public_fields", "keyword_filter", "ADMIN", "USER",
    "DOMAIN_ADMIN",
]

ADMIN, USER, DOMAIN_ADMIN = 1, 0, 2

# Java command classes, for the async job's `cmd` field (cosmetic, but clients log it).
_CMD_PACKAGE = "org.apache.cloudstack.api.command.user."


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
    # Seed an Advanced zone (VPCs, isolated networks) next to the Basic one (vpcs.seed). Off by default until
    # the gateway serves EC2-VPC: with it on, DescribeAvailabilityZones lists both zones.
    advanced_zone: bool = False


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
    """One request's view of the simulator: the transaction, the caller, the clock, and the services every
    family shares: state (get/find/insert/save/remove), lookup (the 431 for a uuid naming nothing), owned/require
    (ownership), config_value/config_true/config_int (global settings), tags (tagging.TagService) and jobs."""

    def __init__(self, sim: "Simulator", conn: Connection, caller: Caller, command: str, now: float):
        self.sim = sim
        self.conn = conn
        self.caller = caller
        self.command = command
        self.now = now
        self.config = sim.config
        self._memo: dict[Any, Any] = {}
        self.tags = TagService(self)

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
        row = self._row(kind, uuid)
        if row is None or (row.removed is not None and not removed):
            return None
        return orjson.loads(row.data)

    def _row(self, kind: str, uuid: str | None) -> Any:
        """The stored row (id, account_id, data, removed) of KIND named UUID, or None."""
        if not uuid:
            return None
        key = ("row", kind, uuid)
        if key not in self._memo:
            # The stored text is kept, not the dict: every caller gets its own copy to change. Read-only
            # requests share it across requests until the next write (listings.py).
            self._memo[key] = self.sim.listings.fetch(key, lambda: _GET_ROW(
                self.conn, {"uuid": uuid, "kind": kind}).first(), kind)
        return self._memo[key]

    def find(self, kind: str, *, account_id: str | None = None, name: str | None = None,
             removed: bool = False, where: Callable[[dict], bool] | None = None,
             ids: Collection[str] | None = None, contains: str | None = None) -> list[dict]:
        """Rows of KIND in creation order, optionally of one account / with one name / among IDS. A few IDS
        are read one by one (by uuid, as get does), not with the whole kind: profiled, listVirtualMachines
        id=X decoded every VM of the account. CONTAINS is a string the stored JSON of every wanted row holds
        (the uuid a WHERE compares a field with): the database leaves the other rows out before any is read
        or decoded, and WHERE still decides (profiled: a VM's volumes read every volume at each deploy)."""
        if ids is not None and len(ids) <= _FEW_IDS and name is None:
            rows = [r for r in (self._row(kind, uuid) for uuid in set(ids)) if r is not None
                    and (removed or r.removed is None) and (account_id is None or r.account_id == account_id)]
            items = [orjson.loads(r.data) for r in sorted(rows, key=lambda r: r.id)]
            return [i for i in items if where(i)] if where else items
        texts = self._texts(kind, account_id, name, removed, contains)
        if ids is None and where is None:
            return [orjson.loads(text) for text in texts]
        # The filter reads the shared decoded documents; only the rows it keeps are decoded afresh for the
        # caller (profiled: _volumes_of decoded every volume of the zone to return one).
        wanted = set(ids) if ids is not None else None
        return [orjson.loads(text) for text in texts if _kept(_shared(text), wanted, where)]

    def scan(self, kind: str, *, account_id: str | None = None, where: Callable[[dict], bool] | None = None,
             contains: str | None = None) -> list[dict]:
        """Rows of KIND (of one account) as find gives them, but decoded once and shared with other callers and
        later requests: only read them, never change or store one. For checks over a whole kind (a zone's
        capacity, a host name clash), which otherwise decoded every VM at every deploy. CONTAINS as for find."""
        return [item for item in map(_shared, self._texts(kind, account_id, None, False, contains))
                if where is None or where(item)]

    def _texts(self, kind: str, account_id: str | None, name: str | None, removed: bool,
               contains: str | None) -> tuple[str, ...]:
        """The stored JSON of KIND's rows in creation order (kept in the read cache until KIND's next write)."""
        if contains is not None and any(c in '"\\' or c < " " for c in contains):
            contains = None  # JSON writes these escaped: the stored text would not hold the string as given
        query = _find_query(account_id is not None, name is not None, removed, contains is not None)
        values = {"kind": kind}
        if account_id is not None:
            values["account_id"] = account_id
        if name is not None:
            values["name"] = name
        if contains is not None:
            values["pattern"] = "%" + "".join("/" + c if c in "/%_" else c for c in contains) + "%"
        return self.sim.listings.fetch(("find", kind, account_id, name, removed, contains),
                                       lambda: tuple(r.data for r in query(self.conn, values)), kind)

    def insert(self, kind: str, data: dict, *, account_id: str | None = None) -> dict:
        """Store a new entity. data["id"] is set to a fresh uuid unless given; data is returned."""
        data.setdefault("id", self.new_uuid())
        self._wrote(kind, data)
        _INSERT_ROW(self.conn, {"uuid": data["id"], "kind": kind, "account_id": account_id,
                                        "name": _name_of(data), "data": _dump(data), "created": self.now})
        return data

    def save(self, kind: str, data: dict) -> dict:
        self._wrote(kind, data)
        _SAVE_ROW(self.conn, {"b_uuid": data["id"], "b_kind": kind, "b_data": _dump(data),
                                      "b_name": _name_of(data)})
        return data

    def remove(self, kind: str, uuid: str) -> None:
        """Mark removed: gone from lists, still known to uuid lookups that ask for removed rows."""
        self._wrote(kind, None)
        _REMOVE_ROW(self.conn, {"b_uuid": uuid, "b_kind": kind, "b_removed": self.now})

    def _wrote(self, kind: str, doc: dict | None) -> None:
        """What any write of KIND (DOC inserted or saved; None: removed) makes stale, and the timer it may start."""
        self._memo.clear()
        self.sim.listings.changed(kind)
        if kind == "user":
            self.sim._key_index = None
        self.sim.timers.wrote(kind, doc)

    def lock(self) -> None:
        """Take the simulator's state lock before changing anything in a read-only path (e.g. advance())."""
        self.sim._lock(self.conn)

    def account_of(self, kind: str, uuid: str) -> str | None:
        return self.conn.execute(select(cs_object.c.account_id).where(cs_object.c.uuid == uuid,
                                                                      cs_object.c.kind == kind)).scalar()

    def next_counter(self, name: str, start: int = 1) -> int:
        """A per-database sequence, incremented inside this transaction (row-locked where supported)."""
        # Update first: the row lock is taken before the value is read, so racing callers queue up.
        bumped = _BUMP_COUNTER(self.conn, {"b_name": name}).rowcount
        if not bumped:
            self.conn.execute(insert(cs_counter).values(name=name, value=start))
            return start
        return int(_READ_COUNTER(self.conn, {"b_name": name}).scalar())

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

    def lookup(self, kind: str, uuid: str | None, param: str) -> dict:
        """The live KIND doc named by uuid parameter PARAM; none is the dispatcher's invalid-value 431 (§1).
        No ownership check: for what every account may use (zones, offerings, OS types, networks)."""
        doc = self.get(kind, uuid) if uuid else None
        if doc is None:
            raise invalid_value(self.command, param, str(uuid))
        return doc

    # -- global settings (the `configuration` docs zones.py seeds and updateConfiguration changes) -----------
    def config_value(self, name: str) -> str | None:
        """A global setting's current value (None when unset or unknown)."""
        rows = self.find("configuration", name=name)
        return rows[0].get("value") if rows else None

    def config_true(self, name: str) -> bool:
        """A boolean setting: false unless its value is "true" (any case)."""
        return str(self.config_value(name) or "").lower() == "true"

    def config_int(self, name: str, default: int) -> int:
        try:
            return int(self.config_value(name) or default)
        except ValueError:
            return default

    def known(self, p: Mapping[str, Any], **kinds: str | None) -> None:
        """uuid parameters must name an existing entity of their KIND, removed ones included (§1), even as list
        filters (CloudStack's dispatcher resolves every uuid before the command runs); a KIND of None is an
        entity the simulator has none of (projects, pods, clusters, ...), so every value names nothing."""
        for param, kind in kinds.items():
            value = p.get(param)
            if value and value != "-1" and (kind is None or self.get(kind, value, removed=True) is None):
                raise invalid_value(self.command, param, value)

    def scope_accounts(self, p: Mapping[str, Any]) -> str | None:
        """Which account a list shows (§9 listall): a user sees its own; an admin sees its own unless
        listall=true, or the named `account`/`domainid`. None means every account. A domainid or projectid
        that names nothing is refused, as CloudStack's dispatcher refuses it."""
        self.known(p, domainid="domain", projectid=None)
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
        self.sim.listings.changed("job")
        _INSERT_JOB(self.conn, dict(
            uuid=jobid, account_id=self.caller.account_id, user_id=self.caller.user_id, command=self.command,
            cmd=f"{_CMD_PACKAGE}{cmd_name}Cmd", status=0, result_code=0, result=None,
            instance_type=instance_type, instance_id=instance_id,
            action=json.dumps({"action": action, "args": args, "caller": self.caller.user_id}),
            created=self.now, due=self.now + duration, completed=None))
        return JobStarted(jobid, object_id)


# The statements Ctx runs most, built once with bound parameters: building and keying a select per
# call was a tenth of the simulator's CPU in a Run+Terminate cycle.
_FEW_IDS = 20  # Ctx.find(ids=...) reads up to this many rows by uuid; more, the kind at once
_GET_ROW = Prepared(select(cs_object.c.id, cs_object.c.account_id, cs_object.c.data, cs_object.c.removed).where(
    cs_object.c.uuid == bindparam("uuid"), cs_object.c.kind == bindparam("kind")))
_FIND: dict[tuple[bool, bool, bool, bool], Any] = {}
_INSERT_ROW = Prepared(insert(cs_object))
_INSERT_JOB = Prepared(insert(cs_job))
_SAVE_ROW = Prepared(update(cs_object).where(cs_object.c.uuid == bindparam("b_uuid"), cs_object.c.kind == bindparam(
    "b_kind")).values(data=bindparam("b_data"), name=bindparam("b_name")))
_REMOVE_ROW = Prepared(update(cs_object).where(cs_object.c.uuid == bindparam("b_uuid"), cs_object.c.kind == bindparam(
    "b_kind")).values(removed=bindparam("b_removed")))
_BUMP_COUNTER = Prepared(update(cs_counter).where(cs_counter.c.name == bindparam("b_name")).values(
    value=cs_counter.c.value + 1))
_READ_COUNTER = Prepared(select(cs_counter.c.value).where(cs_counter.c.name == bindparam("b_name")))


def _find_query(by_account: bool, by_name: bool, removed: bool, by_text: bool = False) -> Any:
    key = (by_account, by_name, removed, by_text)
    query = _FIND.get(key)
    if query is None:
        query = select(cs_object.c.data).where(cs_object.c.kind == bindparam("kind")).order_by(cs_object.c.id)
        if by_account:
            query = query.where(cs_object.c.account_id == bindparam("account_id"))
        if by_name:
            query = query.where(cs_object.c.name == bindparam("name"))
        if not removed:
            query = query.where(cs_object.c.removed.is_(None))
        if by_text:
            # A prefilter only (MariaDB's LIKE ignores case): Ctx.find's WHERE decides. "/" escapes, not "\",
            # which MySQL string literals would take for their own escape.
            query = query.where(cs_object.c.data.like(bindparam("pattern"), escape="/"))
        query = _FIND[key] = Prepared(query)
    return query


@functools.lru_cache(maxsize=1024)
def _shared(text: str) -> dict:
    """TEXT decoded, one dict per distinct text for every thread and request: never to be changed (Ctx.scan,
    find's filters). A text names its content, so an entry cannot go stale; a row's next version is another
    text. An entry (a VM's text and dict) is about 8.5 KiB: with 4,096 of them the embedded default's peak RSS
    in the Run+Terminate cycle at concurrency 16 went from 165 MB to 196-200 MB (issue 14 wants < 200); with
    1,024, 172-176 MB, and a zone of up to about a thousand VMs still fits (a larger one decodes as before)."""
    return orjson.loads(text)


def _kept(item: dict, ids: set[str] | None, where: Callable[[dict], bool] | None) -> bool:
    return (ids is None or item.get("id") in ids) and (where is None or where(item))


def _dump(data: dict) -> str:
    """A stored document: JSON with sorted keys (orjson: the simulator decodes thousands per request)."""
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode("utf-8")


def _name_of(data: dict) -> str | None:
    name = data.get("name") or data.get("username")
    return str(name)[:255] if name is not None else None


# Per spec response table (by identity; the table is kept with its plan, so its id is never reused): the keys
# kept as they are, and the keys with a nested table. Building them once per table instead of asking the
# table per key of every row took public_fields from about half of the simulator's CPU per listing of 50 VMs.
_PLANS: dict[int, tuple[dict, frozenset[str], dict[str, dict]]] = {}


def _plan(fields: dict) -> tuple[frozenset[str], dict[str, dict]]:
    plan = _PLANS.get(id(fields))
    if plan is None or plan[0] is not fields:
        public = [(key, spec.get("fields")) for key, spec in fields.items() if not key.startswith("_")]
        plan = _PLANS[id(fields)] = (fields, frozenset(k for k, _n in public),
                                     {k: nested for k, nested in public if nested})
    return plan[1], plan[2]


def public_fields(obj: Any, fields: dict) -> Any:
    """OBJ with only what FIELDS (a spec response table) documents, recursively; `_` keys always go.
    A documented field without a nested table (maps, listApis' own `response`) is passed through whole."""
    if isinstance(obj, list):
        return [public_fields(item, fields) for item in obj]
    if not isinstance(obj, dict):
        return obj
    kept, nested = _plan(fields)
    if not nested:
        return {key: value for key, value in obj.items() if key in kept}
    return {key: (public_fields(value, nested[key]) if key in nested else value)
            for key, value in obj.items() if key in kept}


def keyword_filter(items: list[dict], keyword: str | None, *fields: str) -> list[dict]:
    if not keyword:
        return items
    kw = keyword.lower()
    return [i for i in items if any(kw in str(i.get(f, "")).lower() for f in fields or ("name",))]

