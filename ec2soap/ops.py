"""Operators' endpoints on the gateway port: GET /metrics (Prometheus text format) and GET /health (JSON).

/health asks the database (a trivial query on the store's pool) and CloudStack (listCapabilities with the admin
keys), each bounded by a few seconds, and answers 200 when both answer, else 503. Never a secret in either body.

/health is unauthenticated, so it says only ok / error per component (and whether EC2 and S3 are on): no
CloudStack URL, no exception, no CloudStack error text. Those go to the log, once each time a component's state
changes. A caller sending the operator's token (setting health_token, header X-Health-Token) gets the details.
"""
from __future__ import annotations

import hmac
import json
import logging
import time
from typing import Any, Callable

from twisted.internet import defer
from twisted.web import resource, server

from ec2soap import __version__
from ec2soap.cloudstack.errors import CloudStackAuthError
from ec2soap.metrics import CONTENT_TYPE

__all__ = ["MetricsResource", "HealthResource", "ops_path", "ping_database", "ping_sync", "public", "OPS_PATHS"]

log = logging.getLogger(__name__)

OPS_PATHS = (b"/metrics", b"/health")
_RELOG = 60.0
# Parameters that make a GET an S3 (presigned) or EC2 request rather than a scrape or a probe.
_SIGNED_ARGS = {b"Action", b"Signature", b"X-Amz-Signature", b"AWSAccessKeyId", b"X-Amz-Credential"}


def ops_path(request: Any) -> bytes | None:
    """/metrics or /health when REQUEST is an unsigned GET/HEAD of exactly that path, else None.

    A signed request for the same path is left to S3: a bucket named `metrics` or `health` stays reachable
    with credentials (and always under /awsapi/rest/AmazonS3 and as a virtual host)."""
    if request.method not in (b"GET", b"HEAD"):
        return None
    path = request.path.rstrip(b"/") or b"/"
    # Headers by bytes: a str lookup decodes UTF-8 and would fail on any other byte.
    if path not in OPS_PATHS or request.getHeader(b"authorization"):
        return None
    if _SIGNED_ARGS & set(request.args):
        return None
    return path


class MetricsResource(resource.Resource):
    """GET /metrics: the Metrics registry in Prometheus' text exposition format."""
    isLeaf = True

    def __init__(self, metrics: Any):
        super().__init__()
        self.metrics = metrics

    def render_GET(self, request: Any) -> bytes:
        request.setHeader("Content-Type", CONTENT_TYPE)
        return self.metrics.render()

    render_HEAD = render_GET


def ping_sync(conn: Any) -> None:
    from sqlalchemy import text

    conn.execute(text("SELECT 1")).scalar()


def ping_database(store: Any) -> defer.Deferred:
    """A trivial query on the store's pool → Deferred firing when the database answered."""
    return store.run(ping_sync)


def public(doc: dict) -> dict:
    """The part of a health report anybody may see: the overall and each component's status, the services."""
    out: dict[str, Any] = {"status": doc["status"]}
    for name in ("database", "cloudstack"):
        out[name] = {"status": doc[name]["status"]}
    if "services" in doc:
        out["services"] = {service: {"enabled": bool(state.get("enabled")), "source": str(state.get("source"))}
                           for service, state in doc["services"].items()}
    return out


def _short(exc: BaseException, hide: tuple[str, ...] = ()) -> str:
    text = " ".join(str(exc).split())
    for secret in hide:
        if secret:
            text = text.replace(secret, "***")
    return f"{exc.__class__.__name__}: {text[:200]}" if text else exc.__class__.__name__


class HealthResource(resource.Resource):
    """GET /health → {"status": "ok"|"error", "database": {...}, "cloudstack": {...}, "services": {...}}.

    `cloud` is a CloudStack client with the admin keys, or one with no keys when there are none: then a
    CloudStack that refuses the request still proves it is reachable. `hide` lists strings never to show
    (the database password). TOKEN, when set, unlocks the detailed report (errors, latencies, version) for
    callers that send it as X-Health-Token; everyone else gets only each component's status."""
    isLeaf = True

    def __init__(self, *, store: Any, cloud: Any, admin: bool, switches: Any = None, reactor: Any = None,
                 timeout: float = 5.0, hide: tuple[str, ...] = (), token: str = ""):
        super().__init__()
        self.store, self.cloud, self.admin, self.switches = store, cloud, admin, switches
        self.timeout = timeout
        self.hide = hide
        self.token = token
        # component → (status, error) last logged, and when: the log gets a line when the status changes, and
        # when only the error's text does, at most one every _RELOG seconds (a probe every few seconds must
        # not flood it).
        self._logged: dict[str, tuple[str, str]] = {}
        self._logged_at: dict[str, float] = {}
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        self.reactor = reactor

    def render_GET(self, request: Any) -> Any:
        detailed = self._operator(request)
        d = defer.Deferred.fromCoroutine(self.report())
        d.addCallback(lambda result: self._finish(request, result[0], result[1] if detailed else public(result[1])))
        d.addErrback(lambda failure: (log.error("health check failed: %s", failure.getTraceback()),
                                      self._finish(request, 500, {"status": "error"})))
        return server.NOT_DONE_YET

    render_HEAD = render_GET

    def _operator(self, request: Any) -> bool:
        """True when the request carries the operator's health token."""
        if not self.token:
            return False
        given = request.getHeader(b"x-health-token") or b""
        return hmac.compare_digest(given, self.token.encode("utf-8"))

    def _log_changes(self, doc: dict) -> None:
        for name in ("database", "cloudstack"):
            part = doc[name]
            now = (part["status"], part.get("error", ""))
            before = self._logged.get(name)
            if now == before:
                continue
            moment = time.monotonic()
            if before is not None and before[0] == now[0] and moment - self._logged_at.get(name, 0.0) < _RELOG:
                continue
            self._logged[name], self._logged_at[name] = now, moment
            if now[0] == "ok":
                if before is not None:
                    log.info("health: %s is ok again", name)
            else:
                log.warning("health: %s is failing: %s", name, now[1])

    async def report(self) -> tuple[int, dict]:
        """(status, the detailed report); what an unauthenticated caller sees is public(report)."""
        database, cloudstack = await defer.gatherResults([
            defer.Deferred.fromCoroutine(self._check(self._database)),
            defer.Deferred.fromCoroutine(self._check(self._cloudstack))])
        healthy = database["status"] == "ok" and cloudstack["status"] == "ok"
        doc: dict[str, Any] = {"status": "ok" if healthy else "error", "version": __version__,
                               "database": database, "cloudstack": cloudstack}
        if self.switches is not None:
            doc["services"] = self.switches.state()
        self._log_changes(doc)
        return (200 if healthy else 503), doc

    async def _check(self, probe: Callable[[], Any]) -> dict:
        started = time.monotonic()
        try:
            d = defer.Deferred.fromCoroutine(probe())
            d.addTimeout(self.timeout, self.reactor)
            detail = await d
        except defer.TimeoutError:
            return {"status": "error", "error": f"no answer within {self.timeout:g} s"}
        except Exception as exc:
            return {"status": "error", "error": _short(exc, self.hide)}
        out = {"status": "ok", "seconds": round(time.monotonic() - started, 3)}
        if detail:
            out["detail"] = detail
        return out

    async def _database(self) -> str | None:
        await ping_database(self.store)
        return None

    async def _cloudstack(self) -> str | None:
        try:
            await self.cloud.list_capabilities()
        except CloudStackAuthError:
            if self.admin:
                raise
            return "reachable (no admin keys configured, so the request was refused)"
        return None

    def _finish(self, request: Any, status: int, doc: dict) -> None:
        if request._disconnected or request.finished:
            return
        request.setResponseCode(status)
        request.setHeader("Content-Type", "application/json")
        request.setHeader("Cache-Control", "no-store")
        if request.method != b"HEAD":
            request.write(json.dumps(doc, sort_keys=True).encode("utf-8") + b"\n")
        request.finish()
