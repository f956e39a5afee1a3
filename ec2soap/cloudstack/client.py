"""CloudStack client: signed API calls over HTTP (Twisted's Agent) or in-process, list paging and async-job polling.

Non-blocking (Twisted). Imports nothing from core/, store/ or the simulator (an in-process simulator is handed in).
Wire facts follow ../shared/reference/cloudstack-api/protocol.md; the § numbers below refer to it.
"""
from __future__ import annotations

import copy
import json
import logging
from typing import Any, Callable, Mapping, Protocol
from urllib.parse import urlsplit, urlunsplit

from hyperlink import DecodedURL
from twisted.internet import defer
from twisted.internet import error as net_error
from twisted.internet.protocol import Protocol as _WireProtocol
from twisted.internet.task import deferLater
from twisted.python.failure import Failure
from twisted.web import client as web_client
from twisted.web.client import Agent, HTTPConnectionPool, ResponseDone
from twisted.web.http import PotentialDataLoss
from twisted.web.http_headers import Headers
from twisted.web.iweb import IBodyProducer
from zope.interface import implementer

from ec2soap.cloudstack import signing, spec
from ec2soap.cloudstack.api import CloudStackApi
from ec2soap.cloudstack.errors import (CloudStackBadResponse, CloudStackError, CloudStackJobTimeout,
                                       CloudStackUnavailable)
# Response decoding lives in responses.py; these names stay importable from here.
from ec2soap.cloudstack.responses import (PENDING, async_started, job_outcome, list_page, object_result,
                                          parse_response, raw_outcome, response_key, success_result)

__all__ = [
    "CloudStackClient", "CloudStackClientFactory", "ListCache", "make_client_factory", "HttpTransport",
    "InProcessTransport",
    "Transport", "encode_params", "sign_request", "parse_response", "response_key", "list_page",
    "object_result", "success_result", "async_started", "job_outcome", "PENDING", "DEFAULT_PAGE_SIZE",
]

log = logging.getLogger(__name__)

# default.page.size: CloudStack's default and largest page (§9).
DEFAULT_PAGE_SIZE = 500
# How long a signed request stays valid (signatureVersion=3, §2); the cs client uses the same 10 minutes.
EXPIRES_SECONDS = 600.0
# The largest body we read: 500 VMs are a few MB; anything near this is not CloudStack talking.
MAX_BODY = 64 * 1024 * 1024
# Names the client owns; a caller passing one (in any case, names are case-insensitive §1) is a bug.
_RESERVED = {"command", "apikey", "signature", "signatureversion", "expires", "response", "sessionkey"}
# List commands whose answers the gateway never changes: no command that creates, updates or deletes a zone or
# a compute offering is in spec.json, so only an operator changes them, and that is seen within
# LIST_CACHE_SECONDS. Every RunInstances read both (profiled: 2 of its 11 CloudStack calls).
CACHED_LISTS = frozenset({"listZones", "listServiceOfferings"})
LIST_CACHE_SECONDS = 10.0




# -- request encoding ----------------------------------------------------------------------------------------

def _scalar(name: str, value: Any) -> str:
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, (str, int, float)):
        return str(value)
    raise TypeError(f"CloudStack parameter {name!r}: cannot send a {type(value).__name__}")


def encode_params(params: Mapping[str, Any]) -> dict[str, str]:
    """Python values → CloudStack request parameters (§1).

    None and empty collections are left out; booleans become 'true'/'false'; a list of scalars is one
    comma-joined value; a mapping (one map entry) or a list of mappings becomes `name[i].field=value`,
    e.g. tags=[{"key": "env", "value": "prod"}] → tags[0].key=env&tags[0].value=prod."""
    out: dict[str, str] = {}
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            value = [value]
        if isinstance(value, (set, frozenset)):
            value = sorted(value, key=str)  # a stable order keeps signatures and logs reproducible
        if isinstance(value, (list, tuple)):
            if not value:
                continue
            if all(isinstance(item, Mapping) for item in value):
                for index, entry in enumerate(value):
                    for field, item in entry.items():
                        if item is not None:
                            out[f"{name}[{index}].{field}"] = _scalar(name, item)
                continue
            items = [_scalar(name, item) for item in value]
            # CloudStack quirk: list values are split on ',' with no escape (ParamProcessWorker), so an item
            # holding a comma would silently become two.
            if any("," in item for item in items):
                raise ValueError(f"CloudStack parameter {name!r}: a list item cannot contain ','")
            out[name] = ",".join(items)
            continue
        out[name] = _scalar(name, value)
    return out


def sign_request(command: str, params: Mapping[str, Any], api_key: str, secret_key: str, *,
                 expires_in: float = EXPIRES_SECONDS) -> dict[str, str]:
    """The full parameter set of one signed API request: PARAMS encoded, plus command, response=json, apiKey,
    signatureVersion=3, expires and signature (§2)."""
    wire = encode_params(params)
    clash = sorted(k for k in wire if k.lower() in _RESERVED)
    if clash:
        raise ValueError(f"{command}: parameters {clash} are set by the client")
    wire.update(command=command, response="json", apiKey=api_key, signatureVersion="3",
                expires=signing.expires_stamp(expires_in))
    wire["signature"] = signing.sign(wire, secret_key)
    return wire


def form_body(params: Mapping[str, str]) -> bytes:
    """application/x-www-form-urlencoded body. quote (not quote_plus) so a space is %20 and '+' is %2B."""
    return "&".join([signing.form_value(k) + "=" + signing.form_value(v) for k, v in params.items()]).encode("ascii")


# -- transports -----------------------------------------------------------------------------------------------

class Transport(Protocol):
    """Sends one signed request; the Deferred fires with (HTTP status, body) or fails with CloudStackError."""

    def send(self, params: dict[str, str]) -> defer.Deferred:
        ...


def _shown(url: str) -> str:
    """URL without user:password, for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


_UNREACHABLE = (net_error.ConnectError, net_error.DNSLookupError, net_error.ConnectionLost,
                net_error.ConnectionClosed, web_client.ResponseNeverReceived, web_client.ResponseFailed,
                web_client.RequestTransmissionFailed, web_client.PartialDownloadError, OSError)


def _transport_failure(failure: Failure, command: str, where: str, timeout: float) -> Failure:
    """Twisted's failures → CloudStackUnavailable, so no raw transport exception reaches callers."""
    if failure.check(CloudStackError, defer.CancelledError):
        return failure  # ours already, or the caller cancelled the request itself
    if failure.check(defer.TimeoutError):
        raise CloudStackUnavailable(f"{command}: CloudStack at {where} did not answer within {timeout:g} s",
                                    command=command)
    if failure.check(*_UNREACHABLE):
        raise CloudStackUnavailable(f"{command}: cannot reach CloudStack at {where}: "
                                    f"{failure.type.__name__}: {failure.getErrorMessage()}", command=command)
    log.warning("unexpected failure calling CloudStack %s at %s", command, where,
                exc_info=(failure.type, failure.value, failure.getTracebackObject()))
    raise CloudStackUnavailable(f"{command}: CloudStack at {where} failed: {failure.type.__name__}",
                                command=command)


def _bound(d: defer.Deferred, timeout: float, clock: Any) -> None:
    """Cancel D after TIMEOUT seconds and fail it with TimeoutError, whatever the cancelled step made of the
    cancellation (Agent wraps it in ResponseNeverReceived)."""
    def timed_out(_result: Any, _timeout: float) -> Failure:
        return Failure(defer.TimeoutError(f"no answer within {timeout} s"))
    d.addTimeout(timeout, clock, onTimeoutCancel=timed_out)


class _BodyReader(_WireProtocol):
    """Collects a response body up to MAX_BODY. Unlike twisted.web.client.readBody it can drop the connection
    when cancelled: an Agent response's transport proxy has loseConnection but no abortConnection."""

    def __init__(self, finished: defer.Deferred, command: str, status: int):
        self.finished = finished
        self.command = command
        self.status = status
        self.parts: list[bytes] = []
        self.size = 0

    def dataReceived(self, data: bytes) -> None:
        if self.finished.called:
            return
        self.size += len(data)
        if self.size > MAX_BODY:
            self.transport.loseConnection()
            self.finished.errback(CloudStackBadResponse(
                f"{self.command}: response body larger than {MAX_BODY} bytes", status=self.status,
                command=self.command))
            return
        self.parts.append(data)

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        if self.finished.called:
            return
        # PotentialDataLoss: no Content-Length and the server closed; a cut JSON body fails to parse anyway.
        if reason is None or reason.check(ResponseDone, PotentialDataLoss):
            self.finished.callback(b"".join(self.parts))
        else:
            self.finished.errback(reason)


def _read_body(response: Any, command: str) -> defer.Deferred:
    reader: list[_BodyReader] = []

    def cancel(_: defer.Deferred) -> None:
        transport = reader[0].transport if reader else None
        if transport is not None:
            transport.loseConnection()

    finished: defer.Deferred = defer.Deferred(cancel)
    reader.append(_BodyReader(finished, command, response.code))
    response.deliverBody(reader[0])
    return finished


def _read_only(command: str) -> bool:
    return command.startswith(("list", "get", "query"))


def _default_reactor(reactor: Any) -> Any:
    if reactor is None:
        from twisted.internet import reactor as global_reactor

        reactor = global_reactor
    return reactor


_HEADERS = {b"Content-Type": [b"application/x-www-form-urlencoded; charset=UTF-8"], b"Accept": [b"application/json"]}


class _Agent(Agent):
    """Agent building each (scheme, host, port)'s endpoint once (Agent.request's hook `_getEndpoint`), not per
    request with an IDNA encoding of the host each time (profiled). Endpoints hold no connection state."""
    def _getEndpoint(self, uri: Any) -> Any:
        cache = self.__dict__.setdefault("_endpoints", {})
        key = (uri.scheme, uri.host, uri.port)
        endpoint = cache.get(key)
        if endpoint is None:
            endpoint = cache[key] = super()._getEndpoint(uri)
        return endpoint


@implementer(IBodyProducer)
class _BytesBody:
    """A request body already in memory, written at once (its length known)."""

    def __init__(self, data: bytes):
        self.data, self.length = data, len(data)

    def startProducing(self, consumer: Any) -> defer.Deferred:
        consumer.write(self.data)
        return defer.succeed(None)

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        pass


class HttpTransport:
    """POSTs to the CloudStack API URL (http://host:8080/client/api) over a persistent connection pool.

    At most `max_connections` requests are in flight at once (the rest queue); each request, queueing included,
    must be answered completely within `timeout` seconds."""

    def __init__(self, url: str, *, pool: HTTPConnectionPool | None = None, agent: Any = None,
                 timeout: float = 30.0, max_connections: int = 8, reactor: Any = None):
        self.url = url
        self.timeout = timeout
        self.reactor = _default_reactor(reactor)
        self._owns_pool = agent is None and pool is None
        if agent is None:
            if pool is None:
                pool = HTTPConnectionPool(self.reactor, persistent=True)
                pool.maxPersistentPerHost = max_connections
                # Below Tomcat's default keep-alive (20 s), so we rarely reuse a connection it is closing.
                pool.cachedConnectionTimeout = 15
            agent = _Agent(self.reactor, connectTimeout=timeout, pool=pool)
        self.pool = pool
        # Twisted's Agent directly (it was treq's HTTPClient over the same Agent): a profile of DescribeInstances
        # showed treq's per-request URL parsing (hyperlink, IDNA checks of every label), cookie handling and its
        # cooperator-driven body producer as most of the client's own cost. The URL is encoded once; no redirect
        # is followed and no cookie is kept or sent (one client serves every caller, §4 JSESSIONID), as before.
        self._agent = agent
        self._url = DecodedURL.from_text(url).to_uri().to_text().encode("ascii")
        self._slots = defer.DeferredSemaphore(max_connections)
        self._where = _shown(url)

    def send(self, params: dict[str, str]) -> defer.Deferred:
        command = params.get("command", "")
        body = form_body(params)  # POST: userdata and long id lists do not fit a URL (§1)
        d = self._slots.run(self._post, body, command, _read_only(command))
        _bound(d, self.timeout, self.reactor)
        d.addErrback(_transport_failure, command, self._where, self.timeout)
        return d

    def _post(self, body: bytes, command: str, may_retry: bool) -> defer.Deferred:
        d = self._agent.request(b"POST", self._url, Headers(_HEADERS), _BytesBody(body))
        d.addCallback(lambda response: _read_body(response, command).addCallback(
            lambda data: (response.code, data)))
        if may_retry:
            d.addErrback(self._retry, body, command)
        return d

    def _retry(self, failure: Failure, body: bytes, command: str) -> Any:
        """Send a read-only command once more when the connection died before any answer: typically a pooled
        connection the server closed while idle. Anything that changes state is never sent twice (Twisted's own
        retry is for GET only, and a POST may have been executed)."""
        failure.trap(web_client.ResponseNeverReceived, web_client.RequestTransmissionFailed)
        if any(reason.check(defer.CancelledError) for reason in getattr(failure.value, "reasons", ())):
            return failure  # our own timeout cancelled it
        log.debug("cloudstack %s: connection dropped before an answer, sending again", command)
        return self._post(body, command, False)

    def close(self) -> defer.Deferred:
        if self._owns_pool and self.pool is not None:
            return self.pool.closeCachedConnections()
        return defer.succeed(None)


class InProcessTransport:
    """Hands the same signed parameters to `simulator.handle_deferred(params)`: no socket, same answers.

    The body comes as the JSON the simulator's HTTP front writes (`as_json`), so both transports feed
    parse_response the same bytes."""

    def __init__(self, simulator: Any, *, timeout: float = 30.0, reactor: Any = None):
        self.simulator = simulator
        self.timeout = timeout
        self.reactor = _default_reactor(reactor)

    def send(self, params: dict[str, str]) -> defer.Deferred:
        command = params.get("command", "")
        d = defer.maybeDeferred(self.simulator.handle_deferred, dict(params), as_json=True)
        d.addErrback(self._crashed, command)
        _bound(d, self.timeout, self.reactor)
        d.addErrback(_transport_failure, command, "in-process simulator", self.timeout)
        return d

    def _crashed(self, failure: Failure, command: str) -> Any:
        """What the simulator's HTTP front answers when a handler crashes (simulator/http.py): a 530."""
        if failure.check(defer.CancelledError):
            return failure
        log.error("in-process simulator failed on %s", command,
                  exc_info=(failure.type, failure.value, failure.getTracebackObject()))
        return 530, json.dumps({"errorresponse": {
            "uuidList": [], "errorcode": 530, "cserrorcode": 4250,
            "errortext": "Internal error executing command, please contact your system administrator"}}).encode()

    def close(self) -> defer.Deferred:
        return defer.succeed(None)


# -- the list cache -------------------------------------------------------------------------------------------

class ListCache:
    """The answers of CACHED_LISTS commands, per caller's key and parameters, for `ttl` seconds. Only non-empty
    answers are kept (an offering created after a miss is found at once); every caller gets its own copy."""

    def __init__(self, ttl: float, clock: Any):
        self.ttl, self.clock = ttl, clock
        self._entries: dict[tuple, tuple[float, list]] = {}

    def get(self, key: tuple) -> list | None:
        found = self._entries.get(key)
        if found is None:
            return None
        if found[0] <= self.clock.seconds():
            del self._entries[key]
            return None
        return copy.deepcopy(found[1])

    def put(self, key: tuple, items: list) -> None:
        if items and self.ttl > 0:
            if len(self._entries) > 10000:  # many callers: start again rather than grow
                self._entries.clear()
            self._entries[key] = (self.clock.seconds() + self.ttl, copy.deepcopy(items))


# -- the client -----------------------------------------------------------------------------------------------

class CloudStackClient(CloudStackApi):
    """CloudStack's API with one caller's keys. Commands are methods in snake_case (list_virtual_machines(**kw))
    returning Deferreds of CloudStack's JSON as-is. The commands the gateway calls are typed methods generated
    into api.py (CloudStackApi; `begin_<command>` starts an async one); any other spec command is reached untyped
    through __getattr__ (tools, tests). Results:

    - list commands: every item across all pages (a list);
    - object commands: the object (createSSHKeyPair → the `keypair` dict);
    - success commands: True;
    - async commands: waits for the job (at most `job_wait` s, polling every `poll_interval` s) and gives its
      object (deployVirtualMachine → the `virtualmachine` dict), or True for success jobs.

    Failures are CloudStackError subclasses (errors.py)."""

    def __init__(self, transport: Transport, api_key: str, secret_key: str, *, job_wait: float = 120.0,
                 poll_interval: float = 2.0, page_size: int = DEFAULT_PAGE_SIZE,
                 expires_in: float = EXPIRES_SECONDS, clock: Any = None, metrics: Any = None,
                 list_cache: ListCache | None = None):
        if not 0 < page_size <= DEFAULT_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{DEFAULT_PAGE_SIZE}")
        self.transport = transport
        self.api_key = api_key
        self._secret_key = secret_key
        self.job_wait = job_wait
        self.poll_interval = poll_interval
        self.page_size = page_size
        self.expires_in = expires_in
        self.clock = _default_reactor(clock)
        self.metrics = metrics  # ec2soap.metrics.Metrics or None
        self.list_cache = list_cache  # shared by the factory's clients; None: every list is asked for

    def __repr__(self) -> str:
        return f"<CloudStackClient apiKey={self.api_key[:6]}…>"  # never the secret

    def __getattr__(self, name: str) -> Callable[..., defer.Deferred]:
        command = None if name.startswith("_") else spec.camel_of(name)
        if command is None:
            raise AttributeError(f"{type(self).__name__!r} has no attribute {name!r} (not a CloudStack command)")

        def method(**params: Any) -> defer.Deferred:
            return self.run(command, **params)
        method.__name__ = name
        method.__doc__ = f"CloudStack {command}."
        return method

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | {spec.snake_case(n) for n in spec.commands()})

    # -- the typed methods' one path (api.py) -------------------------------------------------------------------
    def _command(self, command: str, params: dict[str, Any]) -> defer.Deferred:
        return self.run(command, **params)

    def _begin(self, command: str, params: dict[str, Any]) -> defer.Deferred:
        return self.start(command, **params)

    # -- lower level ----------------------------------------------------------------------------------------
    def call(self, command: str, **params: Any) -> defer.Deferred:
        """One request → the inner body under the response key, unshaped."""
        return defer.Deferred.fromCoroutine(self._call(command, params))

    def start(self, command: str, **params: Any) -> defer.Deferred:
        """Start an async command → its immediate answer {"jobid": ...[, "id": ...]}; does not wait."""
        return defer.Deferred.fromCoroutine(self._start(command, params))

    def wait_job(self, jobid: str, *, command: str = "") -> defer.Deferred:
        """Poll queryAsyncJobResult until the job ends → its result as COMMAND returns it
        (the raw jobresult when COMMAND is not given)."""
        return defer.Deferred.fromCoroutine(self._wait_job(jobid, command))

    def list_all(self, command: str, **params: Any) -> defer.Deferred:
        """A list command's items across every page; with an explicit `page` only that page."""
        return defer.Deferred.fromCoroutine(self._list_all(command, params))

    def run(self, command: str, **params: Any) -> defer.Deferred:
        """COMMAND with its result shaped by its kind (see the class docstring)."""
        return defer.Deferred.fromCoroutine(self._run(command, params))

    # -- implementation ---------------------------------------------------------------------------------------
    async def _call(self, command: str, params: Mapping[str, Any]) -> dict:
        wire = sign_request(command, params, self.api_key, self._secret_key, expires_in=self.expires_in)
        started = self.clock.seconds()
        error: BaseException | None = None
        try:
            status, body = await self.transport.send(wire)
            log.debug("cloudstack %s → %s in %.3f s", command, status, self.clock.seconds() - started)
            return parse_response(command, status, body)
        except BaseException as exc:
            error = exc
            raise
        finally:
            if self.metrics is not None:
                self.metrics.cloudstack_call(command, error, self.clock.seconds() - started)

    async def _start(self, command: str, params: Mapping[str, Any]) -> dict:
        return async_started(command, await self._call(command, params))

    async def _run(self, command: str, params: Mapping[str, Any]) -> Any:
        kind = (spec.commands().get(command) or {}).get("kind")
        if kind == "list":
            if self.list_cache is None or command not in CACHED_LISTS:
                return await self._list_all(command, params)
            key = (self.api_key, command, tuple(sorted(encode_params(params).items())))
            items = self.list_cache.get(key)
            if items is None:
                items = await self._list_all(command, params)
                self.list_cache.put(key, items)
            return items
        if kind == "async":
            started = await self._start(command, params)
            return await self._wait_job(started["jobid"], command)
        inner = await self._call(command, params)
        if kind == "object":
            return object_result(command, inner)
        if kind == "success":
            return success_result(command, inner)
        return inner

    async def _list_all(self, command: str, params: Mapping[str, Any]) -> list:
        entry = spec.commands().get(command) or {}
        pageable = "page" in entry.get("params", {"page": None})
        if not pageable or "page" in params or "pagesize" in params:
            if "page" in params:
                # CloudStack refuses page without pagesize (§9).
                params = {"pagesize": self.page_size, **params}
            return list_page(command, await self._call(command, params))[1]
        items: list = []
        page = 1
        while True:
            count, batch = list_page(command, await self._call(command, {**params, "page": page,
                                                                          "pagesize": self.page_size}))
            items.extend(batch)
            # Stop on a short or empty page too: rows deleted while we page shrink `count` under us.
            if count is None or len(items) >= count or len(batch) < self.page_size:
                return items
            page += 1

    async def _wait_job(self, jobid: str, command: str) -> Any:
        if self.metrics is None:
            return await self._poll_job(jobid, command)
        with self.metrics.job():
            return await self._poll_job(jobid, command)

    async def _poll_job(self, jobid: str, command: str) -> Any:
        started = self.clock.seconds()
        deadline = started + self.job_wait
        while True:
            try:
                job = await self._call("queryAsyncJobResult", {"jobid": jobid})
            except CloudStackUnavailable as err:
                # The job goes on inside CloudStack; one lost poll should not lose its result.
                log.warning("polling job %s of %s: %s", jobid, command or "?", err)
                job = None
            if job is not None:
                outcome = job_outcome(command, job, jobid) if command else raw_outcome(job, jobid)
                if outcome is not PENDING:
                    return outcome
            now = self.clock.seconds()
            if now >= deadline:
                raise CloudStackJobTimeout(jobid, now - started, command=command)
            await deferLater(self.clock, min(self.poll_interval, deadline - now), lambda: None)


# -- factory --------------------------------------------------------------------------------------------------

class CloudStackClientFactory:
    """Holds one transport (and so one connection pool) and builds a client per caller's keys."""

    def __init__(self, transport: Transport, *, job_wait: float = 120.0, poll_interval: float = 2.0,
                 page_size: int = DEFAULT_PAGE_SIZE, clock: Any = None, metrics: Any = None,
                 list_cache_seconds: float = LIST_CACHE_SECONDS):
        self.transport = transport
        self.job_wait = job_wait
        self.poll_interval = poll_interval
        self.page_size = page_size
        self.clock = clock
        self.metrics = metrics  # optional ec2soap.metrics.Metrics: every client built here reports to it
        self.list_cache = ListCache(list_cache_seconds, _default_reactor(clock)) if list_cache_seconds > 0 else None

    @classmethod
    def for_url(cls, url: str, *, timeout: float = 30.0, max_connections: int = 8, reactor: Any = None,
                **options: Any) -> "CloudStackClientFactory":
        transport = HttpTransport(url, timeout=timeout, max_connections=max_connections, reactor=reactor)
        return cls(transport, clock=options.pop("clock", reactor), **options)

    @classmethod
    def for_simulator(cls, simulator: Any, *, timeout: float = 30.0, reactor: Any = None,
                      **options: Any) -> "CloudStackClientFactory":
        transport = InProcessTransport(simulator, timeout=timeout, reactor=reactor)
        return cls(transport, clock=options.pop("clock", reactor), **options)

    def client(self, api_key: str, secret_key: str) -> CloudStackClient:
        return CloudStackClient(self.transport, api_key, secret_key, job_wait=self.job_wait,
                                poll_interval=self.poll_interval, page_size=self.page_size, clock=self.clock,
                                metrics=self.metrics, list_cache=self.list_cache)

    def close(self) -> defer.Deferred:
        """Close idle pooled connections (at shutdown)."""
        close = getattr(self.transport, "close", None)
        return close() if close else defer.succeed(None)


def make_client_factory(url: str | None = None, simulator: Any = None, **options: Any) -> CloudStackClientFactory:
    """A factory for CloudStack at URL, or for the in-process SIMULATOR when no URL is configured."""
    if url:
        return CloudStackClientFactory.for_url(url, **options)
    if simulator is None:
        raise ValueError("either a CloudStack URL or a simulator is needed")
    options.pop("max_connections", None)
    return CloudStackClientFactory.for_simulator(simulator, **options)
