"""Test helpers for the advanced-zone families: a simulator with the Advanced zone seeded, its catalog by name,
VPCs and tiers made through the API, and the private gateway an operator would create (createPrivateGateway is
a root-admin command the reference does not hold, so the test harness inserts it as the operator's setup)."""
from __future__ import annotations

import time
from typing import Any, Callable

from ec2soap.cloudstack.simulator import Simulator, SimulatorConfig
from ec2soap.cloudstack.simulator.vpcs import ADVANCED_ZONE, TIER_OFFERING
from tests.conftest import cs
from tests.unit.cloudstack.simulator.compute_world import JOB, put, read, wait

Call = Callable[..., dict]


def advanced_sim(store: Any, job_seconds: float = JOB) -> Simulator:
    sim = Simulator(store, SimulatorConfig(job_seconds=job_seconds, expunge_seconds=1.0, advanced_zone=True))
    sim.users = sim.seed()
    return sim


def ok(sim: Simulator, user: Any, command: str, **params: Any) -> dict:
    """COMMAND as USER, expected to succeed; an async one is waited for and its jobresult returned."""
    status, body = cs(sim, user, command, **params)
    assert status == 200, (command, params, body)
    if set(body) <= {"id", "jobid"} and "jobid" in body:
        done = wait(sim, user, body["jobid"])
        assert done["jobstatus"] == 1, (command, done)
        return done["jobresult"]
    return body


def fails(sim: Simulator, user: Any, command: str, **params: Any) -> tuple[int, dict]:
    """COMMAND as USER: (status, error body) when refused at once, (530, jobresult) when its job fails."""
    status, body = cs(sim, user, command, **params)
    if status != 200:
        return status, body
    done = wait(sim, user, body["jobid"])
    assert done["jobstatus"] == 2 and done["jobresultcode"] == 530, (command, done)
    return 530, done["jobresult"]


def catalog(sim: Simulator, user: Any = "demo") -> dict:
    zone = next(z for z in cs(sim, user, "listZones")[1]["zone"] if z["name"] == ADVANCED_ZONE)
    offerings = {o["name"]: o for o in cs(sim, user, "listNetworkOfferings")[1]["networkoffering"]}
    vpc_offering = cs(sim, user, "listVPCOfferings", isdefault="true")[1]["vpcoffering"][0]
    small = next(o for o in cs(sim, user, "listServiceOfferings")[1]["serviceoffering"] if o["name"] == "m1.small")
    template = next(t for t in cs(sim, user, "listTemplates", templatefilter="featured")[1]["template"])
    acls = {a["name"]: a for a in cs(sim, user, "listNetworkACLLists")[1]["networkacllist"]}
    return {"zone": zone, "offerings": offerings, "vpcoffering": vpc_offering, "small": small,
            "template": template, "acls": acls}


def make_vpc(sim: Simulator, user: Any, c: dict, cidr: str = "10.0.0.0/16", name: str = "vpc1") -> dict:
    return ok(sim, user, "createVPC", name=name, displaytext=name, cidr=cidr, zoneid=c["zone"]["id"],
              vpcofferingid=c["vpcoffering"]["id"])["vpc"]


def make_tier(sim: Simulator, user: Any, c: dict, vpc: dict, gateway: str = "10.0.1.1",
              netmask: str = "255.255.255.0", name: str = "tier1", **extra: Any) -> dict:
    return ok(sim, user, "createNetwork", name=name, displaytext=name, zoneid=c["zone"]["id"], vpcid=vpc["id"],
              networkofferingid=c["offerings"][TIER_OFFERING]["id"], gateway=gateway, netmask=netmask,
              **extra)["network"]


def private_gateway(sim: Simulator, vpc: dict, state: str = "Ready") -> dict:
    vpc = read(sim, "vpc", vpc["id"]) or {}
    return put(sim, "privategateway", {
        "gateway": "192.168.50.1", "ipaddress": "192.168.50.10", "netmask": "255.255.255.0",
        "vlan": "vlan://50", "vpcid": vpc["id"], "vpcname": vpc["name"], "zoneid": vpc["zoneid"],
        "zonename": vpc["zonename"], "state": state, "accountid": vpc["accountid"], "account": vpc["account"],
        "domainid": vpc["domainid"], "domain": vpc["domain"], "sourcenatsupported": False,
        "created": time.time(), "_dbid": 7}, account_id=vpc["accountid"])
