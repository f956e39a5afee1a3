"""Simulator resource tags: async create/delete, CloudStack's type names and failures, filters, isolation, restart."""
from __future__ import annotations

from ec2soap.cloudstack.simulator import Simulator
from ec2soap.cloudstack.simulator.engine import Caller, Ctx
from tests.conftest import cs
from tests.unit.cloudstack.simulator.compute_world import new_user, undocumented_keys, wait


def group(sim, name="web", user="demo"):
    status, body = cs(sim, user, "createSecurityGroup", name=name)
    assert status == 200, body
    return body["securitygroup"]["id"]


def tag(sim, resourcetype, ids, user="demo", command="createTags", **pairs):
    params = {"resourcetype": resourcetype, "resourceids": ",".join(ids) if isinstance(ids, list) else ids}
    for i, (key, value) in enumerate(pairs.items()):
        params[f"tags[{i}].key"] = key
        if value is not None:
            params[f"tags[{i}].value"] = value
    status, body = cs(sim, user, command, **params)
    assert status == 200, body
    assert set(body) == {"jobid"}
    return wait(sim, user, body["jobid"])


def listed(sim, user="demo", **params):
    status, body = cs(sim, user, "listTags", **params)
    assert status == 200, body
    assert not undocumented_keys("listTags", body.get("tag", []))
    return body.get("tag", [])


def test_create_list_and_render_on_the_resource(sim):
    web = group(sim)
    done = tag(sim, "SecurityGroup", web, env="prod", team="ops")
    assert done["jobstatus"] == 1 and done["jobresult"] == {"success": True}
    tags = listed(sim)
    assert sorted((t["key"], t["value"]) for t in tags) == [("env", "prod"), ("team", "ops")]
    assert tags[0] == {"key": tags[0]["key"], "value": tags[0]["value"], "resourcetype": "SecurityGroup",
                       "resourceid": web, "account": "demo", "domainid": sim.users["demo"]["domainid"],
                       "domain": "ROOT"}
    _, body = cs(sim, "demo", "listSecurityGroups", id=web)
    assert {(t["key"], t["value"]) for t in body["securitygroup"][0]["tags"]} == {("env", "prod"), ("team", "ops")}
    assert [t["key"] for t in listed(sim, key="env")] == ["env"]
    assert [t["value"] for t in listed(sim, value="ops")] == ["ops"]
    assert [t["key"] for t in listed(sim, keyword="pro")] == ["env"]
    assert len(listed(sim, resourcetype="securitygroup", resourceid=web)) == 2
    assert listed(sim, resourcetype="UserVm") == []


def test_resource_type_is_case_insensitive_and_checked(sim):
    web = group(sim)
    assert tag(sim, "securitygroup", web, env="dev")["jobstatus"] == 1
    assert listed(sim)[0]["resourcetype"] == "SecurityGroup"
    done = tag(sim, "Gadget", web, env="dev")
    assert done["jobstatus"] == 2 and done["jobresultcode"] == 530
    assert done["jobresult"] == {"errorcode": 431, "errortext": "Invalid resource type Gadget"}


def test_unknown_resource_and_empty_value(sim):
    missing = "00000000-0000-4000-8000-00000000dead"
    done = tag(sim, "UserVm", missing, env="dev")
    assert done["jobresult"] == {"errorcode": 431,
                                 "errortext": f"Unable to find resource by id {missing} and type UserVm"}
    web = group(sim)
    done = tag(sim, "SecurityGroup", web, env="")
    assert done["jobresult"] == {"errorcode": 431, "errortext": "Value for the key env is either null or empty"}
    assert listed(sim) == []


def test_duplicate_key_fails_and_nothing_is_half_done(sim):
    web, db = group(sim, "web"), group(sim, "db")
    tag(sim, "SecurityGroup", web, env="prod")
    done = tag(sim, "SecurityGroup", [db, web], ENV="dev")
    assert done["jobstatus"] == 2
    assert done["jobresult"] == {"errorcode": 530, "errortext": f"tag ENV already on SecurityGroup with id {web}"}
    assert [(t["resourceid"], t["value"]) for t in listed(sim)] == [(web, "prod")]


def test_delete_by_key_by_key_and_value_and_all(sim):
    web = group(sim)
    tag(sim, "SecurityGroup", web, a="1", b="2", c="3", d="4")
    assert tag(sim, "SecurityGroup", web, command="deleteTags", a=None)["jobresult"] == {"success": True}
    assert tag(sim, "SecurityGroup", web, command="deleteTags", b="other")["jobstatus"] == 2
    tag(sim, "SecurityGroup", web, command="deleteTags", b="2")
    assert sorted(t["key"] for t in listed(sim)) == ["c", "d"]
    status, body = cs(sim, "demo", "deleteTags", resourcetype="SecurityGroup", resourceids=web)
    assert wait(sim, "demo", body["jobid"])["jobstatus"] == 1
    assert listed(sim) == []
    done = tag(sim, "SecurityGroup", web, command="deleteTags", a=None)
    assert done["jobresult"] == {"errorcode": 431, "errortext":
                                 "Unable to find any tags which conform to specified delete parameters."}


def test_other_resource_kinds(sim):
    status, body = cs(sim, "demo", "listZones")
    zone = body["zone"][0]["id"]
    status, body = cs(sim, "demo", "associateIpAddress", zoneid=zone)
    ip = body["id"]
    wait(sim, "demo", body["jobid"])
    assert tag(sim, "PublicIpAddress", ip, eip="yes")["jobstatus"] == 1
    _, body = cs(sim, "demo", "listPublicIpAddresses", **{"tags[0].key": "eip", "tags[0].value": "yes"})
    assert [i["id"] for i in body["publicipaddress"]] == [ip]
    assert body["publicipaddress"][0]["tags"][0]["key"] == "eip"
    # 4.18 tags no zone, whoever asks (ResourceTag.ResourceObjectType.Zone: resourceTagsSupport false)
    for user in ("demo", "admin"):
        assert tag(sim, "Zone", zone, user=user, env="x")["jobresult"] == {
            "errorcode": 431, "errortext": "The resource type Zone doesn't support resource tags"}
    # rules are tagged through their group's owner
    status, body = cs(sim, "demo", "authorizeSecurityGroupIngress", securitygroupname="default",
                      cidrlist="0.0.0.0/0")
    rule = wait(sim, "demo", body["jobid"])["jobresult"]["securitygroup"]["ingressrule"][0]["ruleid"]
    assert tag(sim, "SecurityGroupRule", rule, note="ssh")["jobstatus"] == 1
    _, body = cs(sim, "demo", "listSecurityGroups", securitygroupname="default")
    assert body["securitygroup"][0]["ingressrule"][0]["tags"][0]["value"] == "ssh"


def test_list_filter_by_tags_is_an_or(sim):
    web, db, misc = group(sim, "web"), group(sim, "db"), group(sim, "misc")
    tag(sim, "SecurityGroup", web, role="web")
    tag(sim, "SecurityGroup", db, role="db")
    tag(sim, "SecurityGroup", misc, owner="me")

    def names(**params):
        _, body = cs(sim, "demo", "listSecurityGroups", **params)
        return sorted(g["name"] for g in body.get("securitygroup", []))
    assert names(**{"tags[0].key": "role", "tags[0].value": "web"}) == ["web"]
    assert names(**{"tags[0].key": "role", "tags[0].value": "web", "tags[1].key": "role",
                    "tags[1].value": "db"}) == ["db", "web"]
    assert names(**{"tags[0].key": "role", "tags[0].value": "nope"}) == []

    def direct(conn):
        ctx = Ctx(sim, conn, Caller(user={"id": "t"}, account={"id": "t"}), "t", 0)
        items = [{"id": web}, {"id": db}, {"id": misc}]
        return ([i["id"] for i in ctx.tags.having(items, "securitygroup", [("role", None)])],
                ctx.tags.filter(items, "SecurityGroup", None) == items,
                ctx.tags.of("SecurityGroup", misc))
    keyed, unfiltered, misc_tags = sim.store.run_sync(direct)
    assert keyed == [web, db] and unfiltered
    assert [(t["key"], t["value"]) for t in misc_tags] == [("owner", "me")]


def test_accounts_are_isolated(sim):
    web = group(sim)
    tag(sim, "SecurityGroup", web, env="prod")
    alice = new_user(sim, "alice")
    assert listed(sim, alice) == []
    done = tag(sim, "SecurityGroup", web, user=alice, env="evil")
    assert done["jobresult"]["errorcode"] == 531
    done = tag(sim, "SecurityGroup", web, user=alice, command="deleteTags", env=None)
    assert done["jobresult"]["errorcode"] == 531
    assert len(listed(sim)) == 1
    assert listed(sim, "admin") == []
    assert [t["account"] for t in listed(sim, "admin", listall="true")] == ["demo"]
    # an admin may tag a user's resource; the tag belongs to the resource's owner
    assert tag(sim, "SecurityGroup", web, user="admin", team="ops")["jobstatus"] == 1
    assert {t["key"] for t in listed(sim)} == {"env", "team"}


def test_deleting_the_resource_drops_its_tags_and_state_survives_a_restart(sim):
    web, db = group(sim, "web"), group(sim, "db")
    tag(sim, "SecurityGroup", [web, db], env="prod")
    assert cs(sim, "demo", "deleteSecurityGroup", id=db)[0] == 200
    again = Simulator(sim.store, sim.config)
    again.users = sim.users
    assert [t["resourceid"] for t in listed(again)] == [web]


def test_types_without_tag_support_are_refused_in_the_job(sim):
    """Every type whose 4.18 resourceTagsSupport flag is false (NICs and ACL lists among them) is refused with
    InvalidParameterValue inside createTags' job, before the resource is even looked up."""
    from ec2soap.cloudstack.simulator.tagging import RESOURCE_TYPES, UNTAGGABLE

    assert UNTAGGABLE < set(RESOURCE_TYPES) and {"Nic", "NetworkACLList", "Zone"} <= UNTAGGABLE
    for resourcetype in sorted(UNTAGGABLE):
        done = tag(sim, resourcetype, "4f6f1c1e-0000-4000-8000-000000000000", env="x")
        assert done["jobresult"] == {"errorcode": 431, "errortext":
                                     f"The resource type {resourcetype} doesn't support resource tags"}, resourcetype
