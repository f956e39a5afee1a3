"""Simulator advanced zone: the seed (zone, VPC offering, network offerings, default ACL lists), VPCs (create-style
job, source NAT, list filters and pages, update, restart, delete refused while tiers remain), isolation between
accounts and the VPC/network/public IP limits."""
from __future__ import annotations

import ipaddress

import pytest

from ec2soap.cloudstack.simulator import Simulator
from ec2soap.cloudstack.simulator.vpcs import ISOLATED_OFFERING, TIER_OFFERING
from tests.conftest import cs
from tests.unit.cloudstack.simulator.compute_world import new_user, read, undocumented_keys, wait
from tests.unit.cloudstack.simulator.vpc_world import advanced_sim, catalog, fails, make_tier, make_vpc, ok


@pytest.fixture
def asim(store) -> Simulator:
    return advanced_sim(store, job_seconds=0.0)


@pytest.fixture
def c(asim) -> dict:
    return catalog(asim)


def test_the_basic_zone_stays_first_and_alone_without_the_flag(sim) -> None:
    assert [z["name"] for z in cs(sim, "demo", "listZones")[1]["zone"]] == ["zone1"]
    assert cs(sim, "demo", "listVPCOfferings")[1] == {}


def test_seed_has_both_zones_and_the_4_18_catalog(asim, c) -> None:
    zones = cs(asim, "demo", "listZones")[1]["zone"]
    assert [(z["name"], z["networktype"], z["securitygroupsenabled"]) for z in zones] == \
        [("zone1", "Basic", True), ("zone2", "Advanced", False)]
    assert c["zone"]["guestcidraddress"] == "10.1.1.0/24"
    offering = c["vpcoffering"]
    assert not undocumented_keys("listVPCOfferings", offering)
    assert offering["name"] == "Default VPC offering" and offering["state"] == "Enabled" and offering["isdefault"]
    providers = {s["name"]: s["provider"][0]["name"] for s in offering["service"]}
    assert providers["Gateway"] == "PrivateGateway" and providers["NetworkACL"] == "VpcVirtualRouter"
    assert {"SourceNat", "StaticNat", "Dhcp", "Dns", "Lb", "PortForwarding", "UserData", "Vpn"} <= set(providers)
    tier, isolated = c["offerings"][TIER_OFFERING], c["offerings"][ISOLATED_OFFERING]
    assert (tier["forvpc"], tier["guestiptype"], tier["conservemode"]) == (True, "Isolated", False)
    assert (isolated["forvpc"], isolated["guestiptype"], isolated["availability"]) == (False, "Isolated", "Required")
    assert "NetworkACL" in {s["name"] for s in tier["service"]}
    assert "SourceNat" in {s["name"] for s in isolated["service"]}
    assert [o["name"] for o in cs(asim, "demo", "listNetworkOfferings", forvpc="true")[1]["networkoffering"]] == \
        [TIER_OFFERING]
    lists = c["acls"]
    assert {n: a["description"] for n, a in lists.items()} == {
        "default_deny": "Default Network ACL Deny All", "default_allow": "Default Network ACL Allow All"}
    assert all("vpcid" not in a for a in lists.values())
    for name, action in (("default_deny", "Deny"), ("default_allow", "Allow")):
        items = cs(asim, "demo", "listNetworkACLs", aclid=lists[name]["id"])[1]["networkacl"]
        assert [(i["number"], i["traffictype"], i["action"], i["protocol"], i["cidrlist"]) for i in items] == \
            [(1, "Ingress", action, "all", "0.0.0.0/0"), (2, "Egress", action, "all", "0.0.0.0/0")]
    # Templates are ready in both zones: a VM deploys into the advanced zone.
    in_zone = cs(asim, "demo", "listTemplates", templatefilter="featured", zoneid=c["zone"]["id"])[1]["template"]
    assert {t["zonename"] for t in in_zone} == {"zone2"} and all(t["isready"] for t in in_zone)


def test_seed_is_idempotent(asim, store) -> None:
    again = advanced_sim(store)
    assert [z["name"] for z in cs(again, "demo", "listZones")[1]["zone"]] == ["zone1", "zone2"]
    assert cs(again, "demo", "listVPCOfferings")[1]["count"] == 1


def test_create_vpc_is_create_style_and_allocates_source_nat(store) -> None:
    slow = advanced_sim(store)  # jobs take a moment: the immediate answer comes first
    c = catalog(slow)
    status, body = cs(slow, "demo", "createVPC", name="v", displaytext="my vpc", cidr="10.0.0.0/16",
                      zoneid=c["zone"]["id"], vpcofferingid=c["vpcoffering"]["id"])
    assert status == 200 and set(body) == {"id", "jobid"}
    (pending,) = cs(slow, "demo", "listVPCs")[1]["vpc"]
    assert pending["id"] == body["id"] and pending["state"] == "Enabled"
    done = wait(slow, "demo", body["jobid"])
    assert done["jobstatus"] == 1 and done["jobinstancetype"] == "None" and "jobinstanceid" not in done
    vpc = done["jobresult"]["vpc"]
    assert not undocumented_keys("createVPC", vpc)
    assert (vpc["name"], vpc["displaytext"], vpc["cidr"], vpc["zoneid"], vpc["zonename"]) == \
        ("v", "my vpc", "10.0.0.0/16", c["zone"]["id"], "zone2")
    assert vpc["vpcofferingname"] == "Default VPC offering" and vpc["account"] == "demo"
    assert vpc["restartrequired"] is False and vpc["network"] == [] and vpc["tags"] == []
    assert vpc["networkdomain"].endswith("cloud.internal")
    (nat,) = cs(slow, "demo", "listPublicIpAddresses")[1]["publicipaddress"]
    assert nat["issourcenat"] is True and nat["vpcid"] == vpc["id"] and nat["zoneid"] == c["zone"]["id"]
    assert ipaddress.IPv4Address(nat["ipaddress"]) in ipaddress.IPv4Network("198.51.100.0/24")


def test_create_vpc_errors(asim, c) -> None:
    args = {"name": "v", "displaytext": "v", "zoneid": c["zone"]["id"], "vpcofferingid": c["vpcoffering"]["id"]}
    status, body = cs(asim, "demo", "createVPC", cidr="8.8.0.0/16", **args)
    assert (status, body["cserrorcode"], body["errortext"]) == (431, 4350, "Guest Cidr 8.8.0.0/16 is not RFC1918 "
                                                                        "compliant")
    status, body = cs(asim, "demo", "createVPC", cidr="10.0.0.1/16", **args)
    assert status == 431 and body["errortext"] == "Invalid CIDR specified 10.0.0.1/16"
    status, body = cs(asim, "demo", "createVPC", cidr="10.0.0.0/16", **{**args, "zoneid": catalog_basic(asim)})
    assert status == 431 and "Advanced zone" in body["errortext"]
    status, body = cs(asim, "demo", "createVPC", cidr="10.0.0.0/16",
                      **{**args, "vpcofferingid": "00000000-0000-4000-8000-00000000dead"})
    assert status == 431 and body["cserrorcode"] == 9999 and "vpcofferingid" in body["errortext"]
    status, body = cs(asim, "demo", "createVPC", name="v", displaytext="v", zoneid=c["zone"]["id"],
                      vpcofferingid=c["vpcoffering"]["id"])
    assert status == 431 and body["errortext"].endswith("due to missing parameter cidr")


def catalog_basic(sim) -> str:
    return cs(sim, "demo", "listZones")[1]["zone"][0]["id"]


def test_list_vpcs_filters_tags_pages(asim, c) -> None:
    first = make_vpc(asim, "demo", c, name="alpha")
    second = make_vpc(asim, "demo", c, cidr="192.168.0.0/16", name="beta")

    def names(**params) -> list[str]:
        status, body = cs(asim, "demo", "listVPCs", **params)
        assert status == 200, body
        assert not undocumented_keys("listVPCs", body.get("vpc", []))
        return [v["name"] for v in body.get("vpc", [])]
    assert names() == ["alpha", "beta"]
    assert names(id=second["id"]) == ["beta"]
    assert names(name="alpha") == ["alpha"]
    assert names(name="ET") == ["beta"] and names(displaytext="alp") == ["alpha"]  # LIKE %value%
    assert names(cidr="192.168.0.0/16") == ["beta"]
    assert names(zoneid=c["zone"]["id"], state="enabled") == ["alpha", "beta"]
    assert names(keyword="alp") == ["alpha"]
    assert names(supportedservices="NetworkACL,SourceNat") == ["alpha", "beta"]
    assert names(page="2", pagesize="1") == ["beta"]
    assert cs(asim, "demo", "listVPCs", page="1", pagesize="1")[1]["count"] == 2
    ok(asim, "demo", "createTags", resourcetype="Vpc", resourceids=first["id"], **{"tags[0].key": "env",
                                                                                   "tags[0].value": "prod"})
    assert names(**{"tags[0].key": "env", "tags[0].value": "prod"}) == ["alpha"]
    assert cs(asim, "demo", "listVPCs", id=first["id"])[1]["vpc"][0]["tags"][0]["key"] == "env"
    assert cs(asim, "demo", "listVPCs", id="00000000-0000-4000-8000-00000000dead")[0] == 431


def test_update_and_restart(asim, c) -> None:
    vpc = make_vpc(asim, "demo", c)
    status, body = cs(asim, "demo", "updateVPC", id=vpc["id"], name="renamed", displaytext="new text")
    assert status == 200 and set(body) == {"jobid"}
    done = wait(asim, "demo", body["jobid"])
    assert done["jobinstancetype"] == "Vpc" and "jobinstanceid" not in done
    assert (done["jobresult"]["vpc"]["name"], done["jobresult"]["vpc"]["displaytext"]) == ("renamed", "new text")
    assert ok(asim, "demo", "restartVPC", id=vpc["id"], cleanup="true") == {"success": True}
    status, body = cs(asim, "demo", "restartVPC", id=vpc["id"], makeredundant="true", cleanup="false")
    assert status == 431 and "cleanup" in body["errortext"]
    ok(asim, "demo", "restartVPC", id=vpc["id"], makeredundant="true", cleanup="true")
    assert cs(asim, "demo", "listVPCs")[1]["vpc"][0]["redundantvpcrouter"] is True


def test_delete_is_refused_while_tiers_remain(asim, c) -> None:
    vpc = make_vpc(asim, "demo", c)
    tier = make_tier(asim, "demo", c, vpc)
    status, result = fails(asim, "demo", "deleteVPC", id=vpc["id"])
    assert status == 530 and result["errorcode"] == 431
    assert result["errortext"].startswith("Can't delete VPC [VPC [") and "as its used by 1 networks" in \
        result["errortext"]
    assert cs(asim, "demo", "listVPCs")[1]["count"] == 1
    ok(asim, "demo", "deleteNetwork", id=tier["id"])
    status, body = cs(asim, "demo", "deleteVPC", id=vpc["id"])
    done = wait(asim, "demo", body["jobid"])
    assert done["jobresult"] == {"success": True} and done["jobinstancetype"] == "Vpc"
    assert cs(asim, "demo", "listVPCs")[1] == {}
    # Its addresses (the source NAT one) went with it.
    assert cs(asim, "demo", "listPublicIpAddresses")[1] == {}
    assert read(asim, "vpc", vpc["id"]) is None


def test_a_second_account_neither_sees_nor_touches_the_vpc(asim, c) -> None:
    vpc = make_vpc(asim, "demo", c)
    other = new_user(asim, "other")
    assert cs(asim, other, "listVPCs")[1] == {}
    assert cs(asim, other, "listVPCs", listall="true")[1] == {}
    for command in ("updateVPC", "restartVPC", "deleteVPC"):
        status, body = cs(asim, other, command, id=vpc["id"])
        assert (status, body["cserrorcode"]) == (531, 4365), command
    status, body = cs(asim, other, "createNetwork", name="x", zoneid=c["zone"]["id"], vpcid=vpc["id"],
                      networkofferingid=c["offerings"][TIER_OFFERING]["id"], gateway="10.0.9.1",
                      netmask="255.255.255.0")
    assert (status, body["cserrorcode"]) == (531, 4365)
    status, body = cs(asim, other, "associateIpAddress", vpcid=vpc["id"])
    assert (status, body["cserrorcode"]) == (531, 4365)
    status, body = cs(asim, other, "createNetworkACLList", name="x", vpcid=vpc["id"])
    assert (status, body["cserrorcode"]) == (531, 4365)
    # The admin sees every account's with listall.
    assert [v["id"] for v in cs(asim, "admin", "listVPCs", listall="true")[1]["vpc"]] == [vpc["id"]]
    assert cs(asim, "admin", "listVPCs")[1] == {}


def test_vpc_network_and_ip_limits(asim, c) -> None:
    other = new_user(asim, "limited")
    account_id = other["accountid"]

    def limit(resource: str, value: int) -> None:
        def go(conn):
            from ec2soap.cloudstack.simulator.engine import Caller, Ctx
            ctx = Ctx(asim, conn, Caller(user={"id": "t"}, account={"id": "t", "accounttype": 1}), "t", 0)
            account = ctx.get("account", account_id)
            account["limits"][resource] = value
            ctx.save("account", account)
        asim.store.run_sync(go)
    limit("vpc", 1)
    make_vpc(asim, other, c)
    status, body = cs(asim, other, "createVPC", name="v2", displaytext="v2", cidr="10.2.0.0/16",
                      zoneid=c["zone"]["id"], vpcofferingid=c["vpcoffering"]["id"])
    assert (status, body["cserrorcode"]) == (535, 4370)
    assert body["errortext"].startswith("Maximum number of resources of type 'vpc' for account name=limited")
    vpc = cs(asim, other, "listVPCs")[1]["vpc"][0]
    limit("network", 1)
    make_tier(asim, other, c, vpc)
    status, body = cs(asim, other, "createNetwork", name="t2", zoneid=c["zone"]["id"], vpcid=vpc["id"],
                      networkofferingid=c["offerings"][TIER_OFFERING]["id"], gateway="10.0.2.1",
                      netmask="255.255.255.0")
    assert (status, body["cserrorcode"]) == (535, 4370) and "'network'" in body["errortext"]
    limit("ip", 1)  # the source NAT address already counts
    status, body = cs(asim, other, "associateIpAddress", vpcid=vpc["id"])
    assert (status, body["cserrorcode"]) == (535, 4370) and "'public_ip'" in body["errortext"]
    limits = {r["resourcetypename"]: r["max"] for r in cs(asim, other, "listResourceLimits")[1]["resourcelimit"]}
    assert (limits["vpc"], limits["network"], limits["public_ip"]) == (1, 1, 1)
    account = cs(asim, "admin", "listAccounts", name="limited")[1]["account"][0]
    assert (account["vpctotal"], account["networktotal"], account["iptotal"]) == (1, 1, 1)


def test_a_vpc_round_trip_on_every_database(any_store_url, reactor) -> None:
    """Seed, VPC, tier, a VM with a fixed address, an ACL item and the teardown on SQLite, PostgreSQL and
    MariaDB (the state is JSON documents in cs_object: nothing here may depend on one engine; on MariaDB the
    jobs' times need DOUBLE columns, migration 0011, or they fall due up to two minutes late)."""
    from tests.conftest import make_store

    store = make_store(any_store_url, reactor)
    try:
        asim = advanced_sim(store, job_seconds=0.0)
        c = catalog(asim)
        vpc = make_vpc(asim, "demo", c)
        tier = make_tier(asim, "demo", c, vpc, aclid=c["acls"]["default_allow"]["id"])
        vm = ok(asim, "demo", "deployVirtualMachine", zoneid=c["zone"]["id"], serviceofferingid=c["small"]["id"],
                templateid=c["template"]["id"], networkids=tier["id"], ipaddress="10.0.1.9")["virtualmachine"]
        assert vm["nic"][0]["ipaddress"] == "10.0.1.9"
        acl = ok(asim, "demo", "createNetworkACLList", name="l", vpcid=vpc["id"])["networkacllist"]
        ok(asim, "demo", "createNetworkACL", aclid=acl["id"], protocol="tcp", startport="22")
        ok(asim, "demo", "destroyVirtualMachine", id=vm["id"])
        ok(asim, "admin", "expungeVirtualMachine", id=vm["id"])
        ok(asim, "demo", "deleteNetwork", id=tier["id"])
        assert ok(asim, "demo", "deleteVPC", id=vpc["id"]) == {"success": True}
        assert cs(asim, "demo", "listVPCs")[1] == {}
        assert cs(asim, "demo", "listNetworkACLLists", id=acl["id"])[0] == 431
    finally:
        store.close()


def test_list_public_ip_addresses_by_vpcid(asim, c) -> None:
    """ManagementServerImpl.searchForIPAddresses: vpcid names the VPC's addresses only (its source NAT too)."""
    one, two = make_vpc(asim, "demo", c), make_vpc(asim, "demo", c, cidr="10.9.0.0/16", name="vpc2")
    mine = ok(asim, "demo", "associateIpAddress", vpcid=one["id"])["ipaddress"]
    ok(asim, "demo", "associateIpAddress", vpcid=two["id"])
    listed = cs(asim, "demo", "listPublicIpAddresses", vpcid=one["id"])[1]["publicipaddress"]
    assert {a["vpcid"] for a in listed} == {one["id"]} and mine["id"] in {a["id"] for a in listed}
    assert len(cs(asim, "demo", "listPublicIpAddresses")[1]["publicipaddress"]) > len(listed)
