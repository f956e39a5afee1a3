"""Shared fixtures: a migrated store, a seeded simulator, a running reactor, servers on 127.0.0.1:0.

The Twisted reactor runs in one background thread for the whole session (Spyne's interop tests do the same);
tests talk to it with real clients, or hand it work with `in_reactor`.
"""
from __future__ import annotations

import os
import threading
from typing import Any, Callable

# With awscrt installed (a dependency of ours) botocore signs every SigV4 request with the CRT's signer and
# computes CRC32C/CRC64NVME; most boto3 users have no [crt] extra and run botocore's pure-Python signer, so
# that is what the suite drives. botocore reads the switch once, at import (botocore/compat.py HAS_CRT), and
# this conftest is loaded before any test module imports it; the awscli subprocesses inherit it too.
# EC2SOAP_TEST_BOTO_CRT=1 keeps the CRT on: tests/protocol/test_crt_signer.py runs a selection that way.
if os.environ.get("EC2SOAP_TEST_BOTO_CRT") != "1":
    os.environ["BOTO_DISABLE_CRT"] = "true"

import pytest

from ec2soap.cloudstack import signing
from ec2soap.cloudstack.simulator import Simulator, SimulatorConfig
from ec2soap.store import Store

_reactor_thread: threading.Thread | None = None


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """`crt` tests need botocore's CRT, which this run has switched off (see the top of this module)."""
    if os.environ.get("EC2SOAP_TEST_BOTO_CRT") == "1":
        return
    skip = pytest.mark.skip(reason="runs in test_crt_signer's subprocess")
    for item in items:
        if item.get_closest_marker("crt") is not None:
            item.add_marker(skip)


def _start_reactor() -> Any:
    global _reactor_thread
    from twisted.internet import reactor

    if _reactor_thread is None:
        _reactor_thread = threading.Thread(target=reactor.run, kwargs={"installSignalHandlers": False},
                                           name="reactor", daemon=True)
        _reactor_thread.start()
    return reactor


@pytest.fixture(scope="session")
def reactor() -> Any:
    """The global reactor, running in a background thread."""
    return _start_reactor()


@pytest.fixture(scope="session")
def in_reactor(reactor: Any) -> Callable[..., Any]:
    """in_reactor(fn, *args): run fn in the reactor thread and wait for its result (Deferreds and coroutines
    are waited for)."""
    from twisted.internet.defer import ensureDeferred, maybeDeferred
    from twisted.internet.threads import blockingCallFromThread
    import inspect

    def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def run() -> Any:
            result = fn(*args, **kwargs)
            if inspect.iscoroutine(result):
                return ensureDeferred(result)
            return result
        return blockingCallFromThread(reactor, lambda: maybeDeferred(run))
    return call


def make_store(url: str, reactor: Any = None) -> Store:
    store = Store(url, threads=4, reactor=reactor)
    store.migrate()
    return store


@pytest.fixture
def store(tmp_path: Any, reactor: Any) -> Any:
    store = make_store(f"sqlite:///{tmp_path}/ec2soap.db", reactor)
    yield store
    store.close()


@pytest.fixture
def sim_config() -> SimulatorConfig:
    return SimulatorConfig(job_seconds=0.2, expunge_seconds=1.0)


@pytest.fixture
def sim(store: Store, sim_config: SimulatorConfig) -> Simulator:
    simulator = Simulator(store, sim_config)
    simulator.users = simulator.seed()
    return simulator


def signed(user: dict, **params: Any) -> dict:
    """PARAMS plus apiKey, response=json and the signature, as a CloudStack client sends them."""
    params = {k: str(v) for k, v in params.items()}
    params.setdefault("response", "json")
    params["apiKey"] = user["apikey"]
    params["signature"] = signing.sign(params, user["secretkey"])
    return params


def cs(sim: Simulator, user: dict | str, command: str, **params: Any) -> tuple[int, dict]:
    """Call the simulator in-process as USER ("admin", "demo" or a user dict): (status, inner body)."""
    if isinstance(user, str):
        user = sim.users[user]
    status, body = sim.handle(signed(user, command=command, **params))
    (_, inner), = body.items()
    return status, inner


@pytest.fixture
def serve(reactor: Any, in_reactor: Callable[..., Any]) -> Callable[[Any], int]:
    """serve(site) → port: listen on 127.0.0.1:0 for this test."""
    ports: list[Any] = []

    def listen(site: Any) -> int:
        port = in_reactor(lambda: reactor.listenTCP(0, site, interface="127.0.0.1"))
        ports.append(port)
        return port.getHost().port

    yield listen
    for port in ports:
        in_reactor(port.stopListening)


def database_urls() -> list[Any]:
    """SQLite always; PostgreSQL and MariaDB when their URLs are set (CI sets both and must not skip)."""
    urls = [pytest.param("sqlite", id="sqlite")]
    for name, var in (("postgresql", "EC2SOAP_TEST_POSTGRESQL_URL"), ("mysql", "EC2SOAP_TEST_MYSQL_URL")):
        urls.append(pytest.param(name, id=name, marks=getattr(pytest.mark, name)))
    return urls


def engine_url(engine: str, tmp_path: Any, add_finalizer: Callable[[Callable[[], None]], Any]) -> str:
    """A fresh, empty database of ENGINE (sqlite: a file under TMP_PATH; postgresql, mysql: an own schema,
    dropped by the finalizer given to ADD_FINALIZER). Skipped when its server is not named, failed in CI."""
    if engine == "sqlite":
        return f"sqlite:///{tmp_path}/store.db"
    var = {"postgresql": "EC2SOAP_TEST_POSTGRESQL_URL", "mysql": "EC2SOAP_TEST_MYSQL_URL"}[engine]
    base = os.environ.get(var)
    if not base:
        if os.environ.get("CI"):
            pytest.fail(f"{var} must be set in CI")
        pytest.skip(f"{var} not set")
    from tests.dbs import fresh_database

    url, drop = fresh_database(base)
    add_finalizer(drop)
    return url


@pytest.fixture(params=database_urls())
def any_store_url(request: Any, tmp_path: Any) -> str:
    """A fresh, empty database of each kind: SQLite file, PostgreSQL and MariaDB (own schema per test)."""
    return engine_url(request.param, tmp_path, request.addfinalizer)
