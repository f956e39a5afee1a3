"""Volumes through boto3, boto 2 and awscli: create (creating → available), describe (ids, filters, pages),
attach/detach to an instance, delete, errors, limits and per-user isolation."""
from __future__ import annotations

import time
from typing import Any, Callable

import pytest

from tests.protocol.conftest import EC2Client, GatewayServer, cli_filters

ZONE = "zone1"


# -- facades: one per action, normalized to plain Python values ------------------------------------------------
def _volume_of_boto3(v: dict) -> dict:
    return {"id": v["VolumeId"], "size": v["Size"], "status": v["State"], "zone": v["AvailabilityZone"],
            "snapshot": v.get("SnapshotId") or "", "type": v.get("VolumeType"),
            "tags": {t["Key"]: t["Value"] for t in v.get("Tags", [])},
            "attachments": [{"instance": a["InstanceId"], "device": a["Device"], "status": a["State"],
                             "delete_on_termination": a["DeleteOnTermination"]} for a in v.get("Attachments", [])]}


def _volume_of_boto2(v: Any) -> dict:
    data = v.attach_data
    attachments = []
    if data and data.instance_id:
        attachments.append({"instance": data.instance_id, "device": data.device, "status": data.status,
                            "delete_on_termination": getattr(data, "deleteOnTermination", "false") == "true"})
    return {"id": v.id, "size": v.size, "status": v.status, "zone": v.zone, "snapshot": v.snapshot_id or "",
            "type": v.type, "tags": dict(v.tags), "attachments": attachments}


def create_volume(ec2: EC2Client, size: int | None = None, snapshot: str | None = None, zone: str = ZONE) -> dict:
    if ec2.kind == "boto3":
        kw: dict[str, Any] = {"AvailabilityZone": zone}
        if size is not None:
            kw["Size"] = size
        if snapshot:
            kw["SnapshotId"] = snapshot
        r = ec2.client.create_volume(**kw)
        return {"id": r["VolumeId"], "size": r["Size"], "status": r["State"], "zone": r["AvailabilityZone"],
                "snapshot": r.get("SnapshotId") or "", "type": r.get("VolumeType")}
    if ec2.kind == "boto2":
        v = ec2.conn.create_volume(size, zone, snapshot=snapshot)
        return {"id": v.id, "size": v.size, "status": v.status, "zone": v.zone, "snapshot": v.snapshot_id or "",
                "type": v.type}
    args = ["create-volume", "--availability-zone", zone]
    if size is not None:
        args.append(f"--size={size}")
    if snapshot:
        args += ["--snapshot-id", snapshot]
    r = ec2.cli(*args)
    return {"id": r["VolumeId"], "size": r["Size"], "status": r["State"], "zone": r["AvailabilityZone"],
            "snapshot": r.get("SnapshotId") or "", "type": r.get("VolumeType")}


def describe_volumes(ec2: EC2Client, ids: list[str] = (), filters: dict[str, list[str]] | None = None) -> list[dict]:
    filters = filters or {}
    if ec2.kind == "boto3":
        kw: dict[str, Any] = {"VolumeIds": list(ids)} if ids else {}
        if filters:
            kw["Filters"] = [{"Name": k, "Values": v} for k, v in filters.items()]
        return [_volume_of_boto3(v) for v in ec2.client.describe_volumes(**kw)["Volumes"]]
    if ec2.kind == "boto2":
        return [_volume_of_boto2(v) for v in ec2.conn.get_all_volumes(volume_ids=list(ids) or None,
                                                                      filters=filters or None)]
    args = ["describe-volumes"]
    if ids:
        args += ["--volume-ids", *ids]
    args += cli_filters(filters)
    return [_volume_of_boto3(v) for v in ec2.cli(*args)["Volumes"]]


def volume(ec2: EC2Client, volume_id: str) -> dict:
    found = describe_volumes(ec2, [volume_id])
    assert len(found) == 1
    return found[0]


def wait_volume(ec2: EC2Client, volume_id: str, status: str, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        seen = volume(ec2, volume_id)
        if seen["status"] == status or time.monotonic() > deadline:
            assert seen["status"] == status, seen
            return seen
        time.sleep(0.1)


def attach(ec2: EC2Client, volume_id: str, instance_id: str, device: str) -> str:
    if ec2.kind == "boto3":
        return ec2.client.attach_volume(VolumeId=volume_id, InstanceId=instance_id, Device=device)["State"]
    if ec2.kind == "boto2":
        return ec2.conn.attach_volume(volume_id, instance_id, device)
    return ec2.cli("attach-volume", "--volume-id", volume_id, "--instance-id", instance_id,
                   "--device", device)["State"]


def detach(ec2: EC2Client, volume_id: str, instance_id: str | None = None, device: str | None = None,
           force: bool = False) -> str:
    if ec2.kind == "boto3":
        kw: dict[str, Any] = {"VolumeId": volume_id}
        if instance_id:
            kw["InstanceId"] = instance_id
        if device:
            kw["Device"] = device
        if force:
            kw["Force"] = True
        return ec2.client.detach_volume(**kw)["State"]
    if ec2.kind == "boto2":
        return ec2.conn.detach_volume(volume_id, instance_id, device, force=force)
    args = ["detach-volume", "--volume-id", volume_id]
    if instance_id:
        args += ["--instance-id", instance_id]
    if device:
        args += ["--device", device]
    if force:
        args.append("--force")
    return ec2.cli(*args)["State"]


def delete_volume(ec2: EC2Client, volume_id: str) -> None:
    if ec2.kind == "boto3":
        ec2.client.delete_volume(VolumeId=volume_id)
    elif ec2.kind == "boto2":
        assert ec2.conn.delete_volume(volume_id) is True
    else:
        ec2.cli("delete-volume", "--volume-id", volume_id)


# -- an instance to attach to ------------------------------------------------------------------------------------
def launch(ec2: EC2Client) -> str:
    """A running instance of EC2's user: RunInstances through boto3 when the gateway has it, else a VM deployed
    on the simulator directly (EC2 calls accept its CloudStack uuid)."""
    c = EC2Client("boto3", ec2.server, ec2.keys).client
    try:
        images = [i for i in c.describe_images()["Images"] if i.get("State") == "available"]
        made = c.run_instances(ImageId=sorted(images, key=lambda i: i["Name"])[0]["ImageId"], MinCount=1,
                               MaxCount=1, InstanceType="m1.small")
        instance_id = made["Instances"][0]["InstanceId"]
    except Exception:  # the instances family is not there (yet): use CloudStack itself
        return _deploy(ec2.server, ec2.keys)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        state = c.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"]
        if state["Name"] == "running":
            return instance_id
        time.sleep(0.1)
    raise AssertionError(f"{instance_id} never ran")


def _deploy(server: GatewayServer, keys: Any) -> str:
    user = {"apikey": keys.access_key, "secretkey": keys.secret_key}
    _, zones = server.cloudstack(user, "listZones")
    _, offerings = server.cloudstack(user, "listServiceOfferings", name="m1.small")
    _, templates = server.cloudstack(user, "listTemplates", templatefilter="executable")
    template = next(t for t in templates["template"] if t.get("isready"))
    status, started = server.cloudstack(user, "deployVirtualMachine", zoneid=zones["zone"][0]["id"],
                                        serviceofferingid=offerings["serviceoffering"][0]["id"],
                                        templateid=template["id"])
    assert status == 200, started
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        _, vms = server.cloudstack(user, "listVirtualMachines", id=started["id"])
        if vms["virtualmachine"][0]["state"] == "Running":
            return started["id"]
        time.sleep(0.1)
    raise AssertionError("the VM never ran")


def set_limit(server: GatewayServer, account_name: str, resource: str, value: int) -> None:
    """Change an account's CloudStack resource limit ("volume", "snapshot") in the simulator's state."""
    from ec2soap.cloudstack.simulator.engine import Caller, Ctx

    sim = server.simulator

    def go(conn: Any) -> None:
        ctx = Ctx(sim, conn, Caller(user={}, account={"accounttype": 1}), "test", time.time())
        account = ctx.find("account", name=account_name)[0]
        account["limits"][resource] = value
        ctx.save("account", account)
    sim.store.run_sync(go)


# -- scenarios -----------------------------------------------------------------------------------------------------
def test_create_describe_delete(ec2: EC2Client) -> None:
    made = create_volume(ec2, size=5)
    assert made["id"].startswith("vol-") and made["size"] == 5 and made["zone"] == ZONE
    assert made["status"] == "creating" and made["snapshot"] == ""
    if ec2.kind != "boto2":  # boto 2.49 asks for 2014-10-01, volumeType is older than that; boto2 reads it too
        assert made["type"] == "standard"
    seen = wait_volume(ec2, made["id"], "available")
    assert seen["size"] == 5 and seen["zone"] == ZONE and seen["attachments"] == [] and seen["tags"] == {}
    assert seen["type"] == "standard"
    other = create_volume(ec2, size=7)
    wait_volume(ec2, other["id"], "available")
    assert {v["id"] for v in describe_volumes(ec2)} == {made["id"], other["id"]}
    assert [v["id"] for v in describe_volumes(ec2, filters={"size": ["5"]})] == [made["id"]]
    assert {v["id"] for v in describe_volumes(ec2, filters={"status": ["available"],
                                                            "availability-zone": [ZONE]})} == {made["id"], other["id"]}
    assert [v["id"] for v in describe_volumes(ec2, filters={"volume-id": [other["id"]]})] == [other["id"]]
    assert describe_volumes(ec2, filters={"status": ["in-use"]}) == []
    assert {v["id"] for v in describe_volumes(ec2, filters={"create-time": ["20*"]})} == {made["id"], other["id"]}
    delete_volume(ec2, made["id"])
    assert [v["id"] for v in describe_volumes(ec2)] == [other["id"]]
    with ec2.failure() as failure:
        describe_volumes(ec2, [made["id"]])
    assert failure.value.code == "InvalidVolume.NotFound"
    with ec2.failure() as failure:
        delete_volume(ec2, made["id"])
    assert failure.value.code == "InvalidVolume.NotFound"


def test_create_errors(ec2: EC2Client) -> None:
    with ec2.failure() as failure:
        create_volume(ec2, size=5, zone="atlantis")
    assert failure.value.code == "InvalidZone.NotFound"
    with ec2.failure() as failure:
        create_volume(ec2)
    assert failure.value.code == "MissingParameter"
    for size in (99999, -1):
        with ec2.failure() as failure:
            create_volume(ec2, size=size)
        assert failure.value.code == "InvalidParameterValue"
    with ec2.failure() as failure:
        create_volume(ec2, snapshot="snap-0123456789abcdef0")
    assert failure.value.code == "InvalidSnapshot.NotFound"
    assert describe_volumes(ec2) == []


def test_volume_type_other_than_standard_is_refused(ec2: EC2Client) -> None:
    if ec2.kind != "boto3":
        pytest.skip("one client is enough for a parameter check")
    with ec2.failure() as failure:
        ec2.client.create_volume(AvailabilityZone=ZONE, Size=1, VolumeType="io1")
    assert failure.value.code == "InvalidParameterValue"
    # Iops is never applied (CloudStack's disk offerings decide it): refused, not dropped.
    with ec2.failure() as failure:
        ec2.client.create_volume(AvailabilityZone=ZONE, Size=1, VolumeType="standard", Iops=100)
    assert failure.value.code == "UnknownParameter" and "Iops" in failure.value.message
    assert ec2.client.create_volume(AvailabilityZone=ZONE, Size=1, VolumeType="standard")["Size"] == 1


def test_tags(ec2: EC2Client) -> None:
    """TagSpecification on CreateVolume (boto3 and awscli send it), CreateTags afterwards, and tag filters."""
    if ec2.kind == "boto2":
        pytest.skip("boto 2.49 has no TagSpecification")
    if ec2.kind == "boto3":
        made = ec2.client.create_volume(AvailabilityZone=ZONE, Size=1, TagSpecifications=[
            {"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": "data"}, {"Key": "team", "Value": "db"}]}])
    else:
        made = ec2.cli("create-volume", "--availability-zone", ZONE, "--size", "1", "--tag-specifications",
                       "ResourceType=volume,Tags=[{Key=Name,Value=data},{Key=team,Value=db}]")
    assert {t["Key"]: t["Value"] for t in made["Tags"]} == {"Name": "data", "team": "db"}
    plain = create_volume(ec2, size=1)["id"]
    assert volume(ec2, made["VolumeId"])["tags"] == {"Name": "data", "team": "db"}
    assert [v["id"] for v in describe_volumes(ec2, filters={"tag:Name": ["da*"]})] == [made["VolumeId"]]
    assert [v["id"] for v in describe_volumes(ec2, filters={"tag-key": ["team"]})] == [made["VolumeId"]]
    assert {v["id"] for v in describe_volumes(ec2)} == {made["VolumeId"], plain}
    if ec2.kind == "boto3":
        with ec2.failure() as failure:
            ec2.client.create_volume(AvailabilityZone=ZONE, Size=1, TagSpecifications=[
                {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "x"}]}])
        assert failure.value.code == "InvalidParameterValue"
        for bad in ({"Key": "aws:x", "Value": "x"}, {"Key": "empty", "Value": ""}):
            with ec2.failure() as failure:
                ec2.client.create_volume(AvailabilityZone=ZONE, Size=1, TagSpecifications=[
                    {"ResourceType": "volume", "Tags": [bad]}])
            assert failure.value.code == "InvalidParameterValue"
        assert len(describe_volumes(ec2)) == 2


def test_describe_errors(ec2: EC2Client) -> None:
    with ec2.failure() as failure:
        describe_volumes(ec2, ["vol-0123456789abcdef0"])
    assert failure.value.code == "InvalidVolume.NotFound"
    with ec2.failure() as failure:
        describe_volumes(ec2, filters={"colour": ["red"]})
    assert failure.value.code == "InvalidFilter"


def test_pages(ec2: EC2Client) -> None:
    if ec2.kind == "boto2":
        pytest.skip("boto 2's get_all_volumes has no MaxResults")
    made = {create_volume(ec2, size=1)["id"] for _ in range(6)}
    if ec2.kind == "boto3":
        first = ec2.client.describe_volumes(MaxResults=5)
        second = ec2.client.describe_volumes(MaxResults=5, NextToken=first["NextToken"])
        assert "NextToken" not in second
        pages = [first["Volumes"], second["Volumes"]]
        assert {v["VolumeId"] for page in ec2.client.get_paginator("describe_volumes").paginate(
            PaginationConfig={"PageSize": 5}) for v in page["Volumes"]} == made
    else:
        first = ec2.cli("describe-volumes", "--max-results", "5")
        second = ec2.cli("describe-volumes", "--max-results", "5", "--next-token", first["NextToken"])
        assert "NextToken" not in second
        pages = [first["Volumes"], second["Volumes"]]
    assert [len(p) for p in pages] == [5, 1]
    assert {v["VolumeId"] for p in pages for v in p} == made


def test_attach_detach(ec2: EC2Client) -> None:
    instance = launch(ec2)
    data = create_volume(ec2, size=2)["id"]
    spare = create_volume(ec2, size=1)["id"]
    wait_volume(ec2, data, "available")
    wait_volume(ec2, spare, "available")
    # /dev/sdd: the original had no device id for the letter d.
    # EC2 answers at once, before the attach is done; DescribeVolumes shows its end.
    assert attach(ec2, data, instance, "/dev/sdd") == "attaching"
    seen = wait_volume(ec2, data, "in-use")
    [attachment] = seen["attachments"]
    assert attachment["device"] == "/dev/sdd" and attachment["status"] == "attached"
    assert attachment["delete_on_termination"] is False
    if instance.startswith("i-"):
        assert attachment["instance"] == instance
    ec2_instance = attachment["instance"]
    # The instance's ROOT volume is in-use too, at /dev/sda1, and goes with the instance.
    on_instance = describe_volumes(ec2, filters={"attachment.instance-id": [ec2_instance]})
    assert {v["attachments"][0]["device"] for v in on_instance} == {"/dev/sda1", "/dev/sdd"}
    root = next(v for v in on_instance if v["id"] != data)
    assert root["status"] == "in-use" and root["attachments"][0]["delete_on_termination"] is True
    assert [v["id"] for v in describe_volumes(ec2, filters={"attachment.device": ["/dev/sdd"]})] == [data]
    assert {v["id"] for v in describe_volumes(ec2, filters={"status": ["available"]})} == {spare}

    with ec2.failure() as failure:
        delete_volume(ec2, data)
    assert failure.value.code == "VolumeInUse"
    with ec2.failure() as failure:
        attach(ec2, data, instance, "/dev/sdf")
    assert failure.value.code == "VolumeInUse"
    with ec2.failure() as failure:
        attach(ec2, spare, instance, "/dev/xvdd")
    assert failure.value.code == "InvalidDevice.InUse"
    with ec2.failure() as failure:
        attach(ec2, spare, instance, "/dev/floppy")
    assert failure.value.code == "InvalidParameterValue"
    with ec2.failure() as failure:
        attach(ec2, spare, "i-0123456789abcdef0", "/dev/sdf")
    assert failure.value.code == "InvalidInstanceID.NotFound"
    with ec2.failure() as failure:
        detach(ec2, data, instance_id="i-0123456789abcdef0")
    assert failure.value.code == "InvalidAttachment.NotFound"
    with ec2.failure() as failure:
        detach(ec2, data, device="/dev/sdh")
    assert failure.value.code == "InvalidAttachment.NotFound"

    assert detach(ec2, data, instance_id=ec2_instance, device="/dev/sdd", force=True) == "detaching"
    assert wait_volume(ec2, data, "available")["attachments"] == []
    with ec2.failure() as failure:
        detach(ec2, data)
    assert failure.value.code == "IncorrectState"
    assert attach(ec2, data, instance, "xvdf") == "attaching"
    with ec2.failure() as failure:
        # The attach is still running: a second one is refused, not queued behind it.
        attach(ec2, data, instance, "/dev/sdg")
    assert failure.value.code in ("IncorrectState", "VolumeInUse")
    with ec2.failure() as failure:
        delete_volume(ec2, data)
    assert failure.value.code in ("IncorrectState", "VolumeInUse")
    assert wait_volume(ec2, data, "in-use")["attachments"][0]["device"] == "/dev/sdf"
    assert detach(ec2, data) == "detaching"
    with ec2.failure() as failure:
        detach(ec2, data)
    assert failure.value.code == "IncorrectState"
    wait_volume(ec2, data, "available")
    delete_volume(ec2, data)


def test_volume_limit(ec2: EC2Client, gateway_server: GatewayServer) -> None:
    set_limit(gateway_server, ec2.keys.account, "volume", 1)
    create_volume(ec2, size=1)
    with ec2.failure() as failure:
        create_volume(ec2, size=1)
    assert failure.value.code == "VolumeLimitExceeded"


def test_volumes_are_per_user(ec2: EC2Client, new_user: Callable[[], Any], ec2_of: Callable[..., EC2Client]) -> None:
    mine = create_volume(ec2, size=3)["id"]
    other = ec2_of(ec2.kind, new_user())
    assert describe_volumes(other) == []
    with other.failure() as failure:
        describe_volumes(other, [mine])
    assert failure.value.code == "InvalidVolume.NotFound"
    with other.failure() as failure:
        delete_volume(other, mine)
    assert failure.value.code == "InvalidVolume.NotFound"
    theirs = launch(other)
    with other.failure() as failure:
        attach(other, mine, theirs, "/dev/sdf")
    assert failure.value.code == "InvalidVolume.NotFound"
    assert [v["id"] for v in describe_volumes(ec2)] == [mine]
