"""Placement groups as CloudStack affinity groups: Create/Delete/DescribePlacementGroups through boto3 and awscli
(boto 2 for the 2010-11-15 shapes), strategies, names per account, a group in use, filters."""
from __future__ import annotations

import time
from typing import Any, Callable

import pytest

from tests.protocol.conftest import EC2Client, GatewayServer, Keys


def _user(keys: Keys) -> dict:
    return {"apikey": keys.access_key, "secretkey": keys.secret_key}


def _affinity_groups(server: GatewayServer, keys: Keys) -> dict[str, str]:
    status, listed = server.cloudstack(_user(keys), "listAffinityGroups")
    assert status == 200, listed
    return {g["name"]: g["type"] for g in listed.get("affinitygroup", [])}


def test_placement_groups_round_trip_boto3(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    keys = new_user()
    ec2 = EC2Client("boto3", gateway_server, keys)
    client = ec2.client
    client.create_placement_group(GroupName="web", Strategy="spread")
    client.create_placement_group(GroupName="hpc", Strategy="cluster")
    assert _affinity_groups(gateway_server, keys) == {"web": "host anti-affinity", "hpc": "host affinity"}
    groups = client.describe_placement_groups()["PlacementGroups"]
    assert [(g["GroupName"], g["Strategy"], g["State"]) for g in groups] == [
        ("hpc", "cluster", "available"), ("web", "spread", "available")]
    ids = {g["GroupName"]: g["GroupId"] for g in groups}
    assert all(i.startswith("pg-") for i in ids.values()) and len(set(ids.values())) == 2
    by_id = client.describe_placement_groups(GroupIds=[ids["web"]])["PlacementGroups"]
    assert [g["GroupName"] for g in by_id] == ["web"]
    by_name = client.describe_placement_groups(GroupNames=["hpc"])["PlacementGroups"]
    assert [g["GroupId"] for g in by_name] == [ids["hpc"]]
    for name, values, expected in (("strategy", ["spread"], ["web"]), ("group-name", ["h*"], ["hpc"]),
                                   ("state", ["available"], ["hpc", "web"]), ("tag:Name", ["x"], [])):
        found = client.describe_placement_groups(Filters=[{"Name": name, "Values": values}])["PlacementGroups"]
        assert [g["GroupName"] for g in found] == expected, name
    client.delete_placement_group(GroupName="hpc")
    assert [g["GroupName"] for g in client.describe_placement_groups()["PlacementGroups"]] == ["web"]
    with ec2.failure() as failure:
        client.describe_placement_groups(GroupNames=["hpc"])
    assert failure.value.code == "InvalidPlacementGroup.Unknown"


def test_placement_groups_awscli_and_second_user(gateway_server: GatewayServer,
                                                 new_user: Callable[[], Keys]) -> None:
    ec2 = EC2Client("awscli", gateway_server, new_user())
    ec2.cli("create-placement-group", "--group-name", "db", "--strategy", "spread")
    [group] = ec2.cli("describe-placement-groups", "--group-names", "db")["PlacementGroups"]
    assert group["Strategy"] == "spread" and group["State"] == "available" and group["GroupId"].startswith("pg-")
    with ec2.failure() as failure:
        ec2.cli("create-placement-group", "--group-name", "db", "--strategy", "cluster")
    assert failure.value.code == "InvalidPlacementGroup.Duplicate"
    other = EC2Client("boto3", gateway_server, new_user())
    assert other.client.describe_placement_groups()["PlacementGroups"] == []
    with other.failure() as failure:
        other.client.delete_placement_group(GroupName="db")
    assert failure.value.code == "InvalidPlacementGroup.Unknown"
    other.client.create_placement_group(GroupName="db", Strategy="cluster")  # names are per account
    ec2.cli("delete-placement-group", "--group-name", "db")
    assert ec2.cli("describe-placement-groups")["PlacementGroups"] == []
    assert [g["Strategy"] for g in other.client.describe_placement_groups()["PlacementGroups"]] == ["cluster"]


def test_placement_group_in_use(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    keys = new_user()
    ec2 = EC2Client("boto3", gateway_server, keys)
    ec2.client.create_placement_group(GroupName="busy", Strategy="spread")
    user = _user(keys)
    _, groups = gateway_server.cloudstack(user, "listAffinityGroups", name="busy")
    _, zones = gateway_server.cloudstack(user, "listZones")
    _, offerings = gateway_server.cloudstack(user, "listServiceOfferings", name="m1.small")
    _, templates = gateway_server.cloudstack(user, "listTemplates", templatefilter="executable")
    template = next(t for t in templates["template"] if t.get("isready"))
    status, started = gateway_server.cloudstack(
        user, "deployVirtualMachine", zoneid=zones["zone"][0]["id"], templateid=template["id"],
        serviceofferingid=offerings["serviceoffering"][0]["id"], affinitygroupids=groups["affinitygroup"][0]["id"])
    assert status == 200, started
    with ec2.failure() as failure:
        ec2.client.delete_placement_group(GroupName="busy")
    assert failure.value.code == "InvalidPlacementGroup.InUse"
    status, _ = gateway_server.cloudstack(user, "destroyVirtualMachine", id=started["id"])
    assert status == 200
    deadline = time.monotonic() + 10
    while True:
        try:
            ec2.client.delete_placement_group(GroupName="busy")
            break
        except Exception as exc:  # the destroy job may still be running
            if "InvalidPlacementGroup.InUse" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    assert ec2.client.describe_placement_groups()["PlacementGroups"] == []


@pytest.mark.parametrize(("kw", "code"), [
    ({"GroupName": "p", "Strategy": "partition"}, "InvalidParameterValue"),
    ({"GroupName": "p", "Strategy": "spread", "PartitionCount": 2}, "InvalidParameterValue"),
    ({"GroupName": "p", "Strategy": "spread", "SpreadLevel": "rack"}, "InvalidParameterValue"),
    ({"GroupName": "p", "Strategy": "nearby"}, "InvalidParameterValue"),
    ({"GroupName": "p"}, "MissingParameter"),
    ({"GroupName": "p", "Strategy": "spread", "TagSpecifications": [
        {"ResourceType": "placement-group", "Tags": [{"Key": "k", "Value": "v"}]}]}, "InvalidParameterValue"),
])
def test_create_placement_group_refusals(boto3_ec2: Any, kw: dict, code: str) -> None:
    with boto3_ec2.failure() as failure:
        boto3_ec2.client.create_placement_group(**kw)
    assert failure.value.code == code
    assert boto3_ec2.client.describe_placement_groups()["PlacementGroups"] == []


def test_unknown_placement_group_id(boto3_ec2: Any) -> None:
    with boto3_ec2.failure() as failure:
        boto3_ec2.client.describe_placement_groups(GroupIds=["pg-0123456789abcdef0"])
    assert failure.value.code == "InvalidPlacementGroup.Unknown"


@pytest.fixture
def boto3_ec2(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> EC2Client:
    return EC2Client("boto3", gateway_server, new_user())
