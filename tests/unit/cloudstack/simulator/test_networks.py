"""Simulator advanced-zone networks: VPC tiers (gateway/netmask inside the VPC CIDR, no overlap, ACL), isolated
networks, Allocated → Implemented, update/restart/delete (refused with VMs), VMs with NICs from the tier
(ipaddress, iptonetworklist), listNics, secondary addresses and static NAT of VPC addresses."""
from __future__ import annotations

import pytest

from ec2soap.cloudstack.simulator import Simulator
from ec2soap.cloudstack.simulator.vpcs import ISOLATED_OFFERING, TIER_OFFERING
from tests.conftest import cs
from tests.unit.cloudstack.simulator.compute_world import new_user, undocumented_keys, wait
from tests.unit.cloudstack.simulator.vpc_world import advanced_sim, catalog, fails, make_tier, make_vpc, ok


@pytest.fixture
def asim(store) -> Simulator:
    return advanced_sim(store, job_seconds=0.0)


@pytest.fixture
def c(asim) -> dict:
    return catalog(asim)


@pytest.fixture
def vpc(asim, c) -> dict:
    return make_vpc(asim, "demo", c)


def _tier_error(asim, c, vpc, **params) -> tuple[int, dict]:
    args = {"name": "t", "zoneid": c["zone"]["id"], "vpcid": vpc["id"],
            "networkofferingid": c["offerings"][TIER_OFFERING]["id"], **params}
    return cs(asim, "demo", "createNetwork", **args)


def deploy(asim, c, **params) -> dict:
    return ok(asim, "demo", "deployVirtualMachine", zoneid=c["zone"]["id"], serviceofferingid=c["small"]["id"],
              templateid=c["template"]["id"], **params)["virtualmachine"]


def test_tier_is_created_allocated_with_the_vpc_fields(asim, c, vpc) -> None:
    status, body = cs(asim, "demo", "createNetwork", name="web", displaytext="web tier", zoneid=c["zone"]["id"],
                      vpcid=vpc["id"], networkofferingid=c["offerings"][TIER_OFFERING]["id"], gateway="10.0.1.1",
                      netmask="255.255.255.0", aclid=c["acls"]["default_allow"]["id"])
    assert status == 200 and set(body) == {"network"}
    tier = body["network"]
    assert not undocumented_keys("createNetwork", tier)
    assert (tier["cidr"], tier["gateway"], tier["netmask"], tier["state"], tier["type"]) == \
        ("10.0.1.0/24", "10.0.1.1", "255.255.255.0", "Allocated", "Isolated")
    assert (tier["vpcid"], tier["aclid"], tier["aclname"]) == (vpc["id"], c["acls"]["default_allow"]["id"],
                                                               "default_allow")
    assert tier["networkdomain"] == vpc["networkdomain"] and tier["account"] == "demo"
    listed = cs(asim, "demo", "listNetworks", vpcid=vpc["id"])[1]["network"]
    assert [n["id"] for n in listed] == [tier["id"]]
    assert [n["id"] for n in cs(asim, "demo", "listVPCs")[1]["vpc"][0]["network"]] == [tier["id"]]
    assert cs(asim, "demo", "listNetworks", zoneid=c["zone"]["id"], type="Isolated")[1]["count"] == 1
    assert cs(asim, "demo", "listNetworks", id=tier["id"])[1]["network"][0]["name"] == "web"


def test_tier_cidr_rules(asim, c, vpc) -> None:
    status, body = _tier_error(asim, c, vpc)
    assert (status, body["errortext"]) == (431, "Gateway/netmask are required when create network for VPC")
    status, body = _tier_error(asim, c, vpc, gateway="10.1.0.1", netmask="255.255.255.0")
    assert status == 431 and body["errortext"].startswith("Network cidr 10.1.0.0/24 is not within vpc [VPC [")
    status, body = _tier_error(asim, c, vpc, gateway="10.0.1.0", netmask="255.255.255.0")
    assert status == 431 and "broadcast or network IP" in body["errortext"]
    status, body = _tier_error(asim, c, vpc, gateway="10.0.1.1", netmask="255.0.255.0")
    assert (status, body["errortext"]) == (431, "Invalid netmask")
    make_tier(asim, "demo", c, vpc, gateway="10.0.1.1", netmask="255.255.255.0")
    status, body = _tier_error(asim, c, vpc, gateway="10.0.1.129", netmask="255.255.255.128")
    assert status == 431 and "crosses other network cidr" in body["errortext"] and body["cserrorcode"] == 4350
    status, body = _tier_error(asim, c, vpc, gateway="10.0.2.1", netmask="255.255.255.0",
                               networkofferingid=c["offerings"][ISOLATED_OFFERING]["id"])
    assert (status, body["errortext"]) == (431, "Network offering can't be used for VPC networks")
    status, body = cs(asim, "demo", "createNetwork", name="x", zoneid=c["zone"]["id"],
                      networkofferingid=c["offerings"][TIER_OFFERING]["id"])
    assert (status, body["errortext"]) == (431, "Network offering can be used for VPC networks only")
    other = make_vpc(asim, "demo", c, cidr="172.16.0.0/16", name="other")
    foreign = ok(asim, "demo", "createNetworkACLList", name="theirs", vpcid=other["id"])["networkacllist"]
    status, body = _tier_error(asim, c, vpc, gateway="10.0.2.1", netmask="255.255.255.0", aclid=foreign["id"])
    assert status == 431 and "do not belong to the VPC" in body["errortext"]
    basic = cs(asim, "demo", "listZones")[1]["zone"][0]["id"]
    status, body = _tier_error(asim, c, vpc, gateway="10.0.2.1", netmask="255.255.255.0", zoneid=basic)
    assert status == 431


def test_isolated_network_defaults_and_delete(asim, c) -> None:
    net = ok(asim, "demo", "createNetwork", name="iso", zoneid=c["zone"]["id"],
             networkofferingid=c["offerings"][ISOLATED_OFFERING]["id"])["network"]
    assert (net["cidr"], net["gateway"], net["type"], net["state"]) == ("10.1.1.0/24", "10.1.1.1", "Isolated",
                                                                        "Allocated")
    assert "vpcid" not in net
    status, body = cs(asim, "demo", "updateNetwork", id=net["id"], displaytext="renamed", name="iso2")
    done = wait(asim, "demo", body["jobid"])
    assert done["jobinstancetype"] == "Network" and done["jobresult"]["network"]["name"] == "iso2"
    assert not undocumented_keys("updateNetwork", done["jobresult"]["network"])
    assert ok(asim, "demo", "restartNetwork", id=net["id"]) == {"success": True}
    assert ok(asim, "demo", "deleteNetwork", id=net["id"]) == {"success": True}
    assert cs(asim, "demo", "listNetworks", zoneid=c["zone"]["id"])[1] == {}
    status, body = cs(asim, "demo", "deleteNetwork", id=net["id"])
    assert status == 431


def test_first_vm_implements_the_tier_and_takes_the_address_asked(asim, c, vpc) -> None:
    tier = make_tier(asim, "demo", c, vpc)
    vm = deploy(asim, c, networkids=tier["id"], ipaddress="10.0.1.20")
    assert vm["securitygroup"] == []
    (nic,) = vm["nic"]
    assert (nic["networkid"], nic["ipaddress"], nic["gateway"], nic["netmask"], nic["isdefault"]) == \
        (tier["id"], "10.0.1.20", "10.0.1.1", "255.255.255.0", True)
    assert nic["macaddress"].startswith("02:00:") and nic["secondaryip"] == [] and nic["vpcid"] == vpc["id"]
    assert cs(asim, "demo", "listNetworks", id=tier["id"])[1]["network"][0]["state"] == "Implemented"
    # The next VM gets the first free address; a taken one or one outside the tier is refused.
    second = deploy(asim, c, networkids=tier["id"])
    assert second["nic"][0]["ipaddress"] == "10.0.1.2"
    status, body = cs(asim, "demo", "deployVirtualMachine", zoneid=c["zone"]["id"],
                      serviceofferingid=c["small"]["id"], templateid=c["template"]["id"], networkids=tier["id"],
                      ipaddress="10.0.1.20")
    assert (status, body["cserrorcode"]) == (533, 4320)
    status, body = cs(asim, "demo", "deployVirtualMachine", zoneid=c["zone"]["id"],
                      serviceofferingid=c["small"]["id"], templateid=c["template"]["id"], networkids=tier["id"],
                      ipaddress="10.0.2.5")
    assert status == 431 and "doesn't belong to the network" in body["errortext"]
    status, body = cs(asim, "demo", "deployVirtualMachine", zoneid=c["zone"]["id"],
                      serviceofferingid=c["small"]["id"], templateid=c["template"]["id"],
                      securitygroupnames="default", networkids=tier["id"])
    assert status == 431 and "security group feature is not enabled" in body["errortext"]


def test_iptonetworklist_and_two_tiers(asim, c, vpc) -> None:
    web = make_tier(asim, "demo", c, vpc)
    db = make_tier(asim, "demo", c, vpc, gateway="10.0.2.1", name="db")
    vm = deploy(asim, c, **{"iptonetworklist[0].networkid": web["id"], "iptonetworklist[0].ip": "10.0.1.7",
                            "iptonetworklist[1].networkid": db["id"]})
    assert [(n["networkid"], n["ipaddress"], n["isdefault"], n["deviceid"]) for n in vm["nic"]] == \
        [(web["id"], "10.0.1.7", True, "0"), (db["id"], "10.0.2.2", False, "1")]
    listed = cs(asim, "demo", "listVirtualMachines", id=vm["id"])[1]["virtualmachine"][0]
    assert [n["ipaddress"] for n in listed["nic"]] == ["10.0.1.7", "10.0.2.2"]
    status, body = cs(asim, "demo", "deployVirtualMachine", zoneid=c["zone"]["id"],
                      serviceofferingid=c["small"]["id"], templateid=c["template"]["id"], networkids=web["id"],
                      **{"iptonetworklist[0].networkid": web["id"]})
    assert (status, body["errortext"]) == (431, "ipToNetworkMap can't be specified along with networkIds or "
                                                "ipAddress")
    assert cs(asim, "demo", "listVirtualMachines", networkid=db["id"])[1]["count"] == 1


def test_deploy_without_networks_makes_the_default_isolated_network(asim, c) -> None:
    status, body = cs(asim, "demo", "associateIpAddress", zoneid=c["zone"]["id"])
    assert (status, body["errortext"]) == (431, "Account name=null domain=ROOT doesn't have virtual networks in "
                                                "zone=zone2")
    vm = deploy(asim, c)
    (net,) = cs(asim, "demo", "listNetworks", zoneid=c["zone"]["id"])[1]["network"]
    assert net["name"] == "demo-network" and net["state"] == "Implemented"
    assert vm["nic"][0]["networkid"] == net["id"] and vm["nic"][0]["ipaddress"] == "10.1.1.2"
    # Implementing it gave the network its source NAT address.
    (nat,) = cs(asim, "demo", "listPublicIpAddresses", associatednetworkid=net["id"])[1]["publicipaddress"]
    assert nat["issourcenat"] is True
    again = deploy(asim, c)
    assert again["nic"][0]["networkid"] == net["id"]
    # Without networkid or vpcid an address goes to the account's one isolated network.
    assert ok(asim, "demo", "associateIpAddress", zoneid=c["zone"]["id"])["ipaddress"]["associatednetworkid"] == \
        net["id"]
    ok(asim, "demo", "createNetwork", name="second", zoneid=c["zone"]["id"],
       networkofferingid=c["offerings"][ISOLATED_OFFERING]["id"])
    status, body = cs(asim, "demo", "associateIpAddress", zoneid=c["zone"]["id"])
    assert (status, body["errortext"]) == (431, "Account has more than one isolated network in the zone")
    status, body = cs(asim, "demo", "deployVirtualMachine", zoneid=c["zone"]["id"],
                      serviceofferingid=c["small"]["id"], templateid=c["template"]["id"])
    assert status == 431 and body["errortext"].startswith("More than 1 default Isolated networks")


def test_delete_network_with_vms_fails_in_the_job(asim, c, vpc) -> None:
    tier = make_tier(asim, "demo", c, vpc)
    vm = deploy(asim, c, networkids=tier["id"])
    status, result = fails(asim, "demo", "deleteNetwork", id=tier["id"])
    assert result == {"errorcode": 530, "errortext": "Failed to delete network"}
    ok(asim, "demo", "destroyVirtualMachine", id=vm["id"])
    ok(asim, "admin", "expungeVirtualMachine", id=vm["id"])
    assert ok(asim, "demo", "deleteNetwork", id=tier["id"]) == {"success": True}


def test_secondary_addresses_stop_at_the_per_nic_maximum(asim, c, vpc) -> None:
    """NetworkServiceImpl.allocateSecondaryGuestIP: vm.network.nic.max.secondary.ipaddresses (10), refused as
    AddIpToVmNicCmd.create words it (an InvalidParameterValue)."""
    vm = deploy(asim, c, networkids=make_tier(asim, "demo", c, vpc)["id"])
    for _ in range(10):
        ok(asim, "demo", "addIpToNic", nicid=vm["nic"][0]["id"])
    status, body = cs(asim, "demo", "addIpToNic", nicid=vm["nic"][0]["id"])
    assert (status, body["cserrorcode"], body["errortext"]) == (
        431, 4350, "Allocating guest ip for nic failed : Maximum Number of Ips per Nic has been crossed.")


def test_nics_and_secondary_addresses(asim, c, vpc) -> None:
    tier = make_tier(asim, "demo", c, vpc)
    vm = deploy(asim, c, networkids=tier["id"], ipaddress="10.0.1.10")
    status, body = cs(asim, "demo", "listNics", virtualmachineid=vm["id"])
    assert status == 200 and body["count"] == 1
    nic = body["nic"][0]
    assert not undocumented_keys("listNics", nic)
    assert (nic["ipaddress"], nic["networkid"], nic["isdefault"]) == ("10.0.1.10", tier["id"], True)
    status, body = cs(asim, "demo", "addIpToNic", nicid=nic["id"], ipaddress="10.0.1.11")
    assert status == 200 and set(body) == {"id", "jobid"}
    done = wait(asim, "demo", body["jobid"])
    secondary = done["jobresult"]["nicsecondaryip"]
    assert not undocumented_keys("addIpToNic", secondary)
    assert (secondary["id"], secondary["ipaddress"], secondary["nicid"], secondary["virtualmachineid"]) == \
        (body["id"], "10.0.1.11", nic["id"], vm["id"])
    assert done["jobinstancetype"] == "IpAddress"
    auto = ok(asim, "demo", "addIpToNic", nicid=nic["id"])["nicsecondaryip"]
    assert auto["ipaddress"] == "10.0.1.2"
    # CloudStack 4.18: an address it cannot give (here the primary one) is ServerApiException's 530.
    status, body = cs(asim, "demo", "addIpToNic", nicid=nic["id"], ipaddress="10.0.1.10")
    assert (status, body["cserrorcode"], body["errortext"]) == (530, 9999, "Failed to assign secondary ip to nic")
    status, body = cs(asim, "demo", "addIpToNic", nicid=nic["id"], ipaddress="10.0.2.10")
    assert (status, body["cserrorcode"]) == (530, 9999)
    shown = cs(asim, "demo", "listVirtualMachines", id=vm["id"])[1]["virtualmachine"][0]["nic"][0]
    assert [s["ipaddress"] for s in shown["secondaryip"]] == ["10.0.1.11", "10.0.1.2"]
    # Static NAT from a VPC address to the secondary one, with the tier named.
    ip = ok(asim, "demo", "associateIpAddress", vpcid=vpc["id"])["ipaddress"]
    assert ip["vpcid"] == vpc["id"] and ip["issourcenat"] is False and "associatednetworkid" not in ip
    status, body = cs(asim, "demo", "enableStaticNat", ipaddressid=ip["id"], virtualmachineid=vm["id"])
    assert status == 431 and "Network id is required" in body["errortext"]
    status, body = cs(asim, "demo", "enableStaticNat", ipaddressid=ip["id"], virtualmachineid=vm["id"],
                      networkid=tier["id"], vmguestip="10.0.1.99")
    assert status == 431 and "Invalid vm ip" in body["errortext"]
    assert ok(asim, "demo", "enableStaticNat", ipaddressid=ip["id"], virtualmachineid=vm["id"],
              networkid=tier["id"], vmguestip="10.0.1.11") == {"success": True}
    nat = cs(asim, "demo", "listPublicIpAddresses", id=ip["id"])[1]["publicipaddress"][0]
    assert (nat["isstaticnat"], nat["vmipaddress"], nat["associatednetworkid"], nat["virtualmachineid"]) == \
        (True, "10.0.1.11", tier["id"], vm["id"])
    status, body = cs(asim, "demo", "removeIpFromNic", id=secondary["id"])
    assert status == 431 and "static NAT" in body["errortext"]
    ok(asim, "demo", "disableStaticNat", ipaddressid=ip["id"])
    status, body = cs(asim, "demo", "removeIpFromNic", id=secondary["id"])
    done = wait(asim, "demo", body["jobid"])
    assert done["jobresult"] == {"success": True} and "jobinstancetype" not in done
    shown = cs(asim, "demo", "listNics", virtualmachineid=vm["id"])[1]["nic"][0]
    assert [s["ipaddress"] for s in shown["secondaryip"]] == ["10.0.1.2"]
    assert ok(asim, "demo", "disassociateIpAddress", id=ip["id"]) == {"success": True}
    # Expunging the VM takes its secondary addresses along.
    ok(asim, "demo", "destroyVirtualMachine", id=vm["id"])
    ok(asim, "admin", "expungeVirtualMachine", id=vm["id"])
    status, body = cs(asim, "demo", "removeIpFromNic", id=auto["id"])
    assert (status, body["errortext"]) == (431, "Unable to find secondary ip address by id")
    # The VPC's source NAT address cannot be released.
    (source,) = cs(asim, "demo", "listPublicIpAddresses", issourcenat="true")[1]["publicipaddress"]
    status, result = fails(asim, "demo", "disassociateIpAddress", id=source["id"])
    assert result["errorcode"] == 431 and "source nat" in result["errortext"]


def test_another_account_cannot_use_the_tier_or_nics(asim, c, vpc) -> None:
    tier = make_tier(asim, "demo", c, vpc)
    vm = deploy(asim, c, networkids=tier["id"])
    other = new_user(asim, "intruder")
    assert cs(asim, other, "listNetworks", vpcid=vpc["id"])[1] == {}
    status, body = cs(asim, other, "deployVirtualMachine", zoneid=c["zone"]["id"],
                      serviceofferingid=c["small"]["id"], templateid=c["template"]["id"], networkids=tier["id"])
    assert (status, body["cserrorcode"]) == (531, 4365)
    for command in ("updateNetwork", "deleteNetwork", "restartNetwork"):
        assert cs(asim, other, command, id=tier["id"])[0] == 531, command
    assert cs(asim, other, "listNics", virtualmachineid=vm["id"])[0] == 531
    assert cs(asim, other, "addIpToNic", nicid=vm["nic"][0]["id"])[0] == 531
