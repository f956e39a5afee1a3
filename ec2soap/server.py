"""Composition root: the store, the CloudStack backend (a real one or the built-in simulator), the resource tree
and the listeners. The only module that wires components together.
"""
from __future__ import annotations

import gc
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twisted.internet.defer import inlineCallbacks
from twisted.internet.endpoints import serverFromString
from twisted.web import resource, server

from ec2soap import __version__
from ec2soap.cloudstack.simulator import Simulator, SimulatorConfig
from ec2soap.cloudstack.simulator.http import api_site, integration_site
from ec2soap.config import Settings
from ec2soap.store import Store, StoreError

__all__ = ["StartupError", "Running", "open_store", "start", "serve", "run", "run_simulator", "db_upgrade",
           "banner", "write_demo_credentials", "tls_options", "GATEWAY_LISTENERS", "DEFAULT_REGION"]

log = logging.getLogger(__name__)
DEFAULT_REGION = "cloudstack"


class StartupError(RuntimeError):
    """The service cannot start; the message tells the operator what to do."""


def open_store(settings: Settings, reactor: Any = None, *, migrate_new: bool = True) -> Store:
    """The store, with its schema checked. A new, empty database is created at once; an existing one at an
    older schema must be upgraded on purpose with `ec2soap db upgrade`."""
    try:
        store = Store(settings.effective_database_url, settings.db_threads, reactor=reactor)
        if migrate_new and not store.has_tables():
            log.info("creating the database schema")
            store.migrate()
        store.check_schema()
    except StoreError as exc:
        raise StartupError(str(exc)) from None
    except Exception as exc:  # driver errors: unreachable server, bad credentials, missing driver
        raise StartupError(f"cannot open the database: {exc.__class__.__name__}: {exc}") from None
    return store


def db_upgrade(settings: Settings) -> int:
    try:
        store = Store(settings.effective_database_url, settings.db_threads)
        store.migrate()
        store.check_schema()
    except Exception as exc:
        raise StartupError(f"database upgrade failed: {exc}") from None
    from ec2soap.store.db import connection_url_for_log, schema_revision

    print(f"database {connection_url_for_log(store.url)} is at schema revision {schema_revision(store.engine)}")
    store.close()
    return 0


def simulator_config(settings: Settings) -> SimulatorConfig:
    return SimulatorConfig(job_seconds=settings.simulator_job_seconds,
                           expunge_seconds=settings.simulator_expunge_seconds,
                           advanced_zone=settings.simulator_advanced_zone)


class GatewayRoot(resource.Resource):
    """Routes every request on the gateway port (MISSION.md, Front doors):

    /awsapi/rest/AmazonEC2 → Query; /awsapi/services/AmazonEC2 → SOAP; /awsapi/rest/AmazonS3/… → S3;
    /awsapi → Query when an Action is given, else SOAP; / → Query for Action requests and form posts, else S3.
    Before all of them, unsigned GET /metrics and /health go to the operators' endpoints (ec2soap.ops)."""
    isLeaf = True

    def __init__(self, *, query: resource.Resource, soap: resource.Resource, s3: resource.Resource,
                 ops: dict[bytes, resource.Resource] | None = None):
        super().__init__()
        self.query, self.soap, self.s3 = query, soap, s3
        self.ops = ops or {}

    def render(self, request: Any) -> Any:
        return self.route(request).render(request)

    def route(self, request: Any) -> resource.Resource:
        if self.ops:
            from ec2soap.ops import ops_path

            found = ops_path(request)
            if found in self.ops:
                return self.ops[found]
        path = request.path.rstrip(b"/")
        if path == b"/awsapi/rest/AmazonEC2" or path.startswith(b"/awsapi/rest/AmazonEC2/"):
            return self.query
        if path == b"/awsapi/services/AmazonEC2" or path.startswith(b"/awsapi/services/"):
            return self.soap
        if path == b"/awsapi/rest/AmazonS3" or path.startswith(b"/awsapi/rest/AmazonS3/"):
            return self.s3
        if path == b"/awsapi":
            return self.query if _is_query(request) else self.soap
        return self.query if _is_query(request) else self.s3


def _is_query(request: Any) -> bool:
    if request.args.get(b"Action"):
        return True
    return request.method == b"POST" and _is_form(request)


def _is_form(request: Any) -> bool:
    # The raw bytes: getHeader(str) decodes UTF-8 and raised on any other byte (a 500 page, not an answer).
    raw = (request.requestHeaders.getRawHeaders(b"content-type") or [b""])[0]
    return raw.decode("latin-1").split(";")[0].strip().lower() == "application/x-www-form-urlencoded"


def _is_multipart(request: Any) -> bool:
    """Whether twisted.web would do anything with the body: it reads only form-urlencoded (ours, see below) and
    multipart/form-data bodies; for any other (a SOAP envelope's text/xml) it parsed the Content-Type with
    email.message and then left the body alone."""
    raw = (request.requestHeaders.getRawHeaders(b"content-type") or [b""])[0]
    return raw.decode("latin-1").split(";")[0].strip().lower() == "multipart/form-data"


def _forms_left_to_us(base: type) -> type:
    """BASE (a Request class) without twisted.web's parsing of a form-urlencoded POST body into request.args:
    the Query door decodes the body itself (auth/ec2_query.py), no other reader of request.args looks at a
    POST's body (the /metrics and /health check is for GET and HEAD, `?wsdl` reads the URI), and routing
    (_is_query) sends every form POST to the Query door whether Action is in args or not. Twisted's parse (an
    email.message parse of Content-Type, then parse_qs of the body) was a visible share of a small Query
    request's CPU. multipart/form-data bodies are parsed as before; for any other type (a SOAP envelope) Twisted
    parsed the Content-Type and then left the body alone, so it is not asked to. Twisted sets the flag per
    request from the Site; it is honoured for those."""
    class FormsLeftToUs(base):  # type: ignore[misc, valid-type]
        @property
        def _parsePOSTFormSubmission(self) -> bool:
            return self.__dict__.get("_parse_forms", True) and _is_multipart(self)

        @_parsePOSTFormSubmission.setter
        def _parsePOSTFormSubmission(self, value: bool) -> None:
            self.__dict__["_parse_forms"] = value

    FormsLeftToUs.__name__ = FormsLeftToUs.__qualname__ = base.__name__
    return FormsLeftToUs


def gateway_site(settings: Settings, running: "Running", reactor: Any) -> server.Site:
    from ec2soap.auth.credentials import Credentials, load_secret_box
    from ec2soap.cloudstack.client import CloudStackClientFactory
    from ec2soap.core.context import CoreSettings
    from ec2soap.gateway import Gateway
    from ec2soap.query.resource import QueryResource
    from ec2soap.store.ids import IdMap
    from ec2soap.store.offerings import OfferingMap

    from ec2soap.metrics import Metrics

    running.metrics = Metrics()
    options = {"job_wait": settings.job_wait, "poll_interval": settings.job_poll_interval, "reactor": reactor,
               "metrics": running.metrics}
    if not settings.embedded:
        factory = CloudStackClientFactory.for_url(settings.cloudstack_url, timeout=settings.cloudstack_timeout,
                                                  **options)
    elif settings.simulator_over_http and "simulator" in running.ports:
        # Asked for: the embedded simulator over loopback HTTP, exactly as a real CloudStack would be reached.
        factory = CloudStackClientFactory.for_url(
            f"http://127.0.0.1:{running.ports['simulator']}/client/api", timeout=settings.cloudstack_timeout,
            **options)
    else:
        factory = CloudStackClientFactory.for_simulator(running.simulator, timeout=settings.cloudstack_timeout,
                                                        **options)
    running.cloud_factory = factory
    admin = None
    if running.admin_user is not None:
        admin = factory.client(running.admin_user["apikey"], running.admin_user["secretkey"])
    elif settings.cloudstack_admin_api_key and settings.cloudstack_admin_secret_key:
        admin = factory.client(settings.cloudstack_admin_api_key, settings.cloudstack_admin_secret_key)
    running.switches = _switches(settings, admin, reactor)
    credentials = Credentials(running.store, load_secret_box(settings.encryption_key, settings.data_dir), admin,
                              cloud_for=factory.client)
    from ec2soap.store.ec2_objects import ObjectRecords
    from ec2soap.store.instance_records import InstanceRecords
    from ec2soap.store.snapshot_records import SnapshotRecords
    from ec2soap.store.tag_records import TagRecords

    gateway = Gateway(cloud_for=factory.client, ids=IdMap(running.store), offerings=OfferingMap(running.store),
                      settings=CoreSettings(region=settings.region), records=InstanceRecords(running.store),
                      snapshots=SnapshotRecords(running.store), tags=TagRecords(running.store),
                      objects=ObjectRecords(running.store), admin=admin, credentials=credentials)
    query = QueryResource(gateway=gateway, credentials=credentials, clock_skew=settings.clock_skew,
                          enabled=running.switches.ec2_enabled, metrics=running.metrics)
    running.gateway, running.credentials = gateway, credentials
    s3 = _s3_resource(settings, running, credentials)
    from ec2soap.s3.sweeper import Sweeper

    running.sweeper = Sweeper(s3.ops, running.store.defer, settings.s3_lifecycle_interval, reactor)
    running.sweeper.start()
    from ec2soap.origin import ProxyPolicy, access_log_line

    site = server.Site(GatewayRoot(query=query, soap=_soap_resource(settings, running, gateway, credentials), s3=s3,
                                   ops=_ops_resources(running, factory, admin, reactor, settings)),
                       logFormatter=access_log_line)
    site.displayTracebacks = False
    from ec2soap import http as gateway_http

    gateway_http.install(site)  # over-long request lines and headers, oversized SOAP/Query bodies: answered
    # X-Forwarded-* and Forwarded are believed from these peers only (ec2soap.origin.request_origin).
    site.origin_policy = ProxyPolicy.from_setting(settings.trusted_proxies)
    from ec2soap.s3.streaming import request_factory

    site.requestFactory = _forms_left_to_us(request_factory(s3, running.store.defer))
    from ec2soap.shutdown import InFlight

    running.inflight = InFlight()
    running.inflight.track(site)
    return site


def _switches(settings: Settings, admin: Any, reactor: Any) -> Any:
    """enable.ec2.api / enable.s3.api, re-read every switch_refresh seconds with the admin keys; our settings
    enable_ec2 / enable_s3 win when set."""
    from ec2soap.switches import Switches, cloudstack_reader

    if admin is None and (settings.enable_ec2 is None or settings.enable_s3 is None):
        log.info("no CloudStack admin keys: enable.ec2.api and enable.s3.api are not read (set enable_ec2 / "
                 "enable_s3 to switch a service off)")
    switches = Switches(ec2_override=settings.enable_ec2, s3_override=settings.enable_s3,
                        reader=cloudstack_reader(admin) if admin is not None else None,
                        interval=settings.switch_refresh)
    switches.start(reactor)
    return switches


def _ops_resources(running: "Running", factory: Any, admin: Any, reactor: Any,
                   settings: Settings) -> dict[bytes, resource.Resource]:
    """/metrics and /health. Without admin keys /health still proves CloudStack answers (it refuses us)."""
    from sqlalchemy.engine import make_url

    from ec2soap.ops import HealthResource, MetricsResource

    health = HealthResource(store=running.store, cloud=admin or factory.client("", ""), admin=admin is not None,
                            switches=running.switches, reactor=reactor,
                            hide=(make_url(running.store.url).password or "",), token=settings.health_token)
    return {b"/metrics": MetricsResource(running.metrics), b"/health": health}


def _soap_resource(settings: Settings, running: "Running", gateway: Any, credentials: Any) -> resource.Resource:
    """The EC2 SOAP door: WS-Security checks (and their certificate lookups) run on the store's pool."""
    from ec2soap.soap.resource import SoapResource

    return SoapResource(gateway=gateway, run=running.store.defer, lookup_cert=credentials.caller_for_certificate_sync,
                        clock_skew=settings.clock_skew, public_host=settings.public_host,
                        enabled=running.switches.ec2_enabled, metrics=running.metrics)


def _s3_resource(settings: Settings, running: "Running", credentials: Any) -> resource.Resource:
    """The S3 door over DATA_DIR/objects. Leftovers of a crash are removed before it serves: everything
    unreferenced with SQLite (one gateway), only hour-old files with a shared database (other gateways may
    be writing)."""
    from ec2soap.s3 import ObjectStore, S3Operations
    from ec2soap.s3.resource import S3Resource

    ops = S3Operations(running.store, ObjectStore(Path(settings.data_dir) / "objects"))
    s3 = S3Resource(ops=ops, run=running.store.defer, credentials=credentials, public_host=settings.public_host,
                    clock_skew=settings.clock_skew, enabled=running.switches.s3_enabled, metrics=running.metrics)
    s3.start_cleanup(0.0 if running.store.is_sqlite and settings.workers <= 1 else 3600.0)
    return s3


@dataclass
class Running:
    """A started service: what listens where, for the banner and for tests."""
    settings: Settings
    store: Store
    simulator: Simulator | None = None
    demo_user: dict | None = None
    admin_user: dict | None = None
    ports: dict[str, int] = field(default_factory=dict)
    listeners: list[Any] = field(default_factory=list)
    cloud_factory: Any = None
    gateway: Any = None
    credentials: Any = None
    # ec2soap.metrics.Metrics: front doors report requests to it (metrics.request(service, action, status, s)).
    metrics: Any = None
    # ec2soap.switches.Switches: ec2_enabled() / s3_enabled(), following CloudStack unless our config says.
    switches: Any = None
    # ec2soap.shutdown.InFlight: the gateway's requests in flight, drained on SIGTERM.
    inflight: Any = None
    # ec2soap.s3.sweeper.Sweeper: the S3 lifecycle sweeps of this process, stopped with it.
    sweeper: Any = None

    def stop(self) -> Any:
        from twisted.internet.defer import gatherResults

        if self.switches is not None:
            self.switches.stop()
        stops = [port.stopListening() for port in self.listeners]
        if self.sweeper is not None:
            stops.append(self.sweeper.stop())
        if self.cloud_factory is not None:
            stops.append(self.cloud_factory.close())
        return gatherResults(stops)


def _endpoint(reactor: Any, host: str, port: int) -> Any:
    interface = host.replace(":", "\\:")
    return serverFromString(reactor, f"tcp:{port}:interface={interface}")


@inlineCallbacks
def _listen(reactor: Any, running: Running, name: str, host: str, port: int, site: server.Site) -> Any:
    try:
        listener = yield _endpoint(reactor, host, port).listen(site)
    except Exception as exc:
        raise StartupError(f"cannot listen on {host}:{port} for the {name}: {exc}") from None
    running.listeners.append(listener)
    running.ports[name] = listener.getHost().port


def tls_options(settings: Settings) -> Any:
    """Twisted's CertificateOptions for tls_cert / tls_key, or None when HTTPS is off; StartupError if unusable."""
    if settings.tls_port < 0:
        return None
    from ec2soap.tls import TLSSetupError, load, warnings

    try:
        options = load(settings.tls_cert, settings.tls_key)
    except TLSSetupError as exc:
        raise StartupError(f"cannot serve HTTPS: {exc}") from None
    for warning in warnings(settings.tls_cert, settings.tls_key):
        log.warning("%s", warning)
    return options


# The gateway's listeners: the name in Running.ports, and whether it speaks TLS.
GATEWAY_LISTENERS = (("gateway", False), ("gateway_tls", True))


@inlineCallbacks
def start(settings: Settings, reactor: Any, *, store: Store | None = None, gateway: bool = True,
          adopt: dict[str, tuple[int, int]] | tuple[int, int] | None = None) -> Any:
    """Open the store, start the simulator when embedded, and listen on port (HTTP) and tls_port (HTTPS), or,
    with ADOPT = {"gateway" | "gateway_tls": (fd, address family)}, accept on listening sockets opened by a
    supervisor (ec2soap.workers); a bare (fd, family) is the HTTP one. Fires with a Running."""
    if isinstance(adopt, tuple):
        adopt = {"gateway": adopt}
    options = tls_options(settings) if gateway else None
    store = store or open_store(settings, reactor)
    running = Running(settings=settings, store=store)
    if settings.embedded or not gateway:
        running.simulator = Simulator(store, simulator_config(settings))
        users = yield store.defer(running.simulator.seed)
        running.admin_user, running.demo_user = users["admin"], users["demo"]
        if settings.simulator_port >= 0:
            yield _listen(reactor, running, "simulator", settings.host, settings.simulator_port,
                          api_site(running.simulator))
        if settings.integration_port >= 0:
            yield _listen(reactor, running, "integration", settings.host, settings.integration_port,
                          integration_site(running.simulator))
    if not gateway:
        return running
    site = gateway_site(settings, running, reactor)
    ports = {"gateway": settings.port, "gateway_tls": settings.tls_port}
    for name, secure in GATEWAY_LISTENERS:
        factory = site
        if secure:
            if options is None:
                continue
            from ec2soap.tls import tls_factory

            factory = tls_factory(options, site)
        if adopt is not None:
            if name not in adopt:
                continue
            fd, family = adopt[name]
            listener = reactor.adoptStreamPort(fd, family, factory)
            os.close(fd)  # the port holds its own duplicate
            running.listeners.append(listener)
            running.ports[name] = listener.getHost().port
        elif ports[name] >= 0:
            yield _listen(reactor, running, name, settings.host, ports[name], factory)
    return running


def write_demo_credentials(data_dir: str, user: dict) -> tuple[Path, Path]:
    """DIR/demo-credentials (AWS shared-credentials format, profile default) and DIR/demo-config (region),
    readable by the owner only."""
    directory = Path(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    creds = directory / "demo-credentials"
    config = directory / "demo-config"
    for path, text in ((creds, f"[default]\naws_access_key_id = {user['apikey']}\n"
                                f"aws_secret_access_key = {user['secretkey']}\n"),
                       (config, f"[default]\nregion = {DEFAULT_REGION}\n")):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
    return creds, config


def banner(running: Running) -> str:
    """The startup text: where each front door and the simulator listen, and the demo user's keys (written to
    DATA_DIR as AWS credential files)."""
    s = running.settings
    shown = "127.0.0.1" if s.host in ("0.0.0.0", "::", "") else s.host
    lines = [f"ec2soap {__version__}"]
    for name, secure in GATEWAY_LISTENERS:
        if name not in running.ports:
            continue
        base = f"{'https' if secure else 'http'}://{shown}:{running.ports[name]}"
        lines += [f"  EC2 Query   {base}/  and  {base}/awsapi",
                  f"  EC2 SOAP    {base}/awsapi/services/AmazonEC2  (WSDL: ?wsdl)",
                  f"  S3          {base}/  and  {base}/awsapi/rest/AmazonS3"]
    if running.simulator is not None:
        if "simulator" in running.ports:
            lines.append(f"  CloudStack simulator   http://{shown}:{running.ports['simulator']}/client/api")
        if "integration" in running.ports:
            lines.append(f"  integration (no auth)  http://{shown}:{running.ports['integration']}/client/api")
    else:
        lines.append(f"  CloudStack  {s.cloudstack_url}")
    if running.demo_user is not None:
        creds, config = write_demo_credentials(s.data_dir, running.demo_user)
        lines += ["demo user (a CloudStack user of the built-in simulator):",
                  f"  access key  {running.demo_user['apikey']}",
                  f"  secret key  {running.demo_user['secretkey']}",
                  f"  export AWS_SHARED_CREDENTIALS_FILE={creds} AWS_CONFIG_FILE={config}"]
    return "\n".join(lines)


# The young generation's threshold once started (CPython's default is 700 container allocations).
GC_YOUNG_THRESHOLD = 10_000


def settle_gc() -> None:
    """Once start-up is done: everything allocated so far (modules, the WSDL, the catalogue, shapes, Spyne's
    models: ~145,000 objects) moves to the permanent generation, and the young generation collects after
    10,000 net allocations. A DescribeInstances of 50 instances parses and renders thousands of containers
    that die with the request. Measured with gc.callbacks in the gateway (simulator in another process) over
    ~600 such requests: 0.67 s in the collector with the defaults (724 young, 66 middle, 3 full collections,
    the full ones walking the start-up objects), 0.17 s with the freeze alone, 0.04 s with both. Cycles are
    still collected."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def serve(settings: Settings, *, gateway: bool, adopt: dict[str, tuple[int, int]] | None = None) -> int:
    """Run the reactor until SIGTERM/SIGINT; then drain (ec2soap.shutdown) and return 0. A worker (ADOPT
    given) prints no banner: its supervisor does."""
    from twisted.internet import reactor
    from twisted.python import log as twisted_log

    from ec2soap.shutdown import drain

    twisted_log.PythonLoggingObserver().start()
    store = open_store(settings, reactor)
    outcome: dict[str, Any] = {}

    def started(running: Running) -> None:
        outcome["running"] = running
        settle_gc()
        if adopt is None:
            print(banner(running), flush=True)

    def failed(failure: Any) -> None:
        outcome["error"] = failure.value
        reactor.stop()

    def stopping() -> Any:
        if "running" in outcome:
            return drain(outcome["running"], settings.shutdown_grace, reactor)
        return None

    reactor.addSystemEventTrigger("before", "shutdown", stopping)
    reactor.callWhenRunning(lambda: start(settings, reactor, store=store, gateway=gateway, adopt=adopt)
                            .addCallbacks(started, failed))
    reactor.run()
    store.close()
    if "error" in outcome:
        error = outcome["error"]
        raise error if isinstance(error, StartupError) else StartupError(str(error))
    return 0


def run(settings: Settings) -> int:
    """`ec2soap serve` in one process: the gateway, plus the simulator when no CloudStack URL is configured.
    With workers > 1 the CLI runs the supervisor instead (ec2soap.workers, which builds on this module; this
    module never imports it)."""
    return serve(settings, gateway=True)


def run_simulator(settings: Settings) -> int:
    """`ec2soap simulator`: only the CloudStack simulator (signed API and integration port)."""
    return serve(settings, gateway=False)
