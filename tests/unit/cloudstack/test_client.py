"""The CloudStack client against the simulator, over real HTTP and in-process, and against broken servers.

Every failure must come back as a typed CloudStackError within its bound, never a hang or a raw exception.
"""
from __future__ import annotations

import logging
import socket
import time
from types import SimpleNamespace
from typing import Any, Callable

import pytest
from twisted.internet import defer
from twisted.web import resource, server

from ec2soap.cloudstack.client import (CloudStackClient, CloudStackClientFactory, HttpTransport, InProcessTransport,
                                       encode_params, make_client_factory)
from ec2soap.cloudstack.errors import (CloudStackApiError, CloudStackAuthError, CloudStackBadResponse,
                                       CloudStackJobFailed, CloudStackJobTimeout, CloudStackUnavailable)
from ec2soap.cloudstack.simulator import Simulator, SimulatorConfig, accounts, jobs
from ec2soap.cloudstack.simulator.engine import SUCCESS, SimError
from ec2soap.cloudstack.simulator.http import api_site

TRANSPORTS = ["http", "inprocess"]


def make_factory(kind: str, simulator: Simulator, serve: Callable[[Any], int], reactor: Any,
                 **options: Any) -> CloudStackClientFactory:
    options.setdefault("poll_interval", 0.05)
    options.setdefault("job_wait", 10.0)
    if kind == "http":
        port = serve(api_site(simulator))
        return make_client_factory(f"http://127.0.0.1:{port}/client/api", timeout=10.0, reactor=reactor, **options)
    return make_client_factory(simulator=simulator, timeout=10.0, reactor=reactor, **options)


@pytest.fixture(params=TRANSPORTS)
def factory(request: Any, sim: Simulator, serve: Any, reactor: Any, in_reactor: Any) -> Any:
    made = make_factory(request.param, sim, serve, reactor, page_size=2)
    yield made
    in_reactor(made.close)


def client_for(factory: CloudStackClientFactory, user: dict, **options: Any) -> CloudStackClient:
    if not options:
        return factory.client(user["apikey"], user["secretkey"])
    options = {"job_wait": factory.job_wait, "poll_interval": factory.poll_interval, **options}
    return CloudStackClient(factory.transport, user["apikey"], user["secretkey"], clock=factory.clock, **options)


class Counting:
    """A transport wrapper that records each request's command and page."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.sent: list[tuple[str, str | None]] = []

    def send(self, params: dict[str, str]) -> Any:
        self.sent.append((params["command"], params.get("page")))
        return self.inner.send(params)


def new_account(in_reactor: Any, admin: CloudStackClient, name: str) -> dict:
    return in_reactor(admin.create_account, username=name, password="pw-" + name, email=f"{name}@example.com",
                      firstname=name, lastname="test")


# -- encoding ---------------------------------------------------------------------------------------------------

def test_encode_params() -> None:
    assert encode_params({"startvm": False, "listall": True, "ids": ["a", "b"], "n": 3, "skip": None,
                          "empty": [], "tags": [{"key": "env", "value": "prod"}, {"key": "k", "value": ""}],
                          "details": {"cpuNumber": 2}, "names": {"y", "x"}}) == {
        "startvm": "false", "listall": "true", "ids": "a,b", "n": "3",
        "tags[0].key": "env", "tags[0].value": "prod", "tags[1].key": "k", "tags[1].value": "",
        "details[0].cpuNumber": "2", "names": "x,y"}
    with pytest.raises(ValueError):
        encode_params({"ids": ["a,b", "c"]})
    with pytest.raises(TypeError):
        encode_params({"when": object()})


# -- commands of every kind -----------------------------------------------------------------------------------

def test_list_pages_until_count(factory: Any, sim: Simulator, in_reactor: Any) -> None:
    admin = client_for(factory, sim.users["admin"])
    for i in range(6):
        new_account(in_reactor, admin, f"acct{i}")
    everything = in_reactor(client_for(factory, sim.users["admin"], page_size=500).list_accounts, listall=True)
    names = sorted(a["name"] for a in everything)
    assert names == sorted(["admin", "demo"] + [f"acct{i}" for i in range(6)])

    for page_size, pages in ((2, 4), (3, 3), (8, 1)):  # 8 = 4×2 (count reached) = 3+3+2 (short page) = 8
        counting = Counting(factory.transport)
        client = CloudStackClient(counting, sim.users["admin"]["apikey"], sim.users["admin"]["secretkey"],
                                  page_size=page_size)
        got = in_reactor(client.list_accounts, listall=True)
        assert sorted(a["name"] for a in got) == names
        assert counting.sent == [("listAccounts", str(p)) for p in range(1, pages + 1)], page_size

    # An explicit page is just that page; an empty list ({} on the wire) is [].
    assert len(in_reactor(admin.list_accounts, listall=True, page=4)) == 2
    assert in_reactor(admin.list_accounts, listall=True, page=9) == []
    assert in_reactor(admin.list_accounts, name="nobody") == []
    raw = in_reactor(admin.call, "listAccounts", listall=True)
    assert raw["count"] == 8 and len(raw["account"]) == 8


def test_object_and_success_commands(factory: Any, sim: Simulator, in_reactor: Any) -> None:
    admin = client_for(factory, sim.users["admin"])
    account = new_account(in_reactor, admin, "alice")
    assert account["name"] == "alice" and account["state"] == "enabled"
    (owner,) = account["user"]
    keys = in_reactor(admin.register_user_keys, id=owner["id"])
    assert set(keys) == {"apikey", "secretkey"}
    alice = factory.client(keys["apikey"], keys["secretkey"])
    assert [a["name"] for a in in_reactor(alice.list_accounts)] == ["alice"]

    second = in_reactor(admin.create_user, account="alice", username="bob", password="pw", email="b@example.com",
                        firstname="bob", lastname="test")
    assert second["username"] == "bob"
    assert in_reactor(admin.delete_user, id=second["id"]) is True
    assert [u["username"] for u in in_reactor(admin.list_users, account="alice")] == ["alice"]


def test_async_commands_wait_for_their_jobs(factory: Any, sim: Simulator, in_reactor: Any) -> None:
    admin = client_for(factory, sim.users["admin"])
    account = new_account(in_reactor, admin, "carol")
    user_id = account["user"][0]["id"]

    disabled = in_reactor(admin.disable_user, id=user_id)
    assert disabled["id"] == user_id and disabled["state"] == "disabled"
    locked = in_reactor(admin.disable_account, account="carol", lock=True)
    assert locked["name"] == "carol" and locked["state"] == "locked"

    # The lower level: start gives the immediate answer, wait_job the result (raw without a command).
    started = in_reactor(admin.start, "disableUser", id=user_id)
    assert set(started) == {"jobid"}
    assert in_reactor(admin.wait_job, started["jobid"], command="disableUser")["id"] == user_id
    assert in_reactor(admin.wait_job, started["jobid"])["user"]["id"] == user_id

    assert in_reactor(admin.delete_account, id=account["id"]) is True  # a success job
    assert in_reactor(admin.list_accounts, name="carol") == []


def test_each_caller_uses_its_own_keys_concurrently(factory: Any, sim: Simulator, in_reactor: Any) -> None:
    admin = client_for(factory, sim.users["admin"])
    demo = client_for(factory, sim.users["demo"])
    assert "secret" not in repr(admin) and sim.users["admin"]["secretkey"] not in repr(admin)

    def both() -> Any:
        calls = [admin.list_accounts() if i % 2 == 0 else demo.list_accounts() for i in range(10)]
        return defer.gatherResults(calls, consumeErrors=True)
    results = in_reactor(both)
    assert [[a["name"] for a in r] for r in results] == [["admin"], ["demo"]] * 5


def test_unknown_attribute_is_not_a_command(sim: Simulator) -> None:
    client = CloudStackClient(InProcessTransport(sim), "k", "s")
    with pytest.raises(AttributeError):
        client.launch_rockets
    assert callable(client.list_virtual_machines) and "list_virtual_machines" in dir(client)


def test_secrets_never_reach_the_log(factory: Any, sim: Simulator, in_reactor: Any,
                                     caplog: pytest.LogCaptureFixture) -> None:
    admin = client_for(factory, sim.users["admin"])
    with caplog.at_level(logging.DEBUG):
        in_reactor(admin.list_accounts)
        with pytest.raises(CloudStackApiError):
            in_reactor(admin.disable_account, account="admin", lock=False)
    assert "listAccounts" in caplog.text
    assert sim.users["admin"]["secretkey"] not in caplog.text and "signature" not in caplog.text


# -- other families, when their developers have added them -------------------------------------------------------

def _needs(sim: Simulator, *commands: str) -> None:
    missing = [c for c in commands if c not in sim.commands]
    if missing:
        pytest.skip(f"simulator does not serve {missing} yet")


def test_key_pairs_when_present(factory: Any, sim: Simulator, in_reactor: Any) -> None:
    _needs(sim, "createSSHKeyPair", "listSSHKeyPairs", "deleteSSHKeyPair")
    demo = client_for(factory, sim.users["demo"])
    made = in_reactor(demo.create_ssh_key_pair, name="k1")
    assert made["name"] == "k1" and "PRIVATE KEY" in made["privatekey"]
    assert "k1" in [k["name"] for k in in_reactor(demo.list_ssh_key_pairs)]
    assert in_reactor(demo.delete_ssh_key_pair, name="k1") is True
    assert "k1" not in [k["name"] for k in in_reactor(demo.list_ssh_key_pairs)]


def test_virtual_machines_when_present(factory: Any, sim: Simulator, in_reactor: Any) -> None:
    _needs(sim, "listZones", "listTemplates", "listServiceOfferings", "deployVirtualMachine",
           "listVirtualMachines", "stopVirtualMachine")
    demo = client_for(factory, sim.users["demo"])
    zone = in_reactor(demo.list_zones)[0]
    template = in_reactor(demo.list_templates, templatefilter="executable", zoneid=zone["id"])[0]
    offering = in_reactor(demo.list_service_offerings)[0]
    vm = in_reactor(demo.deploy_virtual_machine, zoneid=zone["id"], templateid=template["id"],
                    serviceofferingid=offering["id"], name="web1")
    assert vm["id"] and vm["state"] == "Running"
    assert [v["id"] for v in in_reactor(demo.list_virtual_machines, id=vm["id"])] == [vm["id"]]
    assert in_reactor(demo.stop_virtual_machine, id=vm["id"])["state"] == "Stopped"


# -- CloudStack errors ----------------------------------------------------------------------------------------------

def test_bad_secret_is_an_auth_error(factory: Any, sim: Simulator, in_reactor: Any) -> None:
    wrong = factory.client(sim.users["admin"]["apikey"], "not-the-secret")
    with pytest.raises(CloudStackAuthError) as caught:
        in_reactor(wrong.list_accounts)
    assert caught.value.errorcode == 401 and caught.value.command == "listAccounts"


def test_command_not_allowed_is_an_auth_error(factory: Any, sim: Simulator, in_reactor: Any) -> None:
    demo = client_for(factory, sim.users["demo"])
    with pytest.raises(CloudStackAuthError) as caught:
        new_account(in_reactor, demo, "eve")
    assert (caught.value.errorcode, caught.value.cserrorcode) == (401, 9999)


def test_parameter_errors_keep_their_codes(factory: Any, sim: Simulator, in_reactor: Any) -> None:
    admin = client_for(factory, sim.users["admin"])
    with pytest.raises(CloudStackApiError) as missing:
        in_reactor(admin.create_user, account="admin", username="x")
    assert (missing.value.errorcode, missing.value.cserrorcode) == (431, 9999)
    assert "missing parameter" in missing.value.errortext
    # disableAccount on the default admin is refused before any job starts (InvalidParameterValue).
    with pytest.raises(CloudStackApiError) as refused:
        in_reactor(admin.disable_account, account="admin", lock=False)
    assert (refused.value.errorcode, refused.value.cserrorcode) == (431, 4350)
    assert not isinstance(refused.value, CloudStackJobFailed)


# A resource family for job outcomes the real families do not produce on demand. It answers two existing async
# commands (the spec must know them): disableUser starts a job that fails, deleteAccount one that takes an hour.
def _failing_job(ctx: Any, p: dict) -> Any:
    return ctx.start_job("test_fail", {}, duration=0.0)


def _slow_job(ctx: Any, p: dict) -> Any:
    return ctx.start_job("test_slow", {}, duration=3600.0)


def _fail(ctx: Any, args: dict) -> Any:
    raise SimError(534, "Resource [Host:7] is unreachable", 4380)


JOB_FAMILY = SimpleNamespace(COMMANDS={"disableUser": _failing_job, "deleteAccount": _slow_job},
                             JOB_ACTIONS={"test_fail": _fail, "test_slow": lambda ctx, args: SUCCESS})


@pytest.fixture
def job_sim(store: Any) -> Simulator:
    simulator = Simulator(store, SimulatorConfig(job_seconds=0.2), families=[accounts, jobs, JOB_FAMILY])
    simulator.users = simulator.seed()
    return simulator


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_failed_job(kind: str, job_sim: Simulator, serve: Any, reactor: Any, in_reactor: Any) -> None:
    admin = client_for(make_factory(kind, job_sim, serve, reactor), job_sim.users["admin"])
    with pytest.raises(CloudStackJobFailed) as caught:
        in_reactor(admin.disable_user, id=job_sim.users["demo"]["id"])
    failed = caught.value
    assert (failed.errorcode, failed.errortext) == (534, "Resource [Host:7] is unreachable")
    assert failed.jobid and failed.command == "disableUser"


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_job_outliving_the_wait_bound(kind: str, job_sim: Simulator, serve: Any, reactor: Any,
                                      in_reactor: Any) -> None:
    factory = make_factory(kind, job_sim, serve, reactor, job_wait=0.3, poll_interval=0.1)
    admin = client_for(factory, job_sim.users["admin"])
    began = time.monotonic()
    with pytest.raises(CloudStackJobTimeout) as caught:
        in_reactor(admin.delete_account, id=job_sim.users["demo"]["accountid"])
    assert time.monotonic() - began < 3
    assert caught.value.jobid and caught.value.command == "deleteAccount" and caught.value.waited >= 0.3


# -- CloudStack down, broken or hanging -----------------------------------------------------------------------------

def _client(url: str, reactor: Any, timeout: float = 5.0, **options: Any) -> CloudStackClient:
    return CloudStackClient(HttpTransport(url, timeout=timeout, reactor=reactor, **options), "key", "secret",
                            clock=reactor)


def test_connection_refused(reactor: Any, in_reactor: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    began = time.monotonic()
    with pytest.raises(CloudStackUnavailable, match="cannot reach"):
        in_reactor(_client(f"http://127.0.0.1:{port}/client/api", reactor).list_zones)
    assert time.monotonic() - began < 3


def test_unknown_host(reactor: Any, in_reactor: Any) -> None:
    began = time.monotonic()
    with pytest.raises(CloudStackUnavailable):
        in_reactor(_client("http://cloudstack.invalid:8080/client/api", reactor, timeout=3.0).list_zones)
    assert time.monotonic() - began < 6


class Canned(resource.Resource):
    """Answers every request with one fixed status, content type and body."""
    isLeaf = True

    def __init__(self, status: int, body: bytes, ctype: str = "application/json"):
        super().__init__()
        self.status, self.body, self.ctype = status, body, ctype

    def render_POST(self, request: Any) -> bytes:
        request.setResponseCode(self.status)
        request.setHeader("Content-Type", self.ctype)
        return self.body


@pytest.mark.parametrize("status, body, ctype, error", [
    (502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html", CloudStackBadResponse),
    (200, b"this is not json", "text/plain", CloudStackBadResponse),
    (200, b"", "application/json", CloudStackBadResponse),
    (200, b"[1, 2]", "application/json", CloudStackBadResponse),
    (200, b'{"listzonesresponse": [1]}', "application/json", CloudStackBadResponse),
    (200, b'{"somethingelse": {"count": 0}}', "application/json", CloudStackBadResponse),
    (200, b'<?xml version="1.0"?><listzonesresponse/>', "text/xml", CloudStackBadResponse),
    (503, b'{"listzonesresponse": {"count": 1}}', "application/json", CloudStackBadResponse),
    (200, b'{"listzonesresponse": {"count": "many", "zone": []}}', "application/json", CloudStackBadResponse),
    (432, b'{"errorresponse": {"uuidList": [], "errorcode": 432, "cserrorcode": 9999, "errortext": "no"}}',
     "application/json", CloudStackApiError),
    (401, b'{"listzonesresponse": {"uuidList": [], "errorcode": 401, "errortext": "unable to verify"}}',
     "application/json", CloudStackAuthError),
])
def test_broken_answers_are_typed(status: int, body: bytes, ctype: str, error: type, serve: Any, reactor: Any,
                                  in_reactor: Any) -> None:
    port = serve(server.Site(Canned(status, body, ctype)))
    with pytest.raises(error) as caught:
        in_reactor(_client(f"http://127.0.0.1:{port}/client/api", reactor).list_zones)
    if error is CloudStackBadResponse:
        assert caught.value.status == status and caught.value.command == "listZones"
    else:
        assert caught.value.errorcode == status


class Stalling(resource.Resource):
    """Hangs before answering ("silent"), or after half a body ("partial"), until switched to "ok"."""
    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.mode = "silent"
        self.held: list[Any] = []
        self.lost: list[Any] = []

    def render_POST(self, request: Any) -> Any:
        if self.mode == "ok":
            request.setHeader("Content-Type", "application/json")
            return b'{"listzonesresponse": {}}'
        request.notifyFinish().addErrback(self.lost.append)
        self.held.append(request)
        if self.mode == "partial":
            request.setHeader("Content-Length", b"1000")
            request.write(b'{"listzonesresponse": {"count"')
        return server.NOT_DONE_YET


@pytest.mark.parametrize("mode", ["silent", "partial"])
def test_hanging_server_times_out_and_frees_the_connection(mode: str, serve: Any, reactor: Any,
                                                           in_reactor: Any) -> None:
    stalling = Stalling()
    stalling.mode = mode
    port = serve(server.Site(stalling))
    # One slot only: if the timed-out request kept it, the next request would queue until its own timeout.
    client = _client(f"http://127.0.0.1:{port}/client/api", reactor, timeout=0.5, max_connections=1)
    began = time.monotonic()
    with pytest.raises(CloudStackUnavailable, match="did not answer within 0.5 s"):
        in_reactor(client.list_zones)
    assert time.monotonic() - began < 2.5
    assert len(stalling.held) == 1
    stalling.mode = "ok"
    assert in_reactor(client.list_zones) == []
    assert len(stalling.lost) == 1  # the stalled request's connection was dropped, not left open


def test_in_process_simulator_crash_is_a_530(in_reactor: Any) -> None:
    broken = SimpleNamespace(handle_deferred=lambda params: defer.fail(RuntimeError("database is gone")))
    client = CloudStackClient(InProcessTransport(broken), "key", "secret")
    with pytest.raises(CloudStackApiError) as caught:
        in_reactor(client.list_zones)
    assert caught.value.errorcode == 530 and "database is gone" not in str(caught.value)


class DropsFirst(resource.Resource):
    """Closes the connection of the first request without answering (a keep-alive connection that died)."""
    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[bytes] = []

    def render_POST(self, request: Any) -> Any:
        self.seen.append(request.args[b"command"][0])
        if len(self.seen) == 1:
            request.transport.abortConnection()
            return server.NOT_DONE_YET
        request.setHeader("Content-Type", "application/json")
        return b'{"listzonesresponse": {}}'


def test_read_only_commands_are_resent_once_after_a_dropped_connection(serve: Any, reactor: Any,
                                                                      in_reactor: Any) -> None:
    drops = DropsFirst()
    port = serve(server.Site(drops))
    assert in_reactor(_client(f"http://127.0.0.1:{port}/client/api", reactor).list_zones) == []
    assert drops.seen == [b"listZones", b"listZones"]


def test_commands_that_change_state_are_never_resent(serve: Any, reactor: Any, in_reactor: Any) -> None:
    drops = DropsFirst()
    port = serve(server.Site(drops))
    with pytest.raises(CloudStackUnavailable, match="cannot reach"):
        in_reactor(_client(f"http://127.0.0.1:{port}/client/api", reactor).delete_ssh_key_pair, name="k")
    assert drops.seen == [b"deleteSSHKeyPair"]


class LosesFirstPoll:
    """A transport wrapper whose first queryAsyncJobResult is lost on the way (CloudStack briefly unreachable)."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.lost = 0

    def send(self, params: dict[str, str]) -> Any:
        if params["command"] == "queryAsyncJobResult" and not self.lost:
            self.lost += 1
            return defer.fail(CloudStackUnavailable("queryAsyncJobResult: connection reset"))
        return self.inner.send(params)


def test_a_lost_poll_does_not_lose_the_job(sim: Simulator, in_reactor: Any) -> None:
    flaky = LosesFirstPoll(InProcessTransport(sim))
    admin = CloudStackClient(flaky, sim.users["admin"]["apikey"], sim.users["admin"]["secretkey"],
                             poll_interval=0.05, job_wait=5.0)
    demo_id = sim.users["demo"]["id"]
    assert in_reactor(admin.disable_user, id=demo_id)["state"] == "disabled"
    assert flaky.lost == 1


def test_job_outcomes() -> None:
    from ec2soap.cloudstack.client import PENDING, job_outcome

    assert job_outcome("deployVirtualMachine", {"jobid": "j", "jobstatus": 0}) is PENDING
    assert job_outcome("deployVirtualMachine", {"jobstatus": "1", "jobresult": {"virtualmachine": {"id": "v"}}}) \
        == {"id": "v"}
    assert job_outcome("createTags", {"jobstatus": 1, "jobresult": {"success": "true"}}) is True
    with pytest.raises(CloudStackJobFailed) as failed:
        job_outcome("stopVirtualMachine", {"jobid": "j", "jobstatus": 2, "jobresultcode": 530,
                                           "jobresult": {"errorcode": 431, "errortext": "bad state"}})
    assert (failed.value.errorcode, failed.value.errortext, failed.value.jobid) == (431, "bad state", "j")
    with pytest.raises(CloudStackJobFailed, match="cancelled"):
        job_outcome("stopVirtualMachine", {"jobid": "j", "jobstatus": 3})
    with pytest.raises(CloudStackBadResponse):
        job_outcome("stopVirtualMachine", {"jobid": "j"})
    with pytest.raises(CloudStackBadResponse):
        job_outcome("stopVirtualMachine", {"jobid": "j", "jobstatus": 1, "jobresult": {"a": {}, "b": {}}})


def test_the_cs_client_and_ours_see_the_same_simulator(sim: Simulator, serve: Any, reactor: Any,
                                                       in_reactor: Any) -> None:
    """The PyPI cs client (blocking, run from this thread while the reactor serves) as a second opinion."""
    from cs import CloudStack

    factory = make_factory("http", sim, serve, reactor)
    url = factory.transport.url
    admin = sim.users["admin"]
    ours = in_reactor(client_for(factory, admin).list_users, listall=True)
    theirs = CloudStack(endpoint=url, key=admin["apikey"], secret=admin["secretkey"], method="post",
                        timeout=10).listUsers(listall=True, fetch_list=True)
    assert sorted(u["id"] for u in ours) == sorted(u["id"] for u in theirs)
    in_reactor(factory.close)


def test_security_groups_and_tags_when_present(factory: Any, sim: Simulator, in_reactor: Any) -> None:
    """Map parameters (tags[i].key), list parameters (cidrlist, resourceids) and object/success jobs."""
    _needs(sim, "createSecurityGroup", "authorizeSecurityGroupIngress", "deleteSecurityGroup", "createTags",
           "listTags", "deleteTags")
    demo = client_for(factory, sim.users["demo"])
    group = in_reactor(demo.create_security_group, name="web", description="web servers")
    assert group["name"] == "web"
    rules = in_reactor(demo.authorize_security_group_ingress, securitygroupid=group["id"], protocol="tcp",
                       startport=22, endport=22, cidrlist=["10.0.0.0/8", "192.168.0.0/16"])
    assert rules["id"] == group["id"]
    assert sorted(r["cidr"] for r in rules["ingressrule"]) == ["10.0.0.0/8", "192.168.0.0/16"]
    assert in_reactor(demo.create_tags, resourcetype="SecurityGroup", resourceids=[group["id"]],
                      tags=[{"key": "env", "value": "prod"}, {"key": "team", "value": "a b+c"}]) is True
    tags = in_reactor(demo.list_tags, resourceid=group["id"])
    assert sorted((t["key"], t["value"]) for t in tags) == [("env", "prod"), ("team", "a b+c")]
    assert in_reactor(demo.delete_tags, resourcetype="SecurityGroup", resourceids=[group["id"]],
                      tags=[{"key": "env"}]) is True
    assert [t["key"] for t in in_reactor(demo.list_tags, resourceid=group["id"])] == ["team"]
    assert in_reactor(demo.delete_security_group, id=group["id"]) is True
