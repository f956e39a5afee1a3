"""Conformance: every command the simulator serves, driven once through a real scenario, answers with
CloudStack's envelope for its kind (commands.json `wire`) and only with response fields commands.json
documents for it, recursively (nested objects included)."""
from __future__ import annotations

import time
from typing import Any

import pytest

from ec2soap.cloudstack import spec
from ec2soap.cloudstack.simulator import Simulator, SimulatorConfig
from tests.conftest import signed


def _public_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                         serialization.PublicFormat.OpenSSH).decode()


PUBLIC_KEY = _public_key()


class Recorder:
    """Calls the simulator as a user and keeps every answer, for the checks below."""

    def __init__(self, sim: Simulator):
        self.sim = sim
        self.seen: list[tuple[str, int, dict]] = []

    def send(self, user: dict, command: str, params: dict) -> tuple[int, dict]:
        return self.sim.handle(signed(user, command=command, **params))

    def __call__(self, who: Any, command: str, **params: Any) -> dict:
        user = self.sim.users[who] if isinstance(who, str) else who
        status, body = self.send(user, command, params)
        self.seen.append((command, status, body))
        assert status == 200, (command, params, body)
        (_, inner), = body.items()
        if spec.command(command)["kind"] == "async":
            job = self.wait(user, inner["jobid"])
            assert job["jobstatus"] == 1, (command, job)
            self.seen.append((command + "#job", 200, job))
            return job.get("jobresult", {})
        return inner

    def wait(self, user: dict, jobid: str) -> dict:
        for _ in range(200):
            status, body = self.send(user, "queryAsyncJobResult", {"jobid": jobid})
            self.seen.append(("queryAsyncJobResult", status, body))
            job = body["queryasyncjobresultresponse"]
            if job["jobstatus"] != 0:
                return job
            time.sleep(0.01)
        raise AssertionError(f"job {jobid} never finished")


def undocumented(value: Any, fields: dict, where: str) -> list[str]:
    """Field names in VALUE that the spec's FIELDS tree does not document."""
    problems = []
    items = value if isinstance(value, list) else [value]
    for item in items:
        if not isinstance(item, dict):
            continue
        for key, child in item.items():
            if key not in fields:
                problems.append(f"{where}.{key}")
                continue
            nested = fields[key].get("fields")
            if nested and isinstance(child, (dict, list)):
                problems += undocumented(child, nested, f"{where}.{key}")
    return problems


def check(command: str, body: dict) -> list[str]:
    """Envelope and field checks for one successful answer."""
    if command.endswith("#job"):
        command = command[:-4]
        entry = spec.command(command)
        result = body.get("jobresult", {})
        if entry.get("jobresultkind") == "success":
            return [] if result.get("success") is True else [f"{command}: job result {result}"]
        key = entry.get("jobresultkey")
        if set(result) != {key}:
            return [f"{command}: job result keys {sorted(result)} != [{key}]"]
        fields = entry["response"]
        if command in ("authorizeSecurityGroupIngress", "authorizeSecurityGroupEgress"):
            # CloudStack quirk (commands.json wire.note): listApis documents SecurityGroupRuleResponse, but
            # the job result is a SecurityGroupResponse holding the new rules.
            fields = spec.command("createSecurityGroup")["response"]
        return undocumented(result[key], fields, command)
    entry = spec.command(command)
    if list(body) != [entry["responsekey"]]:
        return [f"{command}: top-level key {list(body)}"]
    inner = body[entry["responsekey"]]
    kind = entry["kind"]
    if kind == "list":
        if inner == {}:
            return []
        extra = set(inner) - {"count", entry["listitemkey"]}
        if extra or not isinstance(inner.get("count"), int):
            return [f"{command}: list envelope {sorted(inner)}"]
        return undocumented(inner.get(entry["listitemkey"], []), entry["response"], command)
    if kind == "async":
        return [] if set(inner) == set(entry["immediatefields"]) else [f"{command}: immediate {sorted(inner)}"]
    if kind == "success":
        return [] if inner == {"success": True} else [f"{command}: success body {inner}"]
    if kind == "asyncjob":
        return undocumented(inner, entry["response"], command)
    if list(inner) != [entry["objectkey"]]:
        return [f"{command}: object envelope {sorted(inner)}"]
    return undocumented(inner[entry["objectkey"]], entry["response"], command)


def scenario(call: Recorder, sim: Simulator) -> None:
    """Use every command once or more, as an admin and as a plain user."""
    admin, demo = "admin", "demo"
    zone = call(demo, "listZones")["zone"][0]
    offering = next(o for o in call(demo, "listServiceOfferings")["serviceoffering"] if o["name"] == "m1.small")
    disk = next(o for o in call(demo, "listDiskOfferings")["diskoffering"] if o.get("iscustomized"))
    template = next(t for t in call(demo, "listTemplates", templatefilter="featured")["template"]
                    if t.get("passwordenabled"))
    call(demo, "listOsTypes")
    call(demo, "listHypervisors")
    call(demo, "listNetworks")
    call(demo, "listNetworkOfferings")
    call(demo, "listCapabilities")
    call(demo, "listApis")
    call(demo, "listResourceLimits")
    call(admin, "listConfigurations", name="enable.ec2.api")
    call(admin, "updateConfiguration", name="enable.ec2.api", value="true")

    made = call(admin, "createAccount", username="conf", password="pw", email="c@example.com",
                firstname="Con", lastname="Formance")
    user_id = made["account"]["user"][0]["id"]
    call(admin, "createUser", account="conf", username="conf2", password="pw", email="c2@example.com",
         firstname="Con", lastname="Two")
    keys = call(admin, "registerUserKeys", id=user_id)["userkeys"]
    call(admin, "getUser", userapikey=keys["apikey"])
    call(admin, "listUsers", listall="true")
    call(admin, "listAccounts", listall="true")
    second = next(u for u in call(admin, "listUsers", account="conf")["user"] if u["username"] == "conf2")
    call(admin, "disableUser", id=second["id"])
    call(admin, "enableUser", id=second["id"])
    call(admin, "deleteUser", id=second["id"])
    call(admin, "disableAccount", account="conf", lock="false")
    call(admin, "enableAccount", account="conf")

    call(demo, "createSSHKeyPair", name="conf-key")
    call(demo, "registerSSHKeyPair", name="conf-imported", publickey=PUBLIC_KEY)
    call(demo, "deleteSSHKeyPair", name="conf-imported")
    call(demo, "listSSHKeyPairs")
    group = call(demo, "createSecurityGroup", name="conf-group", description="d")["securitygroup"]
    rule = call(demo, "authorizeSecurityGroupIngress", securitygroupid=group["id"], protocol="tcp",
                startport="22", endport="22", cidrlist="0.0.0.0/0")["securitygroup"]["ingressrule"][0]
    call(demo, "revokeSecurityGroupIngress", id=rule["ruleid"])
    rule = call(demo, "authorizeSecurityGroupEgress", securitygroupid=group["id"], protocol="udp",
                startport="53", endport="53", cidrlist="0.0.0.0/0")["securitygroup"]["egressrule"][0]
    call(demo, "revokeSecurityGroupEgress", id=rule["ruleid"])
    call(demo, "listSecurityGroups")

    vm = call(demo, "deployVirtualMachine", zoneid=zone["id"], serviceofferingid=offering["id"],
              templateid=template["id"], keypair="conf-key", securitygroupids=group["id"],
              name="conf-vm")["virtualmachine"]
    call(demo, "listVirtualMachines")
    call(demo, "updateVirtualMachine", id=vm["id"], displayname="renamed")
    call(demo, "rebootVirtualMachine", id=vm["id"])
    call(demo, "stopVirtualMachine", id=vm["id"])
    call(demo, "resetPasswordForVirtualMachine", id=vm["id"])
    call(demo, "getVMPassword", id=vm["id"])
    call(demo, "startVirtualMachine", id=vm["id"])

    volume = call(demo, "createVolume", zoneid=zone["id"], diskofferingid=disk["id"], size="5",
                  name="conf-vol")["volume"]
    call(demo, "attachVolume", id=volume["id"], virtualmachineid=vm["id"])
    call(demo, "detachVolume", id=volume["id"])
    call(demo, "listVolumes")
    snapshot = call(demo, "createSnapshot", volumeid=volume["id"])["snapshot"]
    call(demo, "listSnapshots")
    call(demo, "createTags", resourcetype="Volume", resourceids=volume["id"],
         **{"tags[0].key": "env", "tags[0].value": "test"})
    call(demo, "listTags")
    call(demo, "deleteTags", resourcetype="Volume", resourceids=volume["id"], **{"tags[0].key": "env"})
    call(demo, "deleteSnapshot", id=snapshot["id"])
    call(demo, "deleteVolume", id=volume["id"])

    ip = call(demo, "associateIpAddress", zoneid=zone["id"])["ipaddress"]
    call(demo, "enableStaticNat", ipaddressid=ip["id"], virtualmachineid=vm["id"])
    call(demo, "listPublicIpAddresses")
    call(demo, "disableStaticNat", ipaddressid=ip["id"])
    call(demo, "disassociateIpAddress", id=ip["id"])

    call(demo, "stopVirtualMachine", id=vm["id"])
    large = next(o for o in call(demo, "listServiceOfferings")["serviceoffering"] if o["name"] == "m1.large")
    call(demo, "changeServiceForVirtualMachine", id=vm["id"], serviceofferingid=large["id"])
    root = call(demo, "listVolumes", virtualmachineid=vm["id"], type="ROOT")["volume"][0]
    made_template = call(demo, "createTemplate", volumeid=root["id"], name="conf-tpl", displaytext="t",
                         ostypeid=template["ostypeid"])["template"]
    call(demo, "updateTemplate", id=made_template["id"], displaytext="t2")
    call(demo, "listTemplatePermissions", id=made_template["id"])
    call(demo, "updateTemplatePermissions", id=made_template["id"], ispublic="true")
    call(demo, "deleteTemplate", id=made_template["id"])
    call(demo, "registerTemplate", name="conf-reg", displaytext="r", format="QCOW2", hypervisor="Simulator",
         url="http://example.com/image.qcow2", zoneid=zone["id"], ostypeid=template["ostypeid"])
    call(demo, "destroyVirtualMachine", id=vm["id"])
    call(admin, "expungeVirtualMachine", id=vm["id"])
    call(demo, "listAsyncJobs")
    call(demo, "deleteSSHKeyPair", name="conf-key")
    call(demo, "deleteSecurityGroup", id=group["id"])
    call(admin, "deleteAccount", id=made["account"]["id"])
    vpc_scenario(call, sim, template, offering)


def vpc_scenario(call: Recorder, sim: Simulator, template: dict, offering: dict) -> None:
    """The advanced zone's commands: a VPC with a tier, ACLs, a VM with a secondary address and static NAT, a
    static route on the operator's private gateway, torn down in CloudStack's order."""
    from tests.unit.cloudstack.simulator.vpc_world import private_gateway

    demo = "demo"
    zone = next(z for z in call(demo, "listZones")["zone"] if z["networktype"] == "Advanced")
    vpc_offering = call(demo, "listVPCOfferings")["vpcoffering"][0]
    offerings = {o["name"]: o for o in call(demo, "listNetworkOfferings", zoneid=zone["id"])["networkoffering"]}
    vpc = call(demo, "createVPC", name="cv", displaytext="cv", cidr="10.0.0.0/16", zoneid=zone["id"],
               vpcofferingid=vpc_offering["id"])["vpc"]
    call(demo, "listVPCs", id=vpc["id"])
    call(demo, "updateVPC", id=vpc["id"], displaytext="cv2")
    call(demo, "restartVPC", id=vpc["id"])
    acl = call(demo, "createNetworkACLList", name="web", vpcid=vpc["id"])["networkacllist"]
    call(demo, "listNetworkACLLists", vpcid=vpc["id"])
    item = call(demo, "createNetworkACL", aclid=acl["id"], protocol="tcp", startport="80", endport="80",
                cidrlist="0.0.0.0/0", action="allow", traffictype="ingress")["networkacl"]
    call(demo, "updateNetworkACLItem", id=item["id"], endport="81")
    call(demo, "listNetworkACLs", aclid=acl["id"])
    tier = call(demo, "createNetwork", name="t1", displaytext="t1", zoneid=zone["id"], vpcid=vpc["id"],
                networkofferingid=offerings["DefaultIsolatedNetworkOfferingForVpcNetworks"]["id"],
                gateway="10.0.1.1", netmask="255.255.255.0", aclid=acl["id"])["network"]
    call(demo, "updateNetwork", id=tier["id"], displaytext="tier one")
    call(demo, "restartNetwork", id=tier["id"])
    call(demo, "replaceNetworkACLList", aclid=acl["id"], networkid=tier["id"])
    vm = call(demo, "deployVirtualMachine", zoneid=zone["id"], serviceofferingid=offering["id"],
              templateid=template["id"], networkids=tier["id"], ipaddress="10.0.1.20")["virtualmachine"]
    nic = call(demo, "listNics", virtualmachineid=vm["id"])["nic"][0]
    secondary = call(demo, "addIpToNic", nicid=nic["id"])["nicsecondaryip"]
    ip = call(demo, "associateIpAddress", vpcid=vpc["id"])["ipaddress"]
    call(demo, "enableStaticNat", ipaddressid=ip["id"], virtualmachineid=vm["id"], networkid=tier["id"],
         vmguestip=secondary["ipaddress"])
    call(demo, "disableStaticNat", ipaddressid=ip["id"])
    call(demo, "removeIpFromNic", id=secondary["id"])
    gateway = private_gateway(sim, vpc)
    call(demo, "listPrivateGateways", vpcid=vpc["id"])
    route = call(demo, "createStaticRoute", gatewayid=gateway["id"], cidr="172.16.0.0/16")["staticroute"]
    call(demo, "listStaticRoutes", vpcid=vpc["id"])
    call(demo, "deleteStaticRoute", id=route["id"])
    call(demo, "deleteNetworkACL", id=item["id"])
    call(demo, "destroyVirtualMachine", id=vm["id"])
    call("admin", "expungeVirtualMachine", id=vm["id"])
    call(demo, "deleteNetwork", id=tier["id"])
    call(demo, "deleteNetworkACLList", id=acl["id"])
    call(demo, "disassociateIpAddress", id=ip["id"])
    call(demo, "deleteVPC", id=vpc["id"])

    call(demo, "listAffinityGroupTypes")
    spread = call(demo, "createAffinityGroup", name="spread", type="host anti-affinity")["affinitygroup"]
    call(demo, "listAffinityGroups", id=spread["id"])
    placed = call(demo, "deployVirtualMachine", zoneid=zone["id"], serviceofferingid=offering["id"],
                  templateid=template["id"], affinitygroupids=spread["id"], startvm="false")["virtualmachine"]
    call(demo, "updateVMAffinityGroup", id=placed["id"], affinitygroupids="")
    call(demo, "deleteAffinityGroup", id=spread["id"])
    call(demo, "destroyVirtualMachine", id=placed["id"])


@pytest.fixture
def fast_sim(store: Any) -> Simulator:
    sim = Simulator(store, SimulatorConfig(job_seconds=0.0, expunge_seconds=0.0, advanced_zone=True))
    sim.users = sim.seed()
    return sim


def test_every_command_answers_in_cloudstacks_shape(fast_sim: Simulator) -> None:
    call = Recorder(fast_sim)
    scenario(call, fast_sim)
    problems = [p for command, status, body in call.seen if status == 200 for p in check(command, body)]
    assert problems == []
    exercised = {command.split("#")[0] for command, status, _ in call.seen if status == 200}
    assert sorted(set(fast_sim.commands) - exercised) == []


def test_every_spec_command_is_served() -> None:
    """spec.json's `served` flags are exactly the commands the families register: every command marked served
    has a handler, and every handler's command is in the spec and marked served (tools/gen_cs_spec.py sets the
    flags; test_spec.py holds spec.json to the reference)."""
    from ec2soap.cloudstack.simulator import FAMILIES

    served = {name for family in FAMILIES for name in family.COMMANDS}
    assert sorted(spec.served() - served) == []
    assert sorted(served - set(spec.commands())) == []
    assert sorted(served - spec.served()) == []


class HttpRecorder(Recorder):
    """The same scenario sent through our CloudStack client's HTTP transport to the simulator's signed API on
    127.0.0.1 (real sockets, real signing with signatureVersion 3), each answer also read by the client's
    response handling."""

    def __init__(self, sim: Simulator, transport: Any, in_reactor: Any):
        super().__init__(sim)
        self.transport, self.in_reactor = transport, in_reactor

    def send(self, user: dict, command: str, params: dict) -> tuple[int, dict]:
        import json

        from ec2soap.cloudstack.client import parse_response, sign_request

        wire = sign_request(command, params, user["apikey"], user["secretkey"])
        status, body = self.in_reactor(self.transport.send, wire)
        parse_response(command, status, body)  # raises on anything our client would not accept
        return status, json.loads(body)


def test_every_command_over_http_through_our_client(fast_sim: Simulator, serve: Any, in_reactor: Any) -> None:
    from ec2soap.cloudstack.client import HttpTransport
    from ec2soap.cloudstack.simulator.http import api_site

    port = serve(api_site(fast_sim))
    transport = in_reactor(lambda: HttpTransport(f"http://127.0.0.1:{port}/client/api", timeout=30))
    call = HttpRecorder(fast_sim, transport, in_reactor)
    try:
        scenario(call, fast_sim)
    finally:
        in_reactor(transport.close)
    problems = [p for command, status, body in call.seen if status == 200 for p in check(command, body)]
    assert problems == []
    exercised = {command.split("#")[0] for command, status, _ in call.seen if status == 200}
    assert sorted(set(fast_sim.commands) - exercised) == []
