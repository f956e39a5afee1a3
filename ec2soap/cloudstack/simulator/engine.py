"""The simulator's engine: authentication, parameter validation, envelopes, paging and async jobs.

It runs synchronously inside one database transaction per request, on the store's thread pool (never on the
reactor). The engine imports no family: it serves the family modules it is given (the package's Simulator
composes it with FAMILIES and seeding). Each family registers what it serves by exporting COMMANDS
(command → handler) and optionally JOB_ACTIONS (action name → function run when a job comes due), ADMIN_ONLY
(commands users may not call), TAG_RESOLVERS (resource type → owning doc, for ctx.tags), seed(ctx) (first start,
run by seed.py) and advance(ctx) (time-driven transitions, e.g. expunging destroyed VMs). Handlers get a Ctx
(context.py) with the shared services. Wire behaviour follows ../shared/reference/cloudstack-api/protocol.md;
section numbers below refer to it.
"""
from __future__ import annotations

import json
import logging
import time
import uuid as uuidlib
from typing import Any, Callable, Iterable, Mapping

import orjson
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection

from ec2soap.cloudstack import signing, spec
from ec2soap.cloudstack.simulator.context import (ADMIN, DOMAIN_ADMIN, SUCCESS, USER, Caller, Ctx, JobStarted,
                                                  Listing, SimulatorConfig, cs_date, keyword_filter,
                                                  public_fields)
from ec2soap.cloudstack.simulator.errors import SimError, invalid_value, param_error, permission_denied
from ec2soap.cloudstack.simulator.listings import ReadCache
from ec2soap.cloudstack.simulator.params import NOT_PARAMS, check_params, lower_params, page_of, parse_date
from ec2soap.cloudstack.simulator.timers import Timers
from ec2soap.store.db import READONLY
from ec2soap.store.prepared import Prepared, savepoint
from ec2soap.store.tables import cs_counter, cs_job

# The family vocabulary is re-exported: families and tests import it from here or from context.py.
__all__ = [
    "Engine", "SimulatorConfig", "Caller", "Ctx", "SimError", "Listing", "JobStarted", "SUCCESS",
    "param_error", "invalid_value", "permission_denied", "cs_date", "public_fields", "keyword_filter", "ADMIN",
    "USER", "DOMAIN_ADMIN",
]

log = logging.getLogger(__name__)

AUTH_FAILED = "unable to verify user credentials and/or request signature"

# The job statements every request may run, built once (bound parameters), run as Prepared (store/prepared.py).
_FIRST_DUE = Prepared(select(func.min(cs_job.c.due)).where(cs_job.c.status == 0))
_DUE_JOBS = Prepared(select(cs_job).where(cs_job.c.status == 0, cs_job.c.due <= bindparam("b_now")).order_by(
    cs_job.c.due, cs_job.c.id))
_FINISH_JOB = Prepared(update(cs_job).where(cs_job.c.id == bindparam("b_id")).values(
    status=bindparam("b_status"), result_code=bindparam("b_code"), result=bindparam("b_result"),
    completed=bindparam("b_completed")))


# Listings whose answer is a function of the stored state, the caller and the parameters alone (no clock: unlike
# listTemplates' download progress), kept between read-only requests until the next write (_kept_answer). The
# two DescribeInstances asks; rendering 50 VMs and their volumes was most of the engine's CPU per request.
ANSWERS_KEPT = frozenset({"listVirtualMachines", "listVolumes"})


class _WriteNeeded(Exception):
    """A read-only request found state to change; Engine.handle runs it again as a writer."""


class Engine:
    """A CloudStack management server: `handle(params)` answers one API request as (status, body dict).

    `store` must be migrated. Handlers come from the family modules in `families`, which register what they
    serve (see the module docstring); a handler for a command the spec lacks is an error."""

    def __init__(self, store: Any, config: SimulatorConfig | None = None, *, clock: Callable[[], float] = time.time,
                 families: Iterable[Any]):
        self.store = store
        self.config = config or SimulatorConfig()
        self.clock = clock
        self._uuid_counter = 0
        self._key_index: dict[str, str] | None = None
        # Rows read by read-only requests, kept until the next write (listings.py), shared with any other
        # Simulator on this store.
        self.listings = ReadCache.of(store)
        self.families = list(families)
        self.commands: dict[str, Callable] = {}
        self.job_actions: dict[str, Callable] = {}
        self.admin_only: set[str] = set()
        self.tag_resolvers: dict[str, Callable[[Ctx, str], dict | None]] = {}
        for module in self.families:  # a later family's registration wins (a test family may stand in)
            self.commands.update(module.COMMANDS)
            self.job_actions.update(getattr(module, "JOB_ACTIONS", {}))
            self.admin_only |= set(getattr(module, "ADMIN_ONLY", ()))
            self.tag_resolvers.update(getattr(module, "TAG_RESOLVERS", {}))
        # When the families' advance() must look again (timers.py): the writes that can start a change say so.
        self.timers = Timers(self.families)
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
    def handle(self, raw: Mapping[str, str], *, integration: bool = False, as_json: bool = False
               ) -> tuple[int, Any]:
        """One API request. RAW is the request's parameters as sent (names not yet lower-cased).
        On the integration port (§5) no signature is checked and the caller is the SYSTEM admin.
        The body is the response's dict, or with AS_JSON its JSON bytes (what both fronts send on: a kept
        listing is then handed on as the bytes it is kept as, neither decoded nor encoded again).

        Lists and queries run in a read-only transaction; if one finds state to change first (a job that
        came due, a VM to expunge), it is run again as a writer."""
        status, body = self._answer(raw, integration)
        if as_json:
            return status, body if isinstance(body, bytes) else orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
        return status, orjson.loads(body) if isinstance(body, bytes) else body

    def _answer(self, raw: Mapping[str, str], integration: bool) -> tuple[int, dict | bytes]:
        entry = spec.commands().get(raw.get("command") or "")
        if entry is not None and _read_only(raw["command"], entry):
            try:
                with self.listings.reading():
                    return self._run(raw, integration, readonly=True)
            except _WriteNeeded:
                pass
        with self.listings.writing():
            return self._run(raw, integration, readonly=False)

    def _run(self, raw: Mapping[str, str], integration: bool, readonly: bool) -> tuple[int, dict | bytes]:
        self.timers.begin()
        try:
            return self.store.run_sync(self._handle, dict(raw), integration, readonly=readonly)
        finally:
            self.timers.end()

    def handle_deferred(self, raw: Mapping[str, str], *, integration: bool = False, as_json: bool = False) -> Any:
        """The same on the store's thread pool → Deferred of (status, body)."""
        return self.store.defer(self.handle, dict(raw), integration=integration, as_json=as_json)

    # -- the request ---------------------------------------------------------------------------------------------
    def _handle(self, conn: Connection, raw: dict[str, str], integration: bool) -> tuple[int, dict | bytes]:
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
            params = check_params(name, entry, {k: v for k, v in lower_params(raw).items()
                                                if k not in NOT_PARAMS})
            ctx = Ctx(self, conn, caller, name, now)
            if conn.get_execution_options().get(READONLY):
                # A read-only request writes nothing (a write needed raises _WriteNeeded): no savepoint.
                if name in ANSWERS_KEPT:
                    return 200, self._kept_answer(ctx, entry, params)
                result = self.commands[name](ctx, params)
            else:
                with savepoint(conn):
                    result = self.commands[name](ctx, params)
            return 200, self._envelope(name, entry, result, params)
        except SimError as err:
            body: dict[str, Any] = {"uuidList": [], "errorcode": err.errorcode}
            if err.cserrorcode is not None:
                body["cserrorcode"] = err.cserrorcode
            body["errortext"] = err.errortext
            key = "errorresponse" if err.errorcode == 432 else responsekey
            return err.errorcode, {key: body}

    def _kept_answer(self, ctx: Ctx, entry: dict, params: dict) -> bytes:
        """An ANSWERS_KEPT listing, kept (as its JSON) in the read cache under everything any write changes:
        the same caller asking the same again before any write gets the same answer without its rendering.
        Jobs come due and VMs expunge through writes (_advance_jobs ran before this), so nothing else moves it.
        The JSON bytes are immutable: every caller decodes its own copy (handle), or sends them on as they are."""
        name = ctx.command
        key = ("answer", ctx.caller.user_id, ctx.caller.account_id, name,
               tuple(sorted((k, repr(v)) for k, v in params.items())))

        def answer() -> bytes:
            body = self._envelope(name, entry, self.commands[name](ctx, params), params)
            return orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
        return self.listings.fetch(key, answer)

    def _envelope(self, name: str, entry: dict, result: Any, params: Mapping[str, Any]) -> dict:
        key = entry["responsekey"]
        kind = entry["kind"]
        if kind == "list":
            assert isinstance(result, Listing), f"{name} must return a Listing"
            total = len(result.items)
            page = page_of(name, result.items, params)
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
            when = parse_date(expires) if expires else None
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
        return caller.is_admin or name not in self.admin_only

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
        # When the next job comes due is kept between read-only requests (listings.py): jobs are only started
        # and finished by writing requests, so reads skip scanning every job ever run.
        first_due = self.listings.fetch(("first-due-job",), lambda: _FIRST_DUE(conn).scalar(), "job")
        if first_due is not None and first_due <= now:
            self._lock(conn)
            due = _DUE_JOBS(conn, {"b_now": now}).fetchall()
            for job in due:
                self._finish_job(conn, job, job.due)
        # Families' time-driven changes (expunging, downloads) are looked at again only when one is due, or
        # after this process changed anything (a write may start a new timer). The simulator's state is
        # changed by the process that serves it; another Simulator object on the same database starts fresh.
        if now < self.timers.next_look:
            return
        advancing = [family for family in self.families if hasattr(family, "advance")]
        ctx = Ctx(self, conn, self._system_caller(conn), "advance", now)
        upcoming = [family.advance(ctx) for family in advancing]
        self.timers.scanned(min((t for t in upcoming if t is not None), default=float("inf")))

    def _finish_job(self, conn: Connection, job: Any, when: float) -> None:
        action = json.loads(job.action)
        ctx_conn = conn
        user = Ctx(self, ctx_conn, None, job.command, when).get("user", action["caller"])  # type: ignore[arg-type]
        account = Ctx(self, ctx_conn, None, job.command, when).get("account", job.account_id)  # type: ignore
        caller = Caller(user=user or {"id": job.user_id}, account=account or {"id": job.account_id})
        ctx = Ctx(self, conn, caller, job.command, when)
        try:
            with savepoint(conn):
                result = self.job_actions[action["action"]](ctx, action["args"])
            status, code = 1, 0
            if result is SUCCESS or result is None:
                result = {"success": True}
        except SimError as err:
            status, code = 2, 530
            result = {"errorcode": err.errorcode, "errortext": err.errortext}
        self.listings.changed("job")
        _FINISH_JOB(conn, {"b_id": job.id, "b_status": status, "b_code": code,
                                   "b_result": json.dumps(result), "b_completed": when})
        if status == 2:  # a failed job leaves its object in a transitional state that advance() moves on
            self.timers.due(when)

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

