"""Instances through boto3, boto 2 and awscli: run (key pairs, security groups, counts), describe (ids, filters,
pagination, reservations), the life cycle observed by polling, attributes, passwords, console output, errors,
isolation between users, and that slow deploys never hold up other requests."""
from __future__ import annotations

import base64
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator

import pytest

from ec2soap.config import Settings
from tests.protocol.conftest import EC2Client, GatewayServer, Keys

PASSWORD_TEMPLATE = "CentOS 7 with password reset (Simulator)"
PLAIN_TEMPLATE = "Ubuntu 22.04 LTS (Simulator)"


# -- helpers that talk to CloudStack directly (setup only) ---------------------------------------------------

def template_id(server: GatewayServer, name: str = PLAIN_TEMPLATE) -> str:
    """A seeded template's CloudStack uuid (RunInstances takes it as ImageId, like the original's users did)."""
    status, body = server.cloudstack("demo", "listTemplates", templatefilter="featured")
    assert status == 200, body
    return next(t["id"] for t in body["template"] if t["name"] == name)


def _as_cs_user(keys: Keys) -> dict:
    return {"apikey": keys.access_key, "secretkey": keys.secret_key}


def cs_call(ec2: EC2Client, command: str, **params: Any) -> dict:
    """A CloudStack call as the client's user; async jobs are waited for."""
    status, body = ec2.server.cloudstack(_as_cs_user(ec2.keys), command, **params)
    assert status == 200, body
    if "jobid" in body and command not in ("queryAsyncJobResult",):
        for _ in range(100):
            status, job = ec2.server.cloudstack(_as_cs_user(ec2.keys), "queryAsyncJobResult", jobid=body["jobid"])
            if job["jobstatus"] != 0:
                assert job["jobstatus"] == 1, job
                return job.get("jobresult", {})
            time.sleep(0.05)
        raise AssertionError(f"{command} job never finished")
    return body


def make_group(ec2: EC2Client, name: str) -> str:
    return cs_call(ec2, "createSecurityGroup", name=name, description=name)["securitygroup"]["id"]


def make_key(ec2: EC2Client, name: str) -> None:
    cs_call(ec2, "createSSHKeyPair", name=name)


def tag(ec2: EC2Client, cs_vm_id: str, key: str, value: str) -> None:
    cs_call(ec2, "createTags", resourcetype="UserVm", resourceids=cs_vm_id,
            **{"tags[0].key": key, "tags[0].value": value})


def cs_vm_ids(ec2: EC2Client) -> dict[str, str]:
    """CloudStack VM name → uuid for the client's user."""
    return {v["name"]: v["id"] for v in cs_call(ec2, "listVirtualMachines").get("virtualmachine", [])}


# -- facades: one normalized view per client -----------------------------------------------------------------

def _from_boto3(i: dict) -> dict:
    return {"id": i["InstanceId"], "state": i["State"]["Name"], "code": i["State"]["Code"],
            "type": i["InstanceType"], "key": i.get("KeyName"), "image": i.get("ImageId"),
            "groups": sorted(g["GroupName"] for g in i.get("SecurityGroups", [])),
            "zone": i["Placement"]["AvailabilityZone"], "private_ip": i.get("PrivateIpAddress"),
            "dns": i.get("PrivateDnsName"), "index": i.get("AmiLaunchIndex"),
            "tags": {t["Key"]: t["Value"] for t in i.get("Tags", [])}}


def _from_boto2(i: Any) -> dict:
    return {"id": i.id, "state": i.state, "code": i.state_code, "type": i.instance_type, "key": i.key_name,
            "image": i.image_id, "groups": sorted(g.name for g in i.groups), "zone": i.placement,
            "private_ip": i.private_ip_address, "dns": i.private_dns_name,
            "index": int(i.ami_launch_index) if i.ami_launch_index not in (None, "") else None,
            "tags": dict(i.tags)}


def run(ec2: EC2Client, image: str, count: int | tuple[int, int] = 1, *, key: str | None = None,
        groups: list[str] = (), itype: str | None = None, zone: str | None = None,
        user_data: str | None = None) -> dict:
    """RunInstances → {"reservation": id, "instances": [normalized instance, ...]}."""
    low, high = count if isinstance(count, tuple) else (count, count)
    if ec2.kind == "boto3":
        kw: dict[str, Any] = {"ImageId": image, "MinCount": low, "MaxCount": high}
        if key:
            kw["KeyName"] = key
        if groups:
            kw["SecurityGroups"] = list(groups)
        if itype:
            kw["InstanceType"] = itype
        if zone:
            kw["Placement"] = {"AvailabilityZone": zone}
        if user_data is not None:
            kw["UserData"] = user_data
        r = ec2.client.run_instances(**kw)
        return {"reservation": r["ReservationId"], "instances": [_from_boto3(i) for i in r["Instances"]]}
    if ec2.kind == "boto2":
        r = ec2.conn.run_instances(image, min_count=low, max_count=high, key_name=key,
                                   security_groups=list(groups) or None, instance_type=itype or "m1.small",
                                   placement=zone, user_data=user_data)
        return {"reservation": r.id, "instances": [_from_boto2(i) for i in r.instances]}
    args = ["run-instances", "--image-id", image, "--count", f"{low}:{high}"]
    if key:
        args += ["--key-name", key]
    if groups:
        args += ["--security-groups", *groups]
    if itype:
        args += ["--instance-type", itype]
    if zone:
        args += ["--placement", f"AvailabilityZone={zone}"]
    if user_data is not None:
        args += ["--user-data", user_data]
    r = ec2.cli(*args)
    return {"reservation": r["ReservationId"], "instances": [_from_boto3(i) for i in r["Instances"]]}


def describe_reservations(ec2: EC2Client, ids: list[str] = (),
                          filters: dict[str, list[str]] | None = None) -> dict[str, list[dict]]:
    """DescribeInstances → {reservation id: [normalized instance, ...]}."""
    filters = filters or {}
    if ec2.kind == "boto3":
        kw: dict[str, Any] = {"InstanceIds": list(ids)} if ids else {}
        if filters:
            kw["Filters"] = [{"Name": k, "Values": v} for k, v in filters.items()]
        return {r["ReservationId"]: [_from_boto3(i) for i in r["Instances"]]
                for r in ec2.client.describe_instances(**kw)["Reservations"]}
    if ec2.kind == "boto2":
        return {r.id: [_from_boto2(i) for i in r.instances]
                for r in ec2.conn.get_all_reservations(instance_ids=list(ids) or None, filters=filters or None)}
    args = ["describe-instances"]
    if ids:
        args += ["--instance-ids", *ids]
    if filters:
        # One --filters with every filter after it: awscli keeps only the last of repeated --filters options.
        args += ["--filters", *(f"Name={k},Values={','.join(v)}" for k, v in filters.items())]
    return {r["ReservationId"]: [_from_boto3(i) for i in r["Instances"]] for r in ec2.cli(*args)["Reservations"]}


def describe(ec2: EC2Client, ids: list[str] = (), filters: dict[str, list[str]] | None = None) -> dict[str, dict]:
    """DescribeInstances → {instance id: normalized instance}."""
    return {i["id"]: i for found in describe_reservations(ec2, ids, filters).values() for i in found}


def _changes(ec2: EC2Client, action: str, ids: list[str], **extra: Any) -> dict[str, tuple[str, str]]:
    """Start/Stop/Terminate → {instance id: (previous state, current state)}."""
    if ec2.kind == "boto3":
        method = getattr(ec2.client, f"{action}_instances")
        key = {"start": "StartingInstances", "stop": "StoppingInstances",
               "terminate": "TerminatingInstances"}[action]
        r = method(InstanceIds=ids, **({"Force": True} if extra.get("force") else {}))
        return {c["InstanceId"]: (c["PreviousState"]["Name"], c["CurrentState"]["Name"]) for c in r[key]}
    if ec2.kind == "boto2":
        method = getattr(ec2.conn, f"{action}_instances")
        found = method(ids, force=True) if extra.get("force") else method(ids)
        # boto 2 parses the state change set into Instance objects with previous and current state.
        return {i.id: (i.previous_state, i.state) for i in found}
    args = [f"{action}-instances", "--instance-ids", *ids]
    if extra.get("force"):
        args.append("--force")
    r = ec2.cli(*args)
    key = {"start": "StartingInstances", "stop": "StoppingInstances", "terminate": "TerminatingInstances"}[action]
    return {c["InstanceId"]: (c["PreviousState"]["Name"], c["CurrentState"]["Name"]) for c in r[key]}


def reboot(ec2: EC2Client, ids: list[str]) -> None:
    if ec2.kind == "boto3":
        ec2.client.reboot_instances(InstanceIds=ids)
    elif ec2.kind == "boto2":
        assert ec2.conn.reboot_instances(ids) is True
    else:
        ec2.cli("reboot-instances", "--instance-ids", *ids)


def wait_for(ec2: EC2Client, instance_id: str, state: str | None, timeout: float = 10.0) -> dict | None:
    """Poll DescribeInstances until the instance is in STATE (None: until it is gone or terminated)."""
    # awscli starts a whole driver per call; it polls through boto3 with the same keys to keep the suite fast.
    poller = EC2Client("boto3", ec2.server, ec2.keys) if ec2.kind == "awscli" else ec2
    deadline = time.monotonic() + timeout
    while True:
        found = describe(poller).get(instance_id)
        if (state is None and (found is None or found["state"] == "terminated")) or \
                (found is not None and found["state"] == state):
            return found
        assert time.monotonic() < deadline, f"{instance_id} never became {state}: {found}"
        time.sleep(0.1)


def attribute(ec2: EC2Client, instance_id: str, name: str) -> Any:
    """DescribeInstanceAttribute → the attribute's plain value."""
    if ec2.kind == "boto2":
        found = ec2.conn.get_instance_attribute(instance_id, name)
        return found.get(name)
    if ec2.kind == "boto3":
        r = ec2.client.describe_instance_attribute(InstanceId=instance_id, Attribute=name)
    else:
        r = ec2.cli("describe-instance-attribute", "--instance-id", instance_id, "--attribute", name)
    key = {"instanceType": "InstanceType", "userData": "UserData", "kernel": "KernelId",
           "disableApiTermination": "DisableApiTermination", "rootDeviceName": "RootDeviceName",
           "instanceInitiatedShutdownBehavior": "InstanceInitiatedShutdownBehavior"}[name]
    return (r.get(key) or {}).get("Value")


def modify_type(ec2: EC2Client, instance_id: str, itype: str) -> None:
    if ec2.kind == "boto3":
        ec2.client.modify_instance_attribute(InstanceId=instance_id, InstanceType={"Value": itype})
    elif ec2.kind == "boto2":
        assert ec2.conn.modify_instance_attribute(instance_id, "instanceType", itype) is True
    else:
        ec2.cli("modify-instance-attribute", "--instance-id", instance_id, "--instance-type", f"Value={itype}")


def password_data(ec2: EC2Client, instance_id: str) -> str:
    if ec2.kind == "boto3":
        return ec2.client.get_password_data(InstanceId=instance_id)["PasswordData"]
    if ec2.kind == "boto2":
        return ec2.conn.get_password_data(instance_id) or ""
    return ec2.cli("get-password-data", "--instance-id", instance_id)["PasswordData"]


def console_output(ec2: EC2Client, instance_id: str) -> tuple[str, Any]:
    if ec2.kind == "boto3":
        r = ec2.client.get_console_output(InstanceId=instance_id)
        return r["InstanceId"], r["Timestamp"]
    if ec2.kind == "boto2":
        r = ec2.conn.get_console_output(instance_id)
        return r.instance_id, r.timestamp
    r = ec2.cli("get-console-output", "--instance-id", instance_id)
    return r["InstanceId"], r["Timestamp"]


def statuses(ec2: EC2Client, ids: list[str] = (), include_all: bool = False) -> dict[str, tuple[str, str]]:
    """DescribeInstanceStatus → {instance id: (instance state, system status)}."""
    if ec2.kind == "boto3":
        kw: dict[str, Any] = {"IncludeAllInstances": include_all}
        if ids:
            kw["InstanceIds"] = list(ids)
        r = ec2.client.describe_instance_status(**kw)["InstanceStatuses"]
        return {s["InstanceId"]: (s["InstanceState"]["Name"], s["SystemStatus"]["Status"]) for s in r}
    if ec2.kind == "boto2":
        r = ec2.conn.get_all_instance_status(instance_ids=list(ids) or None,
                                             include_all_instances=include_all or None)
        return {s.id: (s.state_name, s.system_status.status) for s in r}
    args = ["describe-instance-status"] + (["--instance-ids", *ids] if ids else [])
    if include_all:
        args.append("--include-all-instances")
    r = ec2.cli(*args)["InstanceStatuses"]
    return {s["InstanceId"]: (s["InstanceState"]["Name"], s["SystemStatus"]["Status"]) for s in r}


# -- scenarios -----------------------------------------------------------------------------------------------

def test_run_one_and_two_with_key_pair_and_security_group(ec2: EC2Client) -> None:
    image = template_id(ec2.server)
    make_key(ec2, "deploy")
    make_group(ec2, "web")
    one = run(ec2, image, key="deploy", groups=["web"], itype="m1.small")
    inst, = one["instances"]
    assert one["reservation"].startswith("r-") and inst["id"].startswith("i-")
    assert inst["state"] == "pending" and inst["code"] == 0
    assert inst["type"] == "m1.small" and inst["key"] == "deploy" and inst["groups"] == ["web"]
    assert inst["image"].startswith("ami-") and inst["zone"] == "zone1" and inst["index"] == 0
    assert inst["private_ip"].startswith("10.1.1.")

    two = run(ec2, image, 2, key="deploy", groups=["web"])
    assert len(two["instances"]) == 2 and {i["state"] for i in two["instances"]} == {"pending"}
    assert sorted(i["index"] for i in two["instances"]) == [0, 1]
    assert {i["type"] for i in two["instances"]} == {"m1.small"}  # the default type
    ids = [i["id"] for i in two["instances"]]
    # DescribeInstances regroups the instances of one RunInstances into their reservation.
    reservations = describe_reservations(ec2, ids)
    assert list(reservations) == [two["reservation"]]
    assert sorted(i["id"] for i in reservations[two["reservation"]]) == sorted(ids)
    everything = describe_reservations(ec2)
    assert set(everything) == {one["reservation"], two["reservation"]}
    for instance_id in [inst["id"], *ids]:
        running = wait_for(ec2, instance_id, "running")
        assert running["code"] == 16 and running["key"] == "deploy" and running["groups"] == ["web"]


def test_describe_by_id_and_filters(ec2: EC2Client) -> None:
    image = template_id(ec2.server)
    small, = run(ec2, image, itype="m1.small")["instances"]
    large, = run(ec2, image, itype="m1.large", zone="zone1")["instances"]
    wait_for(ec2, small["id"], "running")
    wait_for(ec2, large["id"], "running")
    assert set(describe(ec2, [large["id"]])) == {large["id"]}
    assert set(describe(ec2, filters={"instance-type": ["m1.large"]})) == {large["id"]}
    assert set(describe(ec2, filters={"instance-type": ["m1.*"]})) == {small["id"], large["id"]}
    assert set(describe(ec2, filters={"instance-state-name": ["running"]})) == {small["id"], large["id"]}
    assert describe(ec2, filters={"instance-state-name": ["stopped"]}) == {}
    assert set(describe(ec2, filters={"availability-zone": ["zone1"]})) == {small["id"], large["id"]}
    assert describe(ec2, filters={"availability-zone": ["elsewhere"]}) == {}
    assert set(describe(ec2, filters={"instance-id": [small["id"]]})) == {small["id"]}
    names = cs_vm_ids(ec2)
    tag(ec2, names[describe(ec2, [small["id"]])[small["id"]]["dns"]], "env", "prod")
    tagged = describe(ec2, filters={"tag:env": ["prod"]})
    assert set(tagged) == {small["id"]} and tagged[small["id"]]["tags"] == {"env": "prod"}
    assert set(describe(ec2, filters={"tag-key": ["env"]})) == {small["id"]}
    assert describe(ec2, filters={"tag:env": ["dev"]}) == {}
    # Filters combine with AND; the values of one filter with OR.
    assert set(describe(ec2, filters={"instance-type": ["m1.large", "m1.small"],
                                      "tag:env": ["prod"]})) == {small["id"]}
    assert describe(ec2, filters={"instance-type": ["m1.large"], "tag:env": ["prod"]}) == {}
    with ec2.failure() as failure:
        describe(ec2, filters={"colour": ["red"]})
    assert failure.value.code == "InvalidFilter"


def test_pagination_with_max_results(gateway_server: GatewayServer, new_user: Any, ec2_of: Any) -> None:
    ec2 = ec2_of("boto3", new_user())
    launched = run(ec2, template_id(gateway_server), 6)["instances"]
    seen, token, pages = [], None, 0
    while True:
        kw: dict[str, Any] = {"MaxResults": 5}
        if token:
            kw["NextToken"] = token
        r = ec2.client.describe_instances(**kw)
        seen += [i["InstanceId"] for res in r["Reservations"] for i in res["Instances"]]
        pages += 1
        token = r.get("NextToken")
        if not token:
            break
    assert pages == 2 and sorted(seen) == sorted(i["id"] for i in launched) and len(seen) == 6
    # boto3's paginator drives the same tokens.
    paged = [i["InstanceId"] for page in ec2.client.get_paginator("describe_instances").paginate(
        PaginationConfig={"PageSize": 5}) for res in page["Reservations"] for i in res["Instances"]]
    assert sorted(paged) == sorted(seen)
    with pytest.raises(Exception) as failure:
        ec2.client.describe_instances(InstanceIds=[launched[0]["id"]], MaxResults=5)
    assert failure.value.response["Error"]["Code"] == "InvalidParameterCombination"


def test_stop_start_reboot_terminate(ec2: EC2Client) -> None:
    inst, = run(ec2, template_id(ec2.server))["instances"]
    iid = inst["id"]
    wait_for(ec2, iid, "running")
    assert _changes(ec2, "stop", [iid]) == {iid: ("running", "stopped")}
    assert wait_for(ec2, iid, "stopped")["code"] == 80
    # Stopping a stopped instance changes nothing, as in EC2.
    assert _changes(ec2, "stop", [iid]) == {iid: ("stopped", "stopped")}
    with ec2.failure() as failure:
        reboot(ec2, [iid])
    assert failure.value.code == "IncorrectInstanceState"
    assert _changes(ec2, "start", [iid]) == {iid: ("stopped", "running")}
    wait_for(ec2, iid, "running")
    assert _changes(ec2, "start", [iid]) == {iid: ("running", "running")}
    reboot(ec2, [iid])
    assert wait_for(ec2, iid, "running")["state"] == "running"
    assert _changes(ec2, "stop", [iid], force=True) == {iid: ("running", "stopped")}
    assert _changes(ec2, "terminate", [iid]) == {iid: ("stopped", "shutting-down")}
    wait_for(ec2, iid, None)
    with ec2.failure() as failure:
        _changes(ec2, "start", [iid])
    # CloudStack hides destroyed VMs from their owners (allow.user.view.destroyed.vm is off by default).
    assert failure.value.code in ("InvalidInstanceID.NotFound", "IncorrectInstanceState")


def test_terminate_running_instances_together(ec2: EC2Client) -> None:
    launched = run(ec2, template_id(ec2.server), 2)["instances"]
    ids = [i["id"] for i in launched]
    for iid in ids:
        wait_for(ec2, iid, "running")
    assert _changes(ec2, "terminate", ids) == {iid: ("running", "shutting-down") for iid in ids}
    for iid in ids:
        wait_for(ec2, iid, None)


def test_errors(ec2: EC2Client) -> None:
    image = template_id(ec2.server)
    with ec2.failure() as failure:
        run(ec2, "ami-0123456789abcdef0")
    assert failure.value.code == "InvalidAMIID.NotFound"
    with ec2.failure() as failure:
        run(ec2, str(uuid.uuid4()))
    assert failure.value.code == "InvalidAMIID.NotFound"
    with ec2.failure() as failure:
        run(ec2, image, itype="m9.huge")
    assert failure.value.code == "InvalidParameterValue"
    with ec2.failure() as failure:
        run(ec2, image, (3, 1))
    assert failure.value.code == "InvalidParameterValue"
    with ec2.failure() as failure:
        run(ec2, image, key="no-such-key")
    assert failure.value.code == "InvalidKeyPair.NotFound"
    with ec2.failure() as failure:
        run(ec2, image, groups=["no-such-group"])
    assert failure.value.code == "InvalidGroup.NotFound"
    with ec2.failure() as failure:
        run(ec2, image, zone="atlantis")
    assert failure.value.code == "InvalidZone.NotFound"
    with ec2.failure() as failure:
        describe(ec2, ["i-0123456789abcdef0"])
    assert failure.value.code == "InvalidInstanceID.NotFound"
    with ec2.failure() as failure:
        _changes(ec2, "terminate", ["i-0123456789abcdef0"])
    assert failure.value.code == "InvalidInstanceID.NotFound"
    assert describe(ec2) == {}  # nothing was launched by the failed calls


def test_missing_image_id(gateway_server: GatewayServer, new_user: Any, ec2_of: Any) -> None:
    # boto 2's run_instances cannot leave ImageId out; boto3 and awscli can (launch templates made it optional).
    keys = new_user()
    with pytest.raises(Exception) as failure:
        ec2_of("boto3", keys).client.run_instances(MinCount=1, MaxCount=1)
    assert failure.value.response["Error"]["Code"] == "MissingParameter"
    cli = ec2_of("awscli", keys)
    with cli.failure() as failed:
        cli.cli("run-instances", "--count", "1")
    assert failed.value.code == "MissingParameter"


def test_instance_limit(gateway_server: GatewayServer, new_user: Any, ec2_of: Any) -> None:
    ec2 = ec2_of("boto3", new_user())
    limit = int(cs_call(ec2, "listResourceLimits", resourcetype=0)["resourcelimit"][0]["max"])
    image = template_id(gateway_server)
    # MinCount 1, MaxCount above the account's VM limit: EC2 launches as many as it may.
    assert len(run(ec2, image, (1, limit + 5))["instances"]) == limit
    with ec2.failure() as failure:
        run(ec2, image)
    assert failure.value.code == "InstanceLimitExceeded"


def test_instance_type_and_user_data_attributes(ec2: EC2Client) -> None:
    inst, = run(ec2, template_id(ec2.server), itype="m1.small", user_data="#!/bin/sh\necho hi\n")["instances"]
    iid = inst["id"]
    wait_for(ec2, iid, "running")
    assert attribute(ec2, iid, "instanceType") == "m1.small"
    data = attribute(ec2, iid, "userData")
    assert base64.b64decode(data) == b"#!/bin/sh\necho hi\n"
    assert attribute(ec2, iid, "rootDeviceName") == "/dev/sda1"
    with ec2.failure() as failure:
        modify_type(ec2, iid, "m1.large")
    assert failure.value.code == "IncorrectInstanceState"
    _changes(ec2, "stop", [iid])
    modify_type(ec2, iid, "m1.large")
    assert attribute(ec2, iid, "instanceType") == "m1.large"
    assert describe(ec2, [iid])[iid]["type"] == "m1.large"
    with ec2.failure() as failure:
        modify_type(ec2, iid, "m9.huge")
    assert failure.value.code == "InvalidParameterValue"
    assert _changes(ec2, "start", [iid]) == {iid: ("stopped", "running")}
    assert describe(ec2, [iid])[iid]["type"] == "m1.large"


def test_attribute_errors_and_user_data_change(gateway_server: GatewayServer, new_user: Any,
                                               ec2_of: Any) -> None:
    ec2 = ec2_of("boto3", new_user())
    inst, = run(ec2, template_id(gateway_server))["instances"]
    iid = inst["id"]
    with pytest.raises(Exception) as failure:
        ec2.client.describe_instance_attribute(InstanceId=iid, Attribute="sriovNetSupport")
    assert failure.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(Exception) as failure:
        ec2.client.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "m1.large"},
                                             UserData={"Value": b"x"})
    assert failure.value.response["Error"]["Code"] == "InvalidParameterCombination"
    wait_for(ec2, iid, "running")
    ec2.client.stop_instances(InstanceIds=[iid])
    ec2.client.modify_instance_attribute(InstanceId=iid, UserData={"Value": b"new data"})
    value = ec2.client.describe_instance_attribute(InstanceId=iid, Attribute="userData")["UserData"]["Value"]
    assert base64.b64decode(value) == b"new data"
    groups = ec2.client.describe_instance_attribute(InstanceId=iid, Attribute="groupSet")["Groups"]
    assert [g["GroupName"] for g in groups] == ["default"]
    assert ec2.client.describe_instance_attribute(
        InstanceId=iid, Attribute="disableApiTermination")["DisableApiTermination"]["Value"] is False


def test_password_data_and_console_output(ec2: EC2Client) -> None:
    make_key(ec2, "win")
    inst, = run(ec2, template_id(ec2.server, PASSWORD_TEMPLATE), key="win")["instances"]
    plain, = run(ec2, template_id(ec2.server))["instances"]
    # The encrypted password exists from the deploy on (CloudStack encrypts it with the key pair's public key).
    data = password_data(ec2, inst["id"])
    assert data and len(base64.b64decode(data)) == 256  # RSA 2048 ciphertext
    assert password_data(ec2, plain["id"]) == ""  # no password yet, as EC2 answers before it is ready
    instance_id, timestamp = console_output(ec2, inst["id"])
    assert instance_id == inst["id"] and timestamp
    with ec2.failure() as failure:
        password_data(ec2, "i-0123456789abcdef0")
    assert failure.value.code == "InvalidInstanceID.NotFound"


def test_describe_instance_status(ec2: EC2Client) -> None:
    image = template_id(ec2.server)
    first, = run(ec2, image)["instances"]
    second, = run(ec2, image)["instances"]
    for inst in (first, second):
        wait_for(ec2, inst["id"], "running")
    _changes(ec2, "stop", [second["id"]])
    assert statuses(ec2) == {first["id"]: ("running", "ok")}
    everything = statuses(ec2, include_all=True)
    assert everything == {first["id"]: ("running", "ok"), second["id"]: ("stopped", "not-applicable")}
    assert statuses(ec2, [first["id"]]) == {first["id"]: ("running", "ok")}
    with ec2.failure() as failure:
        statuses(ec2, ["i-0123456789abcdef0"])
    assert failure.value.code == "InvalidInstanceID.NotFound"


def test_instances_are_per_user(ec2: EC2Client, new_user: Any, ec2_of: Any) -> None:
    inst, = run(ec2, template_id(ec2.server))["instances"]
    other = ec2_of(ec2.kind, new_user())
    assert describe(other) == {}
    for attempt in (lambda: describe(other, [inst["id"]]), lambda: _changes(other, "terminate", [inst["id"]]),
                    lambda: _changes(other, "stop", [inst["id"]]), lambda: attribute(other, inst["id"], "instanceType"),
                    lambda: password_data(other, inst["id"])):
        with other.failure() as failure:
            attempt()
        assert failure.value.code == "InvalidInstanceID.NotFound"
    assert inst["id"] in describe(ec2)
    assert describe(ec2)[inst["id"]]["state"] in ("pending", "running")


# -- nothing blocks the reactor ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: Any, reactor: Any, in_reactor: Callable[..., Any]) -> Iterator[GatewayServer]:
    """A server whose simulator takes 5 s for every job (a slow CloudStack deploy)."""
    from ec2soap import server

    data = tmp_path_factory.mktemp("slow-gateway")
    settings = Settings(host="127.0.0.1", port=0, simulator_port=0, integration_port=-1, data_dir=str(data),
                        simulator_job_seconds=5.0, simulator_expunge_seconds=60.0, job_poll_interval=0.05,
                        job_wait=20.0, db_threads=4)
    running = in_reactor(server.start, settings, reactor)
    yield GatewayServer(running, f"http://127.0.0.1:{running.ports['gateway']}",
                        f"http://127.0.0.1:{running.ports['simulator']}/client/api")
    in_reactor(running.stop)
    running.store.close()


def test_slow_deploys_do_not_hold_up_other_requests(slow_server: GatewayServer) -> None:
    import boto3
    from botocore.config import Config

    from tests.protocol.conftest import REGION

    status, made = slow_server.cloudstack("admin", "createAccount", username="slow", password="pw",
                                          email="slow@example.com", firstname="slow", lastname="test")
    assert status == 200, made
    _, keys = slow_server.cloudstack("admin", "registerUserKeys", id=made["account"]["user"][0]["id"])

    def client() -> Any:
        return boto3.client("ec2", endpoint_url=slow_server.url, region_name=REGION,
                            aws_access_key_id=keys["userkeys"]["apikey"],
                            aws_secret_access_key=keys["userkeys"]["secretkey"],
                            config=Config(retries={"max_attempts": 1}, max_pool_connections=20))

    image = template_id(slow_server)
    runners = [client() for _ in range(16)]
    observer = client()
    observer.describe_key_pairs()  # warm up (the secret lookup is cached after the first call)
    has_images = True
    try:
        observer.describe_images(ImageIds=[image])
    except Exception:
        has_images = False
    start = threading.Event()
    done = threading.Event()

    def launch(c: Any) -> tuple[float, list[str]]:
        start.wait()
        began = time.monotonic()
        r = c.run_instances(ImageId=image, MinCount=1, MaxCount=1)
        return time.monotonic() - began, [i["State"]["Name"] for i in r["Instances"]]

    burst_over = threading.Event()
    during: list[float] = []
    after: list[float] = []

    def observe() -> None:
        start.wait()
        while not done.is_set():
            in_burst = not burst_over.is_set()
            began = time.monotonic()
            if has_images:
                observer.describe_images(ImageIds=[image])
            else:
                observer.describe_key_pairs()
            (during if in_burst else after).append(time.monotonic() - began)
            time.sleep(0.05)

    with ThreadPoolExecutor(max_workers=17) as pool:
        watcher = pool.submit(observe)
        futures = [pool.submit(launch, c) for c in runners]
        start.set()
        results = [f.result(timeout=60) for f in futures]
        burst_over.set()
        time.sleep(1.0)  # keep measuring while the 5 s deploy jobs are still running
        done.set()
        watcher.result(timeout=30)

    # Each RunInstances answered pending without waiting for its deploy: one that waited could not answer in
    # under the 5 s a deploy takes. The 16 launches (seven CloudStack calls each) and the clients share this
    # process and the embedded store (one SQLite file, one transaction at a time), so the last ones queue
    # behind the first; the bounds leave room for that and still catch any wait on a job.
    times = sorted(t for t, _ in results)
    assert all(states == ["pending"] for _, states in results)
    assert times[len(times) // 2] < 5.0, times
    # Other requests never wait on the jobs: under 5 s while the launches queue with them, and at once (< 1 s)
    # once the launches have answered and the 16 deploys are still running.
    assert during and max(during) < 5.0, during
    assert after and max(after) < 1.0, after
    described = observer.describe_instances()["Reservations"]
    assert sum(len(r["Instances"]) for r in described) == 16
    assert {i["State"]["Name"] for r in described for i in r["Instances"]} <= {"pending", "running"}
