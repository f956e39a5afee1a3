"""Simulator network ACL lists and items, and static routes on a private gateway (CloudStack 4.18's
NetworkACLServiceImpl and VpcManagerImpl rules; protocol.md §15.5)."""
from __future__ import annotations

import pytest

from ec2soap.cloudstack.simulator import Simulator
from tests.conftest import cs
from tests.unit.cloudstack.simulator.compute_world import new_user, undocumented_keys, wait
from tests.unit.cloudstack.simulator.vpc_world import (advanced_sim, catalog, fails, make_tier, make_vpc, ok,
                                                       private_gateway)


@pytest.fixture
def asim(store) -> Simulator:
    return advanced_sim(store, job_seconds=0.0)


@pytest.fixture
def c(asim) -> dict:
    return catalog(asim)


@pytest.fixture
def vpc(asim, c) -> dict:
    return make_vpc(asim, "demo", c)


def acl_list(asim, vpc, name="web") -> dict:
    return ok(asim, "demo", "createNetworkACLList", name=name, description="for web", vpcid=vpc["id"])[
        "networkacllist"]


def test_list_create_and_list_with_the_defaults(asim, c, vpc) -> None:
    status, body = cs(asim, "demo", "createNetworkACLList", name="web", vpcid=vpc["id"])
    assert status == 200 and set(body) == {"id", "jobid"}
    done = wait(asim, "demo", body["jobid"])
    assert done["jobinstancetype"] == "NetworkAcl" and "jobinstanceid" not in done
    made = done["jobresult"]["networkacllist"]
    assert not undocumented_keys("createNetworkACLList", made)
    assert (made["id"], made["name"], made["description"], made["vpcid"], made["vpcname"]) == \
        (body["id"], "web", "web", vpc["id"], "vpc1")
    listed = cs(asim, "demo", "listNetworkACLLists", vpcid=vpc["id"])[1]["networkacllist"]
    assert [a["name"] for a in listed] == ["default_deny", "default_allow", "web"]
    assert [a["name"] for a in cs(asim, "demo", "listNetworkACLLists", name="web")[1]["networkacllist"]] == ["web"]


def test_items_rules_and_defaults(asim, c, vpc) -> None:
    web = acl_list(asim, vpc)
    status, body = cs(asim, "demo", "createNetworkACL", aclid=web["id"], protocol="TCP", startport="80",
                      endport="443", cidrlist="10.0.0.0/8,192.168.1.0/24", action="deny", traffictype="EGRESS",
                      reason="web")
    assert status == 200 and set(body) == {"id", "jobid"}
    done = wait(asim, "demo", body["jobid"])
    assert done["jobinstancetype"] == "NetworkAclItem"
    item = done["jobresult"]["networkacl"]
    assert not undocumented_keys("createNetworkACL", item)
    assert (item["number"], item["protocol"], item["startport"], item["endport"], item["action"],
            item["traffictype"], item["cidrlist"], item["state"], item["aclid"], item["aclname"]) == \
        (1, "tcp", 80, 443, "Deny", "Egress", "10.0.0.0/8,192.168.1.0/24", "Active", web["id"], "web")
    icmp = ok(asim, "demo", "createNetworkACL", aclid=web["id"], protocol="icmp")["networkacl"]
    assert (icmp["number"], icmp["icmptype"], icmp["icmpcode"], icmp["cidrlist"], icmp["action"],
            icmp["traffictype"]) == (2, -1, -1, "0.0.0.0/0", "Allow", "Ingress")
    numbered = ok(asim, "demo", "createNetworkACL", aclid=web["id"], protocol="6", number="10")["networkacl"]
    assert (numbered["number"], numbered["protocol"]) == (10, "6")
    refused = [
        ({"protocol": "tcp", "number": "10"}, f"ACL item with number 10 already exists in ACL: {web['id']}"),
        ({"protocol": "gre"}, "Invalid protocol [gre]. Expected one of: [tcp,udp,icmp,all]"),
        ({"protocol": "300"}, "Invalid protocol number: 300"),
        ({"protocol": "tcp", "icmptype": "8"}, "Can specify icmpCode and icmpType for ICMP protocol only"),
        ({"protocol": "icmp", "startport": "22"}, "Can't specify start/end port when protocol is ICMP"),
        ({"protocol": "all", "startport": "1", "endport": "2"},
         "start port and end port must be null if protocol = 'all'"),
        ({"protocol": "tcp", "startport": "90", "endport": "80"},
         "Start port can't be bigger than end port [startport=90,endport=80]"),
        ({"protocol": "tcp", "startport": "70000"}, "Start public port is an invalid value: 70000"),
        ({"protocol": "tcp", "action": "drop"}, "Invalid action [drop]. Permitted actions are Allow and Deny"),
        ({"protocol": "tcp", "number": "0"}, "Invalid number [0]. Number cannot be < 1"),
        ({"protocol": "icmp", "icmptype": "300"}, "Invalid icmp type [300]. It should belong to [0-255] range"),
    ]
    for params, text in refused:
        status, body = cs(asim, "demo", "createNetworkACL", aclid=web["id"], **params)
        assert (status, body["errortext"]) == (431, text), params
    status, body = cs(asim, "demo", "createNetworkACL", aclid=web["id"], protocol="tcp", cidrlist="10.0.0/8")
    assert (status, body["cserrorcode"], body["errortext"]) == (431, 9999, "Source cidrs formatting error 10.0.0/8")
    status, body = cs(asim, "demo", "createNetworkACL", protocol="tcp")
    assert (status, body["errortext"]) == (431, "Cannot create Network ACL Item. ACL Id or network Id is required")
    for name in ("default_deny", "default_allow"):
        status, body = cs(asim, "demo", "createNetworkACL", aclid=c["acls"][name]["id"], protocol="tcp")
        assert (status, body["errortext"]) == (431, "Default ACL cannot be modified")
    default_item = cs(asim, "demo", "listNetworkACLs", aclid=c["acls"]["default_deny"]["id"])[1]["networkacl"][0]
    status, body = cs(asim, "demo", "deleteNetworkACL", id=default_item["id"])
    assert (status, body["errortext"]) == (431, "ACL Items in default ACL cannot be deleted")
    listed = cs(asim, "demo", "listNetworkACLs", aclid=web["id"])[1]["networkacl"]
    assert [i["number"] for i in listed] == [1, 2, 10]
    assert [i["number"] for i in cs(asim, "demo", "listNetworkACLs", aclid=web["id"],
                                    traffictype="egress")[1]["networkacl"]] == [1]


def test_update_and_delete_items(asim, c, vpc) -> None:
    web = acl_list(asim, vpc)
    item = ok(asim, "demo", "createNetworkACL", aclid=web["id"], protocol="tcp", startport="22")["networkacl"]
    assert item["endport"] == 22
    status, body = cs(asim, "demo", "updateNetworkACLItem", id=item["id"], endport="23", action="Deny",
                      number="5")
    assert status == 200 and set(body) == {"jobid"}
    done = wait(asim, "demo", body["jobid"])
    changed = done["jobresult"]["networkacl"]
    assert (changed["startport"], changed["endport"], changed["action"], changed["number"]) == (22, 23, "Deny", 5)
    status, body = cs(asim, "demo", "updateNetworkACLItem", id=item["id"], protocol="icmp")
    assert (status, body["errortext"]) == (431, "Can't specify start/end port when protocol is ICMP")
    assert ok(asim, "demo", "deleteNetworkACL", id=item["id"]) == {"success": True}
    assert cs(asim, "demo", "listNetworkACLs", aclid=web["id"])[1] == {}


def test_tier_acl_replace_and_list_delete(asim, c, vpc) -> None:
    web = acl_list(asim, vpc)
    tier = make_tier(asim, "demo", c, vpc)
    assert "aclid" not in tier
    # An item for the tier itself makes the tier's own list first.
    item = ok(asim, "demo", "createNetworkACL", networkid=tier["id"], protocol="udp", startport="53")["networkacl"]
    assert item["aclname"] == f"VPC_vpc1_Tier_tier1_ACL_{tier['id']}"
    shown = cs(asim, "demo", "listNetworks", id=tier["id"])[1]["network"][0]
    assert shown["aclid"] == item["aclid"]
    assert [i["id"] for i in cs(asim, "demo", "listNetworkACLs", networkid=tier["id"])[1]["networkacl"]] == \
        [item["id"]]
    status, body = cs(asim, "demo", "replaceNetworkACLList", aclid=web["id"], networkid=tier["id"])
    done = wait(asim, "demo", body["jobid"])
    assert done["jobresult"] == {"success": True} and "jobinstancetype" not in done
    assert cs(asim, "demo", "listNetworks", id=tier["id"])[1]["network"][0]["aclname"] == "web"
    status, result = fails(asim, "demo", "replaceNetworkACLList", aclid=web["id"])
    assert result == {"errorcode": 530, "errortext": "Network ID and private gateway can't be null at the same time"}
    status, result = fails(asim, "demo", "deleteNetworkACLList", id=web["id"])
    assert result["errorcode"] == 530 and result["errortext"] == \
        f"ACL is still associated with 1 tier(s). Cannot delete network ACL: {web['id']}"
    status, body = cs(asim, "demo", "deleteNetworkACLList", id=c["acls"]["default_allow"]["id"])
    assert (status, body["errortext"]) == (431, "Default ACL cannot be removed")
    ok(asim, "demo", "replaceNetworkACLList", aclid=c["acls"]["default_deny"]["id"], networkid=tier["id"])
    assert ok(asim, "demo", "deleteNetworkACLList", id=web["id"]) == {"success": True}
    assert [a["name"] for a in cs(asim, "demo", "listNetworkACLLists", vpcid=vpc["id"])[1]["networkacllist"]] == \
        ["default_deny", "default_allow", item["aclname"]]


def test_another_account_cannot_see_or_change_acls(asim, c, vpc) -> None:
    web = acl_list(asim, vpc)
    item = ok(asim, "demo", "createNetworkACL", aclid=web["id"], protocol="all")["networkacl"]
    other = new_user(asim, "eve")
    assert [a["name"] for a in cs(asim, other, "listNetworkACLLists")[1]["networkacllist"]] == \
        ["default_deny", "default_allow"]
    assert item["id"] not in [i["id"] for i in cs(asim, other, "listNetworkACLs")[1]["networkacl"]]
    assert cs(asim, other, "createNetworkACL", aclid=web["id"], protocol="all")[0] == 531
    assert cs(asim, other, "updateNetworkACLItem", id=item["id"], action="deny")[0] == 531
    assert cs(asim, other, "deleteNetworkACL", id=item["id"])[0] == 531
    assert cs(asim, other, "deleteNetworkACLList", id=web["id"])[0] == 531


def test_static_routes_need_a_ready_private_gateway(asim, c, vpc) -> None:
    status, body = cs(asim, "demo", "createStaticRoute", gatewayid=vpc["id"], cidr="172.16.0.0/16")
    assert (status, body["cserrorcode"]) == (431, 9999) and "gatewayid" in body["errortext"]
    assert cs(asim, "demo", "listPrivateGateways")[1] == {}
    gateway = private_gateway(asim, vpc)
    listed = cs(asim, "demo", "listPrivateGateways", vpcid=vpc["id"])[1]["privategateway"]
    assert [g["id"] for g in listed] == [gateway["id"]] and not undocumented_keys("listPrivateGateways", listed)
    status, body = cs(asim, "demo", "createStaticRoute", gatewayid=gateway["id"], cidr="172.16.0.0/16")
    assert status == 200 and set(body) == {"id", "jobid"}
    done = wait(asim, "demo", body["jobid"])
    assert (done["jobinstancetype"], done["jobinstanceid"]) == ("StaticRoute", body["id"])
    route = done["jobresult"]["staticroute"]
    assert not undocumented_keys("createStaticRoute", route)
    assert (route["cidr"], route["gatewayid"], route["vpcid"], route["state"], route["account"]) == \
        ("172.16.0.0/16", gateway["id"], vpc["id"], "Active", "demo")
    for cidr, code, text in (("10.0.5.0/24", 431, "CIDR should be outside of VPC cidr 10.0.0.0/16"),
                             ("172.16.1.0/24", 537, f"New static route cidr conflicts with existing route "
                                                    f"StaticRoute[{route['id']}|172.16.0.0/16|7]"),
                             ("169.254.1.0/24", 431, "CIDR should be outside of link local cidr 169.254.0.0/16"),
                             ("172.17.0.0", 431, "Invalid format for cidr 172.17.0.0")):
        status, body = cs(asim, "demo", "createStaticRoute", gatewayid=gateway["id"], cidr=cidr)
        assert (status, body["errortext"]) == (code, text), cidr
    other = new_user(asim, "mallory")
    assert cs(asim, other, "createStaticRoute", gatewayid=gateway["id"], cidr="172.20.0.0/16")[0] == 531
    assert cs(asim, other, "listStaticRoutes")[1] == {}
    assert cs(asim, other, "deleteStaticRoute", id=route["id"])[0] == 531
    assert [r["id"] for r in cs(asim, "demo", "listStaticRoutes", vpcid=vpc["id"])[1]["staticroute"]] == \
        [route["id"]]
    status, body = cs(asim, "demo", "deleteStaticRoute", id=route["id"])
    done = wait(asim, "demo", body["jobid"])
    assert done["jobresult"] == {"success": True} and "jobinstancetype" not in done
    assert cs(asim, "demo", "listStaticRoutes")[1] == {}
    down = private_gateway(asim, make_vpc(asim, "demo", c, cidr="10.9.0.0/16", name="v2"), state="Allocated")
    status, body = cs(asim, "demo", "createStaticRoute", gatewayid=down["id"], cidr="172.16.0.0/16")
    assert (status, body["errortext"]) == (431, "Gateway is not in the Ready state: Allocated")
