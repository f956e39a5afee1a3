"""Simulator public IPs: create-style associate, release, static NAT and its conflicts, limits, isolation, restart."""
from __future__ import annotations

import ipaddress

from ec2soap.cloudstack.simulator import Simulator
from ec2soap.cloudstack.simulator.addresses import release_static_nat_for_vm
from ec2soap.cloudstack.simulator.engine import Caller, Ctx
from tests.conftest import cs
from tests.unit.cloudstack.simulator.compute_world import deploy, new_user, read, undocumented_keys, wait, world


def zone_id(sim):
    status, body = cs(sim, "demo", "listZones")
    assert status == 200 and body.get("zone"), body
    return body["zone"][0]["id"]


def ips(sim, user="demo", **params):
    status, body = cs(sim, user, "listPublicIpAddresses", **params)
    assert status == 200, body
    assert not undocumented_keys("listPublicIpAddresses", body.get("publicipaddress", []))
    return body.get("publicipaddress", [])


def allocate(sim, user="demo", **params):
    params.setdefault("zoneid", zone_id(sim))
    status, body = cs(sim, user, "associateIpAddress", **params)
    assert status == 200, body
    assert set(body) == {"id", "jobid"}
    done = wait(sim, user, body["jobid"])
    assert done["jobstatus"] == 1, done
    return done["jobresult"]["ipaddress"]


def running_vm(sim, user="demo"):
    vm_id, done = deploy(sim, user, world(sim))
    assert done["jobstatus"] == 1, done
    return vm_id


def test_associate_is_create_style(sim):
    zid = zone_id(sim)
    status, body = cs(sim, "demo", "associateIpAddress", zoneid=zid)
    assert status == 200 and set(body) == {"id", "jobid"}
    (pending,) = ips(sim)
    assert pending["id"] == body["id"] and pending["state"] == "Allocating"
    done = wait(sim, "demo", body["jobid"])
    assert done["jobstatus"] == 1 and done["jobinstancetype"] == "IpAddress" and done["jobinstanceid"] == body["id"]
    ip = done["jobresult"]["ipaddress"]
    assert not undocumented_keys("associateIpAddress", ip)
    assert ip["id"] == body["id"] and ip["state"] == "Allocated" and ip["zoneid"] == zid
    assert ip["isstaticnat"] is False and ip["issourcenat"] is False and ip["tags"] == []
    assert ip["account"] == "demo" and ip["domain"] == "ROOT"
    assert ipaddress.IPv4Address("203.0.113.10") <= ipaddress.IPv4Address(ip["ipaddress"]) \
        <= ipaddress.IPv4Address("203.0.113.250")
    (listed,) = ips(sim)
    assert listed["state"] == "Allocated"


def test_addresses_are_unique_and_reused_after_release(sim):
    first, second = allocate(sim), allocate(sim)
    assert first["ipaddress"] != second["ipaddress"]
    assert [i["ipaddress"] for i in ips(sim, ipaddress=second["ipaddress"])] == [second["ipaddress"]]
    status, body = cs(sim, "demo", "disassociateIpAddress", id=first["id"])
    assert status == 200 and set(body) == {"jobid"}
    done = wait(sim, "demo", body["jobid"])
    assert done["jobresult"] == {"success": True} and done["jobinstancetype"] == "IpAddress"
    assert [i["id"] for i in ips(sim)] == [second["id"]]
    third = allocate(sim)
    assert third["ipaddress"] == first["ipaddress"] and third["id"] != first["id"]
    # CloudStack quirk: releasing an address again succeeds.
    status, body = cs(sim, "demo", "disassociateIpAddress", id=first["id"])
    assert wait(sim, "demo", body["jobid"])["jobstatus"] == 1


def test_associate_errors(sim):
    status, body = cs(sim, "demo", "associateIpAddress")
    assert status == 431 and body["errortext"].startswith("Unable to figure out zone to assign IP to")
    status, body = cs(sim, "demo", "associateIpAddress", zoneid="00000000-0000-4000-8000-00000000dead")
    assert status == 431 and "Invalid parameter zoneid value=" in body["errortext"]
    status, body = cs(sim, "demo", "disassociateIpAddress", id="00000000-0000-4000-8000-00000000dead")
    assert status == 431 and "Invalid parameter id value=" in body["errortext"]


def test_ip_limit_is_535(sim):
    alice = new_user(sim, "alice")

    def limit(conn):
        ctx = Ctx(sim, conn, Caller(user={"id": "t"}, account={"id": "t"}), "t", 0)
        account = ctx.get("account", alice["accountid"])
        account["limits"]["ip"] = 1
        ctx.save("account", account)
    sim.store.run_sync(limit)
    allocate(sim, alice)
    status, body = cs(sim, alice, "associateIpAddress", zoneid=zone_id(sim))
    assert status == 535 and body["cserrorcode"] == 4370
    assert body["errortext"] == ("Maximum number of resources of type 'public_ip' for account name=alice in "
                                 "domain id=1 has been exceeded.")
    assert len(ips(sim, alice)) == 1


def test_static_nat_enable_and_disable(sim):
    vm_id = running_vm(sim)
    ip = allocate(sim)
    status, body = cs(sim, "demo", "enableStaticNat", ipaddressid=ip["id"], virtualmachineid=vm_id)
    assert (status, body) == (200, {"success": True})
    (listed,) = ips(sim, isstaticnat="true")
    assert listed["isstaticnat"] is True and listed["virtualmachineid"] == vm_id
    assert listed["virtualmachinename"] and listed["virtualmachinedisplayname"]
    assert ips(sim, isstaticnat="false") == []

    status, body = cs(sim, "demo", "disableStaticNat", ipaddressid=ip["id"])
    assert status == 200 and set(body) == {"jobid"}
    done = wait(sim, "demo", body["jobid"])
    assert done["jobresult"] == {"success": True}
    assert done["jobinstancetype"] == "VirtualMachine" and done["jobinstanceid"] == vm_id
    (listed,) = ips(sim)
    assert listed["isstaticnat"] is False and "virtualmachineid" not in listed
    status, body = cs(sim, "demo", "disableStaticNat", ipaddressid=ip["id"])
    assert status == 431


def test_static_nat_conflicts(sim):
    vm1, vm2 = running_vm(sim), running_vm(sim)
    ip1, ip2 = allocate(sim), allocate(sim)
    assert cs(sim, "demo", "enableStaticNat", ipaddressid=ip1["id"], virtualmachineid=vm1)[0] == 200
    # the same mapping again is accepted
    assert cs(sim, "demo", "enableStaticNat", ipaddressid=ip1["id"], virtualmachineid=vm1)[0] == 200
    status, body = cs(sim, "demo", "enableStaticNat", ipaddressid=ip1["id"], virtualmachineid=vm2)
    assert (status, body["errorcode"], body["cserrorcode"]) == (537, 537, 4360)
    assert body["errortext"].endswith(f"and vm id={vm2} as it's already assigned to antoher vm")
    status, body = cs(sim, "demo", "enableStaticNat", ipaddressid=ip2["id"], virtualmachineid=vm1)
    assert status == 431 and body["errortext"] == (f"Failed to enable static nat for the ip address id={ip2['id']} "
                                                   f"as vm id={vm1} is already associated with ip id={ip1['id']}")
    status, body = cs(sim, "demo", "enableStaticNat", ipaddressid=ip2["id"],
                      virtualmachineid="00000000-0000-4000-8000-00000000dead")
    assert status == 431 and "Invalid parameter virtualmachineid value=" in body["errortext"]


def test_static_nat_needs_an_allocated_ip_and_a_live_vm(sim):
    vm_id = running_vm(sim)
    status, body = cs(sim, "demo", "associateIpAddress", zoneid=zone_id(sim))
    status, err = cs(sim, "demo", "enableStaticNat", ipaddressid=body["id"], virtualmachineid=vm_id)
    assert status == 431 and "not in Allocated state" in err["errortext"]
    wait(sim, "demo", body["jobid"])
    status, destroy = cs(sim, "demo", "destroyVirtualMachine", id=vm_id)
    assert wait(sim, "demo", destroy["jobid"])["jobstatus"] == 1
    status, err = cs(sim, "demo", "enableStaticNat", ipaddressid=body["id"], virtualmachineid=vm_id)
    assert status == 431 and err["errortext"] == (f"Can't enable static nat for the address id={body['id']}, "
                                                  f"invalid virtual machine id specified ({vm_id}).")


def test_destroying_the_vm_and_releasing_the_ip_drop_static_nat(sim):
    vm_id = running_vm(sim)
    ip = allocate(sim)
    cs(sim, "demo", "enableStaticNat", ipaddressid=ip["id"], virtualmachineid=vm_id)
    status, body = cs(sim, "demo", "destroyVirtualMachine", id=vm_id)
    assert wait(sim, "demo", body["jobid"])["jobstatus"] == 1
    (listed,) = ips(sim)
    assert listed["isstaticnat"] is False

    other_vm = running_vm(sim)
    cs(sim, "demo", "enableStaticNat", ipaddressid=ip["id"], virtualmachineid=other_vm)
    status, body = cs(sim, "demo", "disassociateIpAddress", id=ip["id"])
    wait(sim, "demo", body["jobid"])
    gone = read(sim, "ipaddress", ip["id"], removed=True)
    assert gone["isstaticnat"] is False and "virtualmachineid" not in gone
    fresh = allocate(sim)
    assert cs(sim, "demo", "enableStaticNat", ipaddressid=fresh["id"], virtualmachineid=other_vm)[0] == 200

    def release(conn):
        release_static_nat_for_vm(Ctx(sim, conn, Caller(user={"id": "t"}, account={"id": "t"}), "t", 0), other_vm)
    sim.store.run_sync(release)
    assert ips(sim)[0]["isstaticnat"] is False


def test_accounts_are_isolated(sim):
    ip = allocate(sim)
    alice = new_user(sim, "alice")
    assert ips(sim, alice) == []
    status, body = cs(sim, alice, "disassociateIpAddress", id=ip["id"])
    done = wait(sim, alice, body["jobid"])
    assert done["jobstatus"] == 2 and done["jobresult"]["errorcode"] == 531
    assert len(ips(sim)) == 1
    vm_id = running_vm(sim)
    status, body = cs(sim, alice, "enableStaticNat", ipaddressid=ip["id"], virtualmachineid=vm_id)
    assert status == 531 and body["cserrorcode"] == 4365
    alice_ip = allocate(sim, alice)
    status, body = cs(sim, alice, "enableStaticNat", ipaddressid=alice_ip["id"], virtualmachineid=vm_id)
    assert status == 531
    listed = ips(sim, "admin", listall="true")
    assert {i["account"] for i in listed} == {"demo", "alice"}
    assert ips(sim, "admin") == []


def test_state_survives_a_restart(sim):
    vm_id = running_vm(sim)
    ip = allocate(sim)
    cs(sim, "demo", "enableStaticNat", ipaddressid=ip["id"], virtualmachineid=vm_id)
    again = Simulator(sim.store, sim.config)
    again.users = sim.users
    (listed,) = ips(again)
    assert listed["id"] == ip["id"] and listed["virtualmachineid"] == vm_id
