"""Zones, regions and account attributes through boto3, boto 2 and awscli."""
from __future__ import annotations

from typing import Any

import pytest

from tests.protocol.conftest import REGION, EC2Client, cli_filters


def zones(ec2: EC2Client, names: list[str] = (), filters: dict[str, list[str]] | None = None) -> list[dict]:
    filters = filters or {}
    if ec2.kind == "boto3":
        kw: dict[str, Any] = {"ZoneNames": list(names)} if names else {}
        if filters:
            kw["Filters"] = [{"Name": k, "Values": v} for k, v in filters.items()]
        return [{"name": z["ZoneName"], "state": z["State"], "region": z["RegionName"],
                 "messages": [m["Message"] for m in z.get("Messages", [])]}
                for z in ec2.client.describe_availability_zones(**kw)["AvailabilityZones"]]
    if ec2.kind == "boto2":
        return [{"name": z.name, "state": z.state, "region": z.region_name, "messages": list(z.messages or [])}
                for z in ec2.conn.get_all_zones(zones=list(names) or None, filters=filters or None)]
    args = ["describe-availability-zones"]
    if names:
        args += ["--zone-names", *names]
    args += cli_filters(filters)
    return [{"name": z["ZoneName"], "state": z["State"], "region": z["RegionName"],
             "messages": [m["Message"] for m in z.get("Messages", [])]}
            for z in ec2.cli(*args)["AvailabilityZones"]]


def regions(ec2: EC2Client, names: list[str] = ()) -> dict[str, str]:
    if ec2.kind == "boto3":
        kw = {"RegionNames": list(names)} if names else {}
        return {r["RegionName"]: r["Endpoint"] for r in ec2.client.describe_regions(**kw)["Regions"]}
    if ec2.kind == "boto2":
        return {r.name: r.endpoint for r in ec2.conn.get_all_regions(region_names=list(names) or None)}
    args = ["describe-regions"] + (["--region-names", *names] if names else [])
    return {r["RegionName"]: r["Endpoint"] for r in ec2.cli(*args)["Regions"]}


def test_describe_zones(ec2: EC2Client) -> None:
    found = zones(ec2)
    # The simulator's Basic zone1 (EC2-Classic) and Advanced zone2 (VPCs), as CloudStack lists them.
    assert found == [{"name": name, "state": "available", "region": REGION, "messages": []}
                     for name in ("zone1", "zone2")]
    assert [z["name"] for z in zones(ec2, ["ZONE1"])] == ["zone1"]  # matched case-insensitively
    assert [z["name"] for z in zones(ec2, filters={"zone-name": ["zone*"]})] == ["zone1", "zone2"]
    assert [z["name"] for z in zones(ec2, filters={"zone-name": ["*2"]})] == ["zone2"]
    assert [z["name"] for z in zones(ec2, filters={"state": ["available"], "region-name": [REGION]})] == [
        "zone1", "zone2"]
    assert zones(ec2, filters={"zone-name": ["nowhere"]}) == []


def test_unknown_zone_is_invalid(ec2: EC2Client) -> None:
    with ec2.failure() as failure:
        zones(ec2, ["atlantis-1a"])
    assert failure.value.code == "InvalidParameterValue"
    assert "atlantis-1a" in failure.value.message


def test_unknown_zone_filter_is_invalid(ec2: EC2Client) -> None:
    with ec2.failure() as failure:
        zones(ec2, filters={"colour": ["red"]})
    assert failure.value.code == "InvalidFilter"


def test_describe_regions(ec2: EC2Client) -> None:
    host = ec2.server.url.split("://", 1)[1]
    if ec2.kind == "boto2":
        host = "127.0.0.1:" + host.rsplit(":", 1)[1]  # boto 2 sends the port in Host too
    assert regions(ec2) == {REGION: host}
    assert regions(ec2, [REGION]) == {REGION: host}
    with ec2.failure() as failure:
        regions(ec2, ["us-east-1"])
    assert failure.value.code == "InvalidParameterValue"


def test_boto2_follows_the_region_endpoint(gateway_server: Any, new_user: Any, ec2_of: Any) -> None:
    """boto 2's connect_to_region-style use: the endpoint we answer is one it can talk to again."""
    pytest.importorskip("boto")
    ec2 = ec2_of("boto2", new_user())
    region = ec2.conn.get_all_regions()[0]
    assert region.name == REGION and region.endpoint.startswith("127.0.0.1:")


def account_attributes(ec2: EC2Client, names: list[str] = ()) -> dict[str, list[str]]:
    if ec2.kind == "boto3":
        kw = {"AttributeNames": list(names)} if names else {}
        found = ec2.client.describe_account_attributes(**kw)["AccountAttributes"]
    elif ec2.kind == "awscli":
        args = ["describe-account-attributes"] + (["--attribute-names", *names] if names else [])
        found = ec2.cli(*args)["AccountAttributes"]
    else:
        pytest.skip("boto 2 has no DescribeAccountAttributes")
    return {a["AttributeName"]: [v["AttributeValue"] for v in a["AttributeValues"]] for a in found}


def test_account_attributes(ec2: EC2Client) -> None:
    found = account_attributes(ec2)
    # A Basic zone (EC2-Classic) and an Advanced one (VPC): the default VPC is made on this first question.
    assert found["supported-platforms"] == ["EC2", "VPC"]
    [default_vpc] = found["default-vpc"]
    assert default_vpc.startswith("vpc-")
    assert int(found["vpc-max-elastic-ips"][0]) >= -1
    assert int(found["max-instances"][0]) >= -1 and int(found["max-elastic-ips"][0]) >= -1
    assert list(found) == ["supported-platforms", "default-vpc", "max-instances",
                           "vpc-max-security-groups-per-interface", "max-elastic-ips", "vpc-max-elastic-ips"]
    assert account_attributes(ec2, ["default-vpc", "supported-platforms"]) == {
        "default-vpc": [default_vpc], "supported-platforms": ["EC2", "VPC"]}
    with ec2.failure() as failure:
        account_attributes(ec2, ["favourite-colour"])
    assert failure.value.code == "InvalidParameterValue"


def test_limits_are_the_accounts_limits(ec2: EC2Client) -> None:
    """A fresh simulator user may run 20 VMs and hold 20 public IPs (listResourceLimits types 0 and 1)."""
    if ec2.kind == "boto2":
        pytest.skip("boto 2 has no DescribeAccountAttributes")
    assert account_attributes(ec2, ["max-instances", "max-elastic-ips"]) == {
        "max-instances": ["20"], "max-elastic-ips": ["20"]}
