"""Simulator security groups: default group, create/delete, async authorize/revoke, errors, isolation, persistence."""
from __future__ import annotations

from ec2soap.cloudstack.simulator import Simulator
from tests.conftest import cs
from tests.unit.cloudstack.simulator.compute_world import new_user, put, read, undocumented_keys, wait


def groups(sim, user="demo", **params):
    status, body = cs(sim, user, "listSecurityGroups", **params)
    assert status == 200, body
    assert not undocumented_keys("listSecurityGroups", body.get("securitygroup", []))
    return {g["name"]: g for g in body.get("securitygroup", [])}


def create(sim, name, user="demo", **params):
    status, body = cs(sim, user, "createSecurityGroup", name=name, **params)
    assert status == 200, body
    assert not undocumented_keys("createSecurityGroup", body["securitygroup"])
    return body["securitygroup"]


def authorize(sim, group_id, user="demo", direction="Ingress", **params):
    status, body = cs(sim, user, f"authorizeSecurityGroup{direction}", securitygroupid=group_id, **params)
    assert status == 200, body
    assert set(body) == {"jobid"}
    return wait(sim, user, body["jobid"])


def test_every_account_has_a_default_group(sim):
    found = groups(sim)
    assert list(found) == ["default"]
    default = found["default"]
    assert default["account"] == "demo" and default["domain"] == "ROOT"
    assert default["ingressrule"] == [] and default["egressrule"] == [] and default["tags"] == []
    assert default["virtualmachinecount"] == 0
    other = new_user(sim, "alice")
    assert list(groups(sim, other)) == ["default"]
    assert groups(sim, other)["default"]["id"] != default["id"]


def test_create_and_list(sim):
    web = create(sim, "web", description="web servers")
    assert web["name"] == "web" and web["description"] == "web servers" and web["account"] == "demo"
    status, body = cs(sim, "demo", "listSecurityGroups", securitygroupname="web")
    assert body["count"] == 1 and body["securitygroup"][0]["id"] == web["id"]
    assert groups(sim, id=web["id"]).keys() == {"web"}
    assert groups(sim, keyword="servers").keys() == {"web"}


def test_create_duplicate_and_default_are_431(sim):
    create(sim, "web")
    for name in ("web", "default", "Default"):
        status, body = cs(sim, "demo", "createSecurityGroup", name=name)
        assert status == 431
        assert body == {"uuidList": [], "errorcode": 431, "cserrorcode": 4350,
                        "errortext": f"Unable to create security group, a group with name {name} already exists."}


def test_delete_by_name_and_id(sim):
    create(sim, "a")
    b = create(sim, "b")
    status, body = cs(sim, "demo", "deleteSecurityGroup", name="a")
    assert (status, body) == (200, {"success": True})
    status, body = cs(sim, "demo", "deleteSecurityGroup", id=b["id"])
    assert (status, body) == (200, {"success": True})
    assert list(groups(sim)) == ["default"]
    status, body = cs(sim, "demo", "deleteSecurityGroup", id=b["id"])
    assert status == 431 and "Invalid parameter id value=" in body["errortext"]
    status, body = cs(sim, "demo", "deleteSecurityGroup", name="nope")
    assert status == 431 and body["errortext"].startswith("Unable to find security group by name nope")
    status, body = cs(sim, "demo", "deleteSecurityGroup")
    assert status == 431


def test_default_group_cannot_be_deleted(sim):
    default = groups(sim)["default"]
    status, body = cs(sim, "demo", "deleteSecurityGroup", id=default["id"])
    assert status == 431 and body["errortext"] == "The network group default is reserved"


def test_authorize_ingress_job_result_has_only_new_rules(sim):
    web = create(sim, "web")
    done = authorize(sim, web["id"], protocol="tcp", startport="22", endport="22", cidrlist="0.0.0.0/0")
    assert done["jobstatus"] == 1 and done["jobresultcode"] == 0
    assert done["jobinstancetype"] == "SecurityGroup" and done["jobinstanceid"] == web["id"]
    group = done["jobresult"]["securitygroup"]
    assert not undocumented_keys("createSecurityGroup", group)
    assert group["id"] == web["id"] and group["name"] == "web" and "egressrule" not in group
    (rule,) = group["ingressrule"]
    assert rule["protocol"] == "tcp" and rule["startport"] == 22 and rule["endport"] == 22
    assert rule["cidr"] == "0.0.0.0/0"

    done = authorize(sim, web["id"], protocol="TCP", startport="22", endport="22",
                     cidrlist="0.0.0.0/0,10.0.0.0/8")
    (new,) = done["jobresult"]["securitygroup"]["ingressrule"]
    assert new["cidr"] == "10.0.0.0/8" and new["ruleid"] != rule["ruleid"]
    listed = groups(sim)["web"]
    assert [r["cidr"] for r in listed["ingressrule"]] == ["0.0.0.0/0", "10.0.0.0/8"]
    assert listed["egressrule"] == []


def test_authorize_duplicate_fails_the_job(sim):
    web = create(sim, "web")
    authorize(sim, web["id"], protocol="udp", startport="53", endport="53", cidrlist="10.0.0.0/8")
    done = authorize(sim, web["id"], protocol="udp", startport="53", endport="53", cidrlist="10.0.0.0/8")
    assert done["jobstatus"] == 2 and done["jobresultcode"] == 530
    assert done["jobresult"] == {"errorcode": 530, "errortext": "Failed to authorize security group ingress rule(s)"}


def test_authorize_validation_errors(sim):
    web = create(sim, "web")
    cases = [
        ({"protocol": "icmp", "cidrlist": "0.0.0.0/0"},
         "Invalid ICMP type/code specified, icmpType = null, icmpCode = null"),
        ({"protocol": "icmp", "icmptype": "-1", "icmpcode": "3", "cidrlist": "0.0.0.0/0"}, "Invalid icmp code"),
        ({"protocol": "tcp", "startport": "80", "cidrlist": "0.0.0.0/0"},
         "Invalid port range specified, startPort = 80, endPort = null"),
        ({"protocol": "tcp", "startport": "90", "endport": "80", "cidrlist": "0.0.0.0/0"}, "Invalid port range 90:80"),
        ({"protocol": "tcp", "startport": "1", "endport": "70000", "cidrlist": "0.0.0.0/0"},
         "Invalid port numbers 1:70000"),
        ({"protocol": "gre", "startport": "1", "endport": "2", "cidrlist": "0.0.0.0/0"}, "Invalid protocol gre"),
        ({"protocol": "all", "startport": "1", "endport": "2", "cidrlist": "0.0.0.0/0"},
         "Cannot specify startPort or endPort without specifying protocol"),
        ({"protocol": "tcp", "startport": "1", "endport": "2", "cidrlist": "10.0.0.300/8"},
         "Invalid cidr 10.0.0.300/8"),
        ({"protocol": "tcp", "startport": "1", "endport": "2"},
         "At least one cidr or at least one security group needs to be specified"),
    ]
    for params, text in cases:
        done = authorize(sim, web["id"], **params)
        assert done["jobstatus"] == 2, params
        assert done["jobresult"] == {"errorcode": 431, "errortext": text}
    assert groups(sim)["web"]["ingressrule"] == []


def test_icmp_all_and_numeric_protocols(sim):
    web = create(sim, "web")
    done = authorize(sim, web["id"], protocol="icmp", icmptype="8", icmpcode="0", cidrlist="0.0.0.0/0")
    (rule,) = done["jobresult"]["securitygroup"]["ingressrule"]
    assert (rule["icmptype"], rule["icmpcode"]) == (8, 0) and "startport" not in rule
    done = authorize(sim, web["id"], cidrlist="192.168.0.0/16")
    (rule,) = done["jobresult"]["securitygroup"]["ingressrule"]
    assert rule["protocol"] == "all" and (rule["startport"], rule["endport"]) == (0, 0)
    done = authorize(sim, web["id"], protocol="47", startport="0", endport="0", cidrlist="0.0.0.0/0")
    (rule,) = done["jobresult"]["securitygroup"]["ingressrule"]
    assert rule["protocol"] == "47" and rule["endport"] == 65535


def test_group_rules_and_in_use_by_rules(sim):
    web = create(sim, "web")
    db = create(sim, "db")
    done = authorize(sim, db["id"], protocol="tcp", startport="5432", endport="5432",
                     **{"usersecuritygrouplist[0].account": "demo", "usersecuritygrouplist[0].group": "web"})
    (rule,) = done["jobresult"]["securitygroup"]["ingressrule"]
    assert rule["securitygroupname"] == "web" and rule["account"] == "demo" and "cidr" not in rule
    status, body = cs(sim, "demo", "deleteSecurityGroup", id=web["id"])
    assert status == 536 and body["cserrorcode"] == 4375
    assert body["errortext"] == "Cannot delete group when there are security rules that allow this group"
    done = authorize(sim, db["id"], protocol="tcp", startport="1", endport="2",
                     **{"usersecuritygrouplist[0].account": "demo", "usersecuritygrouplist[0].group": "nope"})
    assert done["jobresult"]["errorcode"] == 431 and "Nonexistent group nope" in done["jobresult"]["errortext"]
    done = authorize(sim, db["id"], protocol="tcp", startport="1", endport="2",
                     **{"usersecuritygrouplist[0].account": "ghost", "usersecuritygrouplist[0].group": "web"})
    assert done["jobresult"]["errortext"].startswith("Nonexistent account: ghost")


def test_authorize_by_name_and_missing_group(sim):
    status, body = cs(sim, "demo", "authorizeSecurityGroupIngress", securitygroupname="default", protocol="tcp",
                      startport="22", endport="22", cidrlist="0.0.0.0/0")
    assert status == 200
    done = wait(sim, "demo", body["jobid"])
    assert done["jobresult"]["securitygroup"]["name"] == "default"
    status, body = cs(sim, "demo", "authorizeSecurityGroupIngress", securitygroupname="nope", cidrlist="0.0.0.0/0")
    assert status == 431 and body["errortext"].startswith("Unable to find security group nope")
    status, body = cs(sim, "demo", "authorizeSecurityGroupIngress", cidrlist="0.0.0.0/0")
    assert status == 431 and "Either securityGroupName or securityGroupId" in body["errortext"]


def test_egress_and_revoke(sim):
    web = create(sim, "web")
    done = authorize(sim, web["id"], direction="Egress", protocol="tcp", startport="443", endport="443",
                     cidrlist="0.0.0.0/0")
    (rule,) = done["jobresult"]["securitygroup"]["egressrule"]
    assert "ingressrule" not in done["jobresult"]["securitygroup"]
    assert groups(sim)["web"]["egressrule"][0]["ruleid"] == rule["ruleid"]

    status, body = cs(sim, "demo", "revokeSecurityGroupIngress", id=rule["ruleid"])
    assert status == 200
    done = wait(sim, "demo", body["jobid"])
    assert done["jobresult"] == {"errorcode": 431,
                                 "errortext": f"Mismatch in rule type for security rule with id {rule['ruleid']}"}
    status, body = cs(sim, "demo", "revokeSecurityGroupEgress", id=rule["ruleid"])
    done = wait(sim, "demo", body["jobid"])
    assert done["jobstatus"] == 1 and done["jobresult"] == {"success": True}
    assert done["jobinstanceid"] == web["id"]
    assert groups(sim)["web"]["egressrule"] == []
    status, body = cs(sim, "demo", "revokeSecurityGroupEgress", id=rule["ruleid"])
    assert status == 431 and "Invalid parameter id value=" in body["errortext"]


def test_group_in_use_by_a_vm_cannot_be_deleted(sim):
    web = create(sim, "web")
    vm = put(sim, "vm", {"name": "vm1", "displayname": "vm1", "state": "Running",
                         "accountid": sim.users["demo"]["accountid"], "_securitygroupids": [web["id"]]},
             account_id=sim.users["demo"]["accountid"])
    listed = groups(sim)["web"]
    assert listed["virtualmachinecount"] == 1 and listed["virtualmachineids"] == [vm["id"]]
    assert groups(sim, virtualmachineid=vm["id"]).keys() == {"web"}
    status, body = cs(sim, "demo", "deleteSecurityGroup", name="web")
    assert (status, body) == (536, {"uuidList": [], "errorcode": 536, "cserrorcode": 4375,
                                    "errortext": "Cannot delete group when it's in use by virtual machines"})

    def expunge(conn):
        from ec2soap.cloudstack.simulator.engine import Caller, Ctx
        ctx = Ctx(sim, conn, Caller(user={"id": "t"}, account={"id": "t"}), "t", 0)
        doc = ctx.get("vm", vm["id"])
        doc["state"] = "Expunging"
        ctx.save("vm", doc)
    sim.store.run_sync(expunge)
    assert cs(sim, "demo", "deleteSecurityGroup", name="web") == (200, {"success": True})


def test_accounts_are_isolated(sim):
    web = create(sim, "web")
    alice = new_user(sim, "alice")
    create(sim, "web", user=alice)  # the same name in another account is fine
    assert list(groups(sim, alice)) == ["default", "web"]
    assert groups(sim, alice)["web"]["id"] != web["id"]
    assert groups(sim, alice, id=web["id"]) == {}
    status, body = cs(sim, alice, "deleteSecurityGroup", id=web["id"])
    assert status == 531 and body["cserrorcode"] == 4365
    done = authorize(sim, web["id"], user=alice, protocol="tcp", startport="1", endport="2", cidrlist="0.0.0.0/0")
    assert done["jobstatus"] == 2 and done["jobresult"]["errorcode"] == 531
    status, body = cs(sim, "demo", "queryAsyncJobResult", jobid=done["jobid"])
    assert status == 531
    status, body = cs(sim, "admin", "listSecurityGroups", listall="true")
    assert {(g["account"], g["name"]) for g in body["securitygroup"]} >= {
        ("demo", "default"), ("demo", "web"), ("alice", "default"), ("alice", "web"), ("admin", "default")}
    status, body = cs(sim, "admin", "listSecurityGroups")
    assert {g["account"] for g in body["securitygroup"]} == {"admin"}
    status, body = cs(sim, "admin", "listSecurityGroups", account="alice")
    assert {g["account"] for g in body["securitygroup"]} == {"alice"}


def test_admin_creates_for_another_account(sim):
    group = create(sim, "ops", user="admin", account="demo", domainid=sim.users["demo"]["domainid"])
    assert group["account"] == "demo"
    assert "ops" in groups(sim)
    status, body = cs(sim, "demo", "createSecurityGroup", name="x", account="admin",
                      domainid=sim.users["demo"]["domainid"])
    assert status == 531


def test_state_survives_a_restart(sim):
    web = create(sim, "web")
    authorize(sim, web["id"], protocol="tcp", startport="80", endport="80", cidrlist="0.0.0.0/0")
    again = Simulator(sim.store, sim.config)
    again.users = sim.users
    listed = groups(again)["web"]
    assert listed["id"] == web["id"] and listed["ingressrule"][0]["startport"] == 80
    assert read(sim, "securitygroup", web["id"])["_ingress"][0]["cidr"] == "0.0.0.0/0"
