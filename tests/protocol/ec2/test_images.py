"""Images through boto3, boto 2 and awscli: the seeded featured images, filters and owners, register/deregister,
create from an instance, image attributes (description, launch permissions between two users), isolation."""
from __future__ import annotations

import json
import time
from typing import Any, Callable

import pytest

from tests.protocol.conftest import REGION, EC2Client, cli_filters

UBUNTU = "Ubuntu 22.04 LTS (Simulator)"
WINDOWS = "Windows Server 2019 (Simulator)"
SEEDED = {"CentOS 5.6 (64-bit) no GUI (Simulator)", UBUNTU, "CentOS 7 with password reset (Simulator)", WINDOWS}
URL = "http://images.example.com/ubuntu-22.04-server.qcow2"


# -- facades -------------------------------------------------------------------------------------------------------
def _from_boto3(i: dict) -> dict:
    return {"id": i["ImageId"], "name": i.get("Name"), "state": i["State"], "public": i["Public"],
            "owner": i["OwnerId"], "alias": i.get("ImageOwnerAlias"), "arch": i.get("Architecture"),
            "type": i.get("ImageType"), "platform": i.get("Platform"), "description": i.get("Description"),
            "hypervisor": i.get("Hypervisor"), "root": i.get("RootDeviceType"),
            "created": i.get("CreationDate")}


def describe(ec2: EC2Client, ids: list[str] = (), owners: list[str] = (), executable_by: list[str] = (),
             filters: dict[str, list[str]] | None = None) -> dict[str, dict]:
    """{image id: normalized image}"""
    filters = filters or {}
    if ec2.kind == "boto3":
        kw: dict[str, Any] = {}
        if ids:
            kw["ImageIds"] = list(ids)
        if owners:
            kw["Owners"] = list(owners)
        if executable_by:
            kw["ExecutableUsers"] = list(executable_by)
        if filters:
            kw["Filters"] = [{"Name": k, "Values": v} for k, v in filters.items()]
        found = [_from_boto3(i) for i in ec2.client.describe_images(**kw)["Images"]]
    elif ec2.kind == "boto2":
        found = [{"id": i.id, "name": i.name, "state": i.state, "public": i.is_public, "owner": i.owner_id,
                  "alias": i.owner_alias, "arch": i.architecture, "type": i.type, "platform": i.platform,
                  "description": i.description, "hypervisor": i.hypervisor, "root": i.root_device_type,
                  "created": None}
                 for i in ec2.conn.get_all_images(image_ids=list(ids) or None, owners=list(owners) or None,
                                                  executable_by=list(executable_by) or None,
                                                  filters=filters or None)]
    else:
        args = ["describe-images"]
        if ids:
            args += ["--image-ids", *ids]
        if owners:
            args += ["--owners", *owners]
        if executable_by:
            args += ["--executable-users", *executable_by]
        args += cli_filters(filters)
        found = [_from_boto3(i) for i in ec2.cli(*args)["Images"]]
    return {i["id"]: i for i in found}


def register(ec2: EC2Client, name: str, url: str = URL, description: str | None = None,
             architecture: str | None = None) -> str:
    if ec2.kind == "boto3":
        kw = {k: v for k, v in (("Description", description), ("Architecture", architecture)) if v}
        return ec2.client.register_image(Name=name, ImageLocation=url, **kw)["ImageId"]
    if ec2.kind == "boto2":
        return ec2.conn.register_image(name=name, image_location=url, description=description,
                                       architecture=architecture)
    # awscli v1 fetches an http(s) URL given as an option value (cli_follow_urlparam), so the location goes
    # in through --cli-input-json, as its users do. --architecture is an enum there: only i386/x86_64.
    body = {"Name": name, "ImageLocation": url, **({"Description": description} if description else {}),
            **({"Architecture": architecture} if architecture else {})}
    return ec2.cli("register-image", "--cli-input-json", json.dumps(body))["ImageId"]


def deregister(ec2: EC2Client, image_id: str) -> None:
    if ec2.kind == "boto3":
        ec2.client.deregister_image(ImageId=image_id)
    elif ec2.kind == "boto2":
        assert ec2.conn.deregister_image(image_id) is True
    else:
        ec2.cli("deregister-image", "--image-id", image_id)


def create_image(ec2: EC2Client, instance_id: str, name: str, description: str | None = None,
                 no_reboot: bool = False) -> str:
    if ec2.kind == "boto3":
        kw = {"Description": description} if description else {}
        return ec2.client.create_image(InstanceId=instance_id, Name=name, NoReboot=no_reboot, **kw)["ImageId"]
    if ec2.kind == "boto2":
        return ec2.conn.create_image(instance_id, name, description=description, no_reboot=no_reboot)
    args = ["create-image", "--instance-id", instance_id, "--name", name]
    if description:
        args += ["--description", description]
    if no_reboot:
        args.append("--no-reboot")
    return ec2.cli(*args)["ImageId"]


def get_attribute(ec2: EC2Client, image_id: str, attribute: str) -> Any:
    """description → str; launchPermission → {"users": [...], "groups": [...]}"""
    if ec2.kind == "boto2":
        found = ec2.conn.get_image_attribute(image_id, attribute)
        if attribute == "description":
            return getattr(found, "value", None)
        return {"users": sorted(found.attrs.get("user_ids", [])), "groups": sorted(found.attrs.get("groups", []))}
    if ec2.kind == "boto3":
        found = ec2.client.describe_image_attribute(ImageId=image_id, Attribute=attribute)
    else:
        found = ec2.cli("describe-image-attribute", "--image-id", image_id, "--attribute", attribute)
    assert found["ImageId"] == image_id
    if attribute == "description":
        return found["Description"].get("Value")
    perms = found["LaunchPermissions"]
    return {"users": sorted(p["UserId"] for p in perms if "UserId" in p),
            "groups": sorted(p["Group"] for p in perms if "Group" in p)}


def set_description(ec2: EC2Client, image_id: str, text: str) -> None:
    if ec2.kind == "boto3":
        ec2.client.modify_image_attribute(ImageId=image_id, Description={"Value": text})
    elif ec2.kind == "boto2":
        # boto 2's modify_image_attribute knows launch permissions only; the Query call is the same.
        assert ec2.conn.get_status("ModifyImageAttribute", {"ImageId": image_id, "Description.Value": text})
    else:
        ec2.cli("modify-image-attribute", "--image-id", image_id, "--description", f"Value={text}")


def launch_permission(ec2: EC2Client, image_id: str, op: str, users: list[str] = (),
                      groups: list[str] = ()) -> None:
    if ec2.kind == "boto3":
        # Both request forms boto3 can send: LaunchPermission.Add.N... and the older UserId.N/UserGroup.N.
        if users:
            entries = [{"UserId": u} for u in users] + [{"Group": g} for g in groups]
            ec2.client.modify_image_attribute(ImageId=image_id,
                                              LaunchPermission={op.capitalize(): entries})
        else:
            ec2.client.modify_image_attribute(ImageId=image_id, Attribute="launchPermission",
                                              OperationType=op, UserGroups=list(groups))
    elif ec2.kind == "boto2":
        assert ec2.conn.modify_image_attribute(image_id, "launchPermission", op, user_ids=list(users) or None,
                                               groups=list(groups) or None)
    else:
        entries = [f"{{UserId={u}}}" for u in users] + [f"{{Group={g}}}" for g in groups]
        ec2.cli("modify-image-attribute", "--image-id", image_id, "--launch-permission",
                f"{op.capitalize()}=[{','.join(entries)}]")


def reset_launch_permission(ec2: EC2Client, image_id: str) -> None:
    if ec2.kind == "boto3":
        ec2.client.reset_image_attribute(ImageId=image_id, Attribute="launchPermission")
    elif ec2.kind == "boto2":
        assert ec2.conn.reset_image_attribute(image_id, "launchPermission")
    else:
        ec2.cli("reset-image-attribute", "--image-id", image_id, "--attribute", "launchPermission")


def wait_state(ec2: EC2Client, image_id: str, state: str, timeout: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        image = describe(ec2, [image_id])[image_id]
        if image["state"] == state or time.monotonic() > deadline:
            assert image["state"] == state
            return image
        time.sleep(0.1)


def _featured(ec2: EC2Client) -> dict[str, str]:
    return {i["name"]: i["id"] for i in describe(ec2, owners=["amazon"]).values()}


# -- instances (RunInstances when the instances family answers, else the simulator) ----------------------------
def stopped_instance(ec2: EC2Client, gateway_server: Any) -> str:
    """An instance of the ec2 user's, stopped; its EC2 id (or CloudStack uuid when RunInstances is missing)."""
    import boto3
    from botocore.exceptions import ClientError

    keys = ec2.keys
    client = boto3.client("ec2", endpoint_url=gateway_server.url, region_name=REGION,
                          aws_access_key_id=keys.access_key, aws_secret_access_key=keys.secret_key)
    try:
        made = client.run_instances(ImageId=_featured(ec2)[UBUNTU], MinCount=1, MaxCount=1)
        instance_id = made["Instances"][0]["InstanceId"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("InvalidAction", "UnsupportedOperation"):
            raise
        return _simulator_instance(gateway_server, keys)
    _wait_instance(client, instance_id, "running")
    client.stop_instances(InstanceIds=[instance_id])
    _wait_instance(client, instance_id, "stopped")
    return instance_id


def _wait_instance(client: Any, instance_id: str, state: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        found = client.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
        if found["State"]["Name"] == state:
            return
        assert time.monotonic() < deadline, found["State"]
        time.sleep(0.1)


def _simulator_instance(gateway_server: Any, keys: Any) -> str:
    user = {"apikey": keys.access_key, "secretkey": keys.secret_key}
    call: Callable[..., tuple[int, dict]] = lambda command, **kw: gateway_server.cloudstack(user, command, **kw)
    zone = call("listZones")[1]["zone"][0]["id"]
    offering = call("listServiceOfferings", name="m1.small")[1]["serviceoffering"][0]["id"]
    template = next(t["id"] for t in call("listTemplates", templatefilter="featured")[1]["template"]
                    if t["name"] == UBUNTU)
    status, job = call("deployVirtualMachine", zoneid=zone, serviceofferingid=offering, templateid=template,
                       startvm="false")
    assert status == 200, job
    deadline = time.monotonic() + 15
    while call("listVirtualMachines", id=job["id"])[1]["virtualmachine"][0]["state"] != "Stopped":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return job["id"]


# -- scenarios -----------------------------------------------------------------------------------------------------
def test_featured_images(ec2: EC2Client, new_user: Any, ec2_of: Any) -> None:
    images = describe(ec2)
    by_name = {i["name"]: i for i in images.values()}
    assert SEEDED <= set(by_name)
    for name in SEEDED:
        image = by_name[name]
        assert image["id"].startswith("ami-") and len(image["id"]) == 21
        assert (image["state"], image["public"], image["arch"], image["type"], image["root"]) == \
               ("available", True, "x86_64", "machine", "ebs")
        assert image["hypervisor"] == "simulator" and image["alias"] == "amazon"
        assert image["description"] == name
    assert by_name[WINDOWS]["platform"] == "windows"
    assert by_name[UBUNTU]["platform"] is None
    if ec2.kind != "boto2":
        assert by_name[UBUNTU]["created"]
    # Ids are stable: across calls, and for another user with another client.
    assert describe(ec2) == images
    other = describe(ec2_of("boto3", new_user()))
    assert {i: other[i]["name"] for i in images} == {i: images[i]["name"] for i in images}


def test_describe_by_id_owner_and_filters(ec2: EC2Client) -> None:
    featured = _featured(ec2)
    assert SEEDED <= set(featured)
    ubuntu = featured[UBUNTU]
    assert list(describe(ec2, [ubuntu])) == [ubuntu]
    assert set(describe(ec2, [ubuntu, featured[WINDOWS]])) == {ubuntu, featured[WINDOWS]}
    assert list(describe(ec2, filters={"name": ["Ubuntu*"]})) == [ubuntu]
    assert list(describe(ec2, filters={"image-id": [ubuntu]})) == [ubuntu]
    assert list(describe(ec2, filters={"platform": ["windows"]})) == [featured[WINDOWS]]
    assert set(describe(ec2, filters={"is-public": ["true"], "state": ["available"]})) >= set(featured.values())
    assert describe(ec2, filters={"is-public": ["false"]}) == {}
    assert describe(ec2, filters={"architecture": ["i386"]}) == {}
    owner = describe(ec2, [ubuntu])[ubuntu]["owner"]
    assert set(describe(ec2, filters={"owner-id": [owner]})) >= set(featured.values())
    assert set(describe(ec2, owners=[owner])) >= set(featured.values())
    assert describe(ec2, owners=["self"]) == {}
    assert set(describe(ec2, executable_by=["all"])) >= set(featured.values())


def test_unknown_image_and_filter(ec2: EC2Client) -> None:
    with ec2.failure() as failure:
        describe(ec2, ["ami-0123456789abcdef0"])
    assert failure.value.code == "InvalidAMIID.NotFound"
    with ec2.failure() as failure:
        describe(ec2, filters={"colour": ["red"]})
    assert failure.value.code == "InvalidFilter"


def test_cloudstack_uuid_is_accepted_as_id(ec2: EC2Client, gateway_server: Any) -> None:
    status, found = gateway_server.cloudstack("demo", "listTemplates", templatefilter="featured", name=UBUNTU)
    assert status == 200
    uuid = found["template"][0]["id"]
    assert [i["name"] for i in describe(ec2, [uuid]).values()] == [UBUNTU]


def test_register_and_deregister(ec2: EC2Client) -> None:
    image_id = register(ec2, "my-ubuntu", description="Ubuntu 22.04 with my tools")
    assert image_id.startswith("ami-")
    image = describe(ec2, [image_id])[image_id]
    assert (image["name"], image["public"], image["description"]) == \
           ("my-ubuntu", False, "Ubuntu 22.04 with my tools")
    assert image["state"] in ("pending", "available")
    wait_state(ec2, image_id, "available")
    assert list(describe(ec2, owners=["self"])) == [image_id]
    assert image_id not in describe(ec2, owners=["amazon"])
    with ec2.failure() as failure:
        register(ec2, "my-ubuntu")
    assert failure.value.code == "InvalidAMIName.Duplicate"
    deregister(ec2, image_id)
    assert describe(ec2, owners=["self"]) == {}
    with ec2.failure() as failure:
        describe(ec2, [image_id])
    assert failure.value.code == "InvalidAMIID.NotFound"
    with ec2.failure() as failure:
        deregister(ec2, image_id)
    assert failure.value.code == "InvalidAMIID.NotFound"


def test_register_with_the_originals_architecture_form(ec2: EC2Client, gateway_server: Any) -> None:
    image_id = register(ec2, "win-custom", url="http://images.example.com/disk.img",
                        architecture="OVA:ZONE1:Windows Server 2019 (64-bit):simulator")
    image = wait_state(ec2, image_id, "available")
    assert image["platform"] == "windows"


def test_register_refuses_bad_input(ec2: EC2Client) -> None:
    with ec2.failure() as failure:
        register(ec2, "from-s3", url="my-bucket/image.manifest.xml")
    assert failure.value.code == "InvalidParameterValue"
    with ec2.failure() as failure:
        register(ec2, "nowhere", architecture="QCOW2:atlantis::")
    assert failure.value.code == "InvalidZone.NotFound"


def test_featured_images_cannot_be_changed(ec2: EC2Client) -> None:
    ubuntu = _featured(ec2)[UBUNTU]
    with ec2.failure() as failure:
        deregister(ec2, ubuntu)
    assert failure.value.code == "AuthFailure"
    with ec2.failure() as failure:
        set_description(ec2, ubuntu, "mine now")
    assert failure.value.code == "AuthFailure"


def test_create_image_from_a_stopped_instance(ec2: EC2Client, gateway_server: Any) -> None:
    instance_id = stopped_instance(ec2, gateway_server)
    image_id = create_image(ec2, instance_id, "my-snapshot-image", description="made from my instance")
    assert image_id.startswith("ami-")
    image = describe(ec2, [image_id])[image_id]
    assert (image["name"], image["description"], image["public"]) == \
           ("my-snapshot-image", "made from my instance", False)
    wait_state(ec2, image_id, "available")
    with ec2.failure() as failure:
        create_image(ec2, instance_id, "my-snapshot-image")
    assert failure.value.code == "InvalidAMIName.Duplicate"
    with ec2.failure() as failure:
        create_image(ec2, "i-0123456789abcdef0", "orphan")
    assert failure.value.code == "InvalidInstanceID.NotFound"


def test_image_attributes_between_two_users(ec2: EC2Client, new_user: Any, ec2_of: Any) -> None:
    image_id = register(ec2, "shared-image", description="first")
    wait_state(ec2, image_id, "available")
    assert get_attribute(ec2, image_id, "description") == "first"
    set_description(ec2, image_id, "second")
    assert get_attribute(ec2, image_id, "description") == "second"
    assert describe(ec2, [image_id])[image_id]["description"] == "second"
    assert get_attribute(ec2, image_id, "launchPermission") == {"users": [], "groups": []}

    other_keys = new_user()
    other = ec2_of(ec2.kind, other_keys)
    with other.failure() as failure:
        describe(other, [image_id])
    assert failure.value.code == "InvalidAMIID.NotFound"

    launch_permission(ec2, image_id, "add", users=[other_keys.account])
    assert get_attribute(ec2, image_id, "launchPermission") == {"users": [other_keys.account], "groups": []}
    assert list(describe(other, [image_id])) == [image_id]
    assert image_id in describe(other, executable_by=["self"])
    assert image_id not in describe(other, owners=["self"])
    launch_permission(ec2, image_id, "remove", users=[other_keys.account])
    with other.failure() as failure:
        describe(other, [image_id])
    assert failure.value.code == "InvalidAMIID.NotFound"

    launch_permission(ec2, image_id, "add", groups=["all"])
    assert get_attribute(ec2, image_id, "launchPermission") == {"users": [], "groups": ["all"]}
    assert describe(other, [image_id])[image_id]["public"] is True
    launch_permission(ec2, image_id, "add", users=[other_keys.account])
    reset_launch_permission(ec2, image_id)
    assert get_attribute(ec2, image_id, "launchPermission") == {"users": [], "groups": []}
    assert describe(ec2, [image_id])[image_id]["public"] is False
    with other.failure() as failure:
        describe(other, [image_id])
    assert failure.value.code == "InvalidAMIID.NotFound"


def test_unknown_attribute_is_invalid(ec2: EC2Client) -> None:
    ubuntu = _featured(ec2)[UBUNTU]
    if ec2.kind == "boto3":
        call = lambda: ec2.client.describe_image_attribute(ImageId=ubuntu, Attribute="sriovNetSupportX")  # noqa
    elif ec2.kind == "boto2":
        call = lambda: ec2.conn.get_image_attribute(ubuntu, "colour")  # noqa: E731
    else:
        pytest.skip("awscli validates --attribute itself")
    with ec2.failure() as failure:
        call()
    assert failure.value.code == "InvalidParameterValue"


def test_users_never_touch_each_others_images(ec2: EC2Client, new_user: Any, ec2_of: Any) -> None:
    image_id = register(ec2, "private-image")
    other = ec2_of(ec2.kind, new_user())
    assert image_id not in describe(other)
    assert describe(other, owners=["self"]) == {}
    for action in (lambda: deregister(other, image_id), lambda: set_description(other, image_id, "x"),
                   lambda: get_attribute(other, image_id, "description")):
        with other.failure() as failure:
            action()
        assert failure.value.code == "InvalidAMIID.NotFound"
    assert list(describe(ec2, owners=["self"])) == [image_id]


def test_image_ids_survive_a_restart(gateway_server: Any, new_user: Any, reactor: Any,
                                     in_reactor: Callable[..., Any], tmp_path: Any) -> None:
    """A second gateway process on the same database (a restart, or a node behind a load balancer) answers
    the same ami- ids: the id map is in the store."""
    import dataclasses

    import boto3
    from ec2soap import server

    keys = new_user()
    first = boto3.client("ec2", endpoint_url=gateway_server.url, region_name=REGION,
                         aws_access_key_id=keys.access_key, aws_secret_access_key=keys.secret_key)
    before = {i["ImageId"]: i["Name"] for i in first.describe_images()["Images"]}
    settings = dataclasses.replace(gateway_server.running.settings, port=0, simulator_port=0)
    running = in_reactor(server.start, settings, reactor)
    try:
        second = boto3.client("ec2", endpoint_url=f"http://127.0.0.1:{running.ports['gateway']}",
                              region_name=REGION, aws_access_key_id=keys.access_key,
                              aws_secret_access_key=keys.secret_key)
        after = {i["ImageId"]: i["Name"] for i in second.describe_images()["Images"]}
    finally:
        in_reactor(running.stop)
        running.store.close()
    assert after == before


def test_create_image_from_a_running_instance(gateway_server: Any, new_user: Any, ec2_of: Any) -> None:
    """CloudStack images only stopped VMs: the instance is stopped, imaged and started again; NoReboot on a
    running instance cannot be honoured and is refused rather than ignored."""
    ec2 = ec2_of("boto3", new_user())
    client = ec2.client
    made = client.run_instances(ImageId=_featured(ec2)[UBUNTU], MinCount=1, MaxCount=1)
    instance_id = made["Instances"][0]["InstanceId"]
    _wait_instance(client, instance_id, "running")
    with ec2.failure() as failure:
        create_image(ec2, instance_id, "no-reboot", no_reboot=True)
    assert failure.value.code == "IncorrectInstanceState"
    image_id = create_image(ec2, instance_id, "while-running")
    assert describe(ec2, [image_id])[image_id]["state"] == "pending"
    wait_state(ec2, image_id, "available")
    _wait_instance(client, instance_id, "running")


def test_tags_on_images(gateway_server: Any, new_user: Any, ec2_of: Any) -> None:
    """tagSet and the tag filters (tag:<key>, tag-key, tag-value) on DescribeImages."""
    ec2 = ec2_of("boto3", new_user())
    image_id = register(ec2, "tagged-image")
    ec2.client.create_tags(Resources=[image_id], Tags=[{"Key": "env", "Value": "prod"}])
    found = ec2.client.describe_images(ImageIds=[image_id])["Images"][0]
    assert found["Tags"] == [{"Key": "env", "Value": "prod"}]
    assert list(describe(ec2, filters={"tag:env": ["prod"]})) == [image_id]
    assert list(describe(ec2, filters={"tag-key": ["env"]})) == [image_id]
    assert describe(ec2, filters={"tag:env": ["dev"]}) == {}
