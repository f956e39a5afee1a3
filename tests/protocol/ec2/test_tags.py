"""Tags through boto3, boto 2 and awscli: create (and overwrite), describe with filters and pages, delete by key,
by key and value and all, on security groups, instances, volumes and Elastic IPs; the original's type:uuid ids; errors;
isolation."""
from __future__ import annotations

from typing import Any

from tests.protocol.conftest import EC2Client
from tests.protocol.ec2.test_addresses import allocate, run_instance


def group(ec2: EC2Client, name: str) -> str:
    """A new security group's sg- id (through boto3, whatever the client under test)."""
    import boto3

    client = boto3.client("ec2", endpoint_url=ec2.server.url, region_name="cloudstack",
                          aws_access_key_id=ec2.keys.access_key, aws_secret_access_key=ec2.keys.secret_key)
    return client.create_security_group(GroupName=name, Description="tagged")["GroupId"]


def create(ec2: EC2Client, resources: list[str], tags: dict[str, str]) -> None:
    if ec2.kind == "boto3":
        ec2.client.create_tags(Resources=resources, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    elif ec2.kind == "boto2":
        assert ec2.conn.create_tags(resources, tags) is True
    else:
        ec2.cli("create-tags", "--resources", *resources, "--tags",
                *[f"Key={k},Value={v}" for k, v in tags.items()])


def delete(ec2: EC2Client, resources: list[str], tags: dict[str, str | None] | None = None) -> None:
    """TAGS None deletes every tag; a None value deletes the key whatever its value."""
    if ec2.kind == "boto3":
        kw: dict[str, Any] = {}
        if tags is not None:
            kw["Tags"] = [{"Key": k, **({"Value": v} if v is not None else {})} for k, v in tags.items()]
        ec2.client.delete_tags(Resources=resources, **kw)
    elif ec2.kind == "boto2" and tags is None:
        # boto 2's delete_tags cannot send no tags at all; its own request machinery can.
        params: dict[str, str] = {}
        ec2.conn.build_list_params(params, resources, "ResourceId")
        assert ec2.conn.get_status("DeleteTags", params, verb="POST") is True
    elif ec2.kind == "boto2":
        assert ec2.conn.delete_tags(resources, tags) is True
    else:
        args = ["delete-tags", "--resources", *resources]
        if tags is not None:
            args += ["--tags", *[f"Key={k}" + (f",Value={v}" if v is not None else "") for k, v in tags.items()]]
        ec2.cli(*args)


def describe(ec2: EC2Client, filters: dict[str, list[str]] | None = None) -> set[tuple[str, str, str, str]]:
    """{(resource id, resource type, key, value)}."""
    filters = filters or {}
    if ec2.kind == "boto2":
        return {(t.res_id, t.res_type, t.name, t.value) for t in ec2.conn.get_all_tags(filters=filters or None)}
    if ec2.kind == "boto3":
        kw: dict[str, Any] = {}
        if filters:
            kw["Filters"] = [{"Name": k, "Values": v} for k, v in filters.items()]
        found = ec2.client.describe_tags(**kw)["Tags"]
    else:
        args = ["describe-tags"]
        if filters:
            # One --filters with every filter: awscli keeps only the last of repeated --filters options.
            args += ["--filters", *[f"Name={k},Values={','.join(v)}" for k, v in filters.items()]]
        found = ec2.cli(*args)["Tags"]
    return {(t["ResourceId"], t["ResourceType"], t["Key"], t["Value"]) for t in found}


def test_tags_on_a_security_group(ec2: EC2Client) -> None:
    web, db = group(ec2, "web"), group(ec2, "db")
    create(ec2, [web, db], {"env": "prod", "team": "blue"})
    create(ec2, [db], {"role": "database"})
    assert describe(ec2) == {(web, "security-group", "env", "prod"), (web, "security-group", "team", "blue"),
                             (db, "security-group", "env", "prod"), (db, "security-group", "team", "blue"),
                             (db, "security-group", "role", "database")}
    assert describe(ec2, {"resource-id": [db], "key": ["r*"]}) == {(db, "security-group", "role", "database")}
    assert {t[0] for t in describe(ec2, {"value": ["pro?"]})} == {web, db}
    assert len(describe(ec2, {"resource-type": ["security-group"]})) == 5
    assert describe(ec2, {"resource-type": ["instance"]}) == set()
    # A key the resource has gets the new value.
    create(ec2, [web], {"env": "staging"})
    assert describe(ec2, {"resource-id": [web], "key": ["env"]}) == {(web, "security-group", "env", "staging")}
    # Key and value: only that pair; a value that does not match deletes nothing.
    delete(ec2, [web, db], {"env": "prod"})
    assert describe(ec2, {"key": ["env"]}) == {(web, "security-group", "env", "staging")}
    delete(ec2, [web], {"team": None})
    assert describe(ec2, {"resource-id": [web]}) == {(web, "security-group", "env", "staging")}
    delete(ec2, [db])
    assert describe(ec2, {"resource-id": [db]}) == set()
    delete(ec2, [db], {"nothing": None})  # nothing to delete is no error


def volume(ec2: EC2Client) -> str:
    """A new 1 GiB volume's vol- id (through boto3, whatever the client under test)."""
    import boto3

    client = boto3.client("ec2", endpoint_url=ec2.server.url, region_name="cloudstack",
                          aws_access_key_id=ec2.keys.access_key, aws_secret_access_key=ec2.keys.secret_key)
    zone = client.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]
    return client.create_volume(AvailabilityZone=zone, Size=1)["VolumeId"]


def test_tags_on_instances_volumes_and_addresses(ec2: EC2Client) -> None:
    instance = run_instance(ec2)
    address = allocate(ec2)["allocation"]
    disk = volume(ec2)
    create(ec2, [instance, address, disk], {"Name": "front"})
    assert describe(ec2) == {(instance, "instance", "Name", "front"), (address, "elastic-ip", "Name", "front"),
                             (disk, "volume", "Name", "front")}
    assert describe(ec2, {"resource-type": ["elastic-ip"]}) == {(address, "elastic-ip", "Name", "front")}
    assert describe(ec2, {"resource-id": [disk]}) == {(disk, "volume", "Name", "front")}
    delete(ec2, [instance, disk], {"Name": "front"})
    assert describe(ec2) == {(address, "elastic-ip", "Name", "front")}


def test_unknown_and_malformed_ids(ec2: EC2Client) -> None:
    with ec2.failure() as failure:
        create(ec2, ["sg-0123456789abcdef0"], {"a": "b"})
    assert failure.value.code == "InvalidGroup.NotFound"
    with ec2.failure() as failure:
        create(ec2, ["i-0123456789abcdef0"], {"a": "b"})
    assert failure.value.code == "InvalidInstanceID.NotFound"
    with ec2.failure() as failure:
        create(ec2, ["nonsense"], {"a": "b"})
    assert failure.value.code == "InvalidID"
    with ec2.failure() as failure:
        describe(ec2, {"colour": ["red"]})
    assert failure.value.code == "InvalidFilter"


def test_legacy_type_uuid_ids(ec2: EC2Client) -> None:
    sg = group(ec2, "legacy")
    status, body = ec2.server.cloudstack({"apikey": ec2.keys.access_key, "secretkey": ec2.keys.secret_key},
                                         "listSecurityGroups", securitygroupname="legacy")
    assert status == 200
    uuid = body["securitygroup"][0]["id"]
    create(ec2, [f"security-group:{uuid}"], {"old": "style"})
    assert describe(ec2) == {(sg, "security-group", "old", "style")}
    delete(ec2, [f"securityGroup:{uuid}"], {"old": None})
    assert describe(ec2) == set()


def test_tags_are_per_user(ec2: EC2Client, new_user: Any, ec2_of: Any) -> None:
    """Another account's resources are NotFound to every tag action, as in EC2, and nothing changes on them."""
    sg = group(ec2, "mine")
    disk = volume(ec2)
    create(ec2, [sg, disk], {"owner": "me"})
    other = ec2_of(ec2.kind, new_user())
    assert describe(other) == set()
    mine = group(other, "theirs")
    for resource, code in ((sg, "InvalidGroup.NotFound"), (disk, "InvalidVolume.NotFound")):
        with other.failure() as failure:
            create(other, [resource], {"owner": "them"})
        assert failure.value.code == code
        for tags in (None, {"owner": None}, {"owner": "me"}):
            with other.failure() as failure:
                delete(other, [resource], tags)
            assert failure.value.code == code, tags
        # One foreign id among the caller's own: refused as a whole, the caller's resource untouched too.
        with other.failure() as failure:
            create(other, [mine, resource], {"owner": "them"})
        assert failure.value.code == code
        assert describe(other) == set()
    assert describe(ec2) == {(sg, "security-group", "owner", "me"), (disk, "volume", "owner", "me")}


def test_tags_show_on_security_groups_and_pages(gateway_server: Any, new_user: Any, ec2_of: Any) -> None:
    ec2 = ec2_of("boto3", new_user())
    client = ec2.client
    sg = group(ec2, "shown")
    client.create_tags(Resources=[sg], Tags=[{"Key": f"k{i}", "Value": f"v{i}"} for i in range(7)])
    got = client.describe_security_groups(GroupIds=[sg])["SecurityGroups"][0]
    assert {t["Key"]: t["Value"] for t in got["Tags"]} == {f"k{i}": f"v{i}" for i in range(7)}
    found = client.describe_security_groups(Filters=[{"Name": "tag:k3", "Values": ["v3"]}])["SecurityGroups"]
    assert [g["GroupId"] for g in found] == [sg]
    first = client.describe_tags(MaxResults=5)
    assert len(first["Tags"]) == 5 and first["NextToken"]
    second = client.describe_tags(MaxResults=5, NextToken=first["NextToken"])
    assert len(second["Tags"]) == 2 and "NextToken" not in second
    assert {t["Key"] for t in first["Tags"] + second["Tags"]} == {f"k{i}" for i in range(7)}
