"""Elastic IPs through boto3, boto 2 and awscli: allocate, describe (ips, allocation ids, filters), associate
with an instance (and move it), disassociate, release, errors, isolation."""
from __future__ import annotations

from typing import Any

from tests.protocol.conftest import EC2Client


def run_instance(ec2: EC2Client) -> str:
    """An instance to map addresses onto (RunInstances with boto3, whatever the client under test)."""
    import boto3

    client = boto3.client("ec2", endpoint_url=ec2.server.url, region_name="cloudstack",
                          aws_access_key_id=ec2.keys.access_key, aws_secret_access_key=ec2.keys.secret_key)
    image = client.describe_images()["Images"][0]["ImageId"]
    return client.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]


def allocate(ec2: EC2Client) -> dict:
    if ec2.kind == "boto3":
        r = ec2.client.allocate_address()
        return {"ip": r["PublicIp"], "allocation": r["AllocationId"], "domain": r["Domain"]}
    if ec2.kind == "boto2":
        a = ec2.conn.allocate_address()
        return {"ip": a.public_ip, "allocation": a.allocation_id, "domain": a.domain}
    r = ec2.cli("allocate-address")
    return {"ip": r["PublicIp"], "allocation": r["AllocationId"], "domain": r["Domain"]}


def describe(ec2: EC2Client, ips: list[str] = (), allocations: list[str] = (),
             filters: dict[str, list[str]] | None = None) -> dict[str, dict]:
    """{public ip: {"instance", "allocation", "association", "domain"}}."""
    filters = filters or {}
    if ec2.kind == "boto2":
        return {a.public_ip: {"instance": a.instance_id or None, "allocation": a.allocation_id,
                              "association": a.association_id, "domain": a.domain}
                for a in ec2.conn.get_all_addresses(addresses=list(ips) or None, filters=filters or None,
                                                    allocation_ids=list(allocations) or None)}
    if ec2.kind == "boto3":
        kw: dict[str, Any] = {}
        if ips:
            kw["PublicIps"] = list(ips)
        if allocations:
            kw["AllocationIds"] = list(allocations)
        if filters:
            kw["Filters"] = [{"Name": k, "Values": v} for k, v in filters.items()]
        found = ec2.client.describe_addresses(**kw)["Addresses"]
    else:
        args = ["describe-addresses"]
        if ips:
            args += ["--public-ips", *ips]
        if allocations:
            args += ["--allocation-ids", *allocations]
        if filters:
            # One --filters with every filter: awscli keeps only the last of repeated --filters options.
            args += ["--filters", *[f"Name={k},Values={','.join(v)}" for k, v in filters.items()]]
        found = ec2.cli(*args)["Addresses"]
    return {a["PublicIp"]: {"instance": a.get("InstanceId") or None, "allocation": a.get("AllocationId"),
                            "association": a.get("AssociationId"), "domain": a.get("Domain")} for a in found}


def associate(ec2: EC2Client, instance: str, ip: str | None = None, allocation: str | None = None) -> str | None:
    """The association id (boto 2's status call does not read it)."""
    if ec2.kind == "boto3":
        kw = {"PublicIp": ip} if ip else {"AllocationId": allocation}
        return ec2.client.associate_address(InstanceId=instance, **kw).get("AssociationId")
    if ec2.kind == "boto2":
        assert ec2.conn.associate_address(instance, public_ip=ip, allocation_id=allocation) is True
        return None
    args = ["associate-address", "--instance-id", instance]
    args += ["--public-ip", ip] if ip else ["--allocation-id", allocation]
    return ec2.cli(*args).get("AssociationId")


def disassociate(ec2: EC2Client, ip: str | None = None, association: str | None = None) -> None:
    if ec2.kind == "boto3":
        ec2.client.disassociate_address(**({"PublicIp": ip} if ip else {"AssociationId": association}))
    elif ec2.kind == "boto2":
        assert ec2.conn.disassociate_address(public_ip=ip, association_id=association) is True
    else:
        ec2.cli("disassociate-address", *(["--public-ip", ip] if ip else ["--association-id", association]))


def release(ec2: EC2Client, ip: str | None = None, allocation: str | None = None) -> None:
    if ec2.kind == "boto3":
        ec2.client.release_address(**({"PublicIp": ip} if ip else {"AllocationId": allocation}))
    elif ec2.kind == "boto2":
        assert ec2.conn.release_address(public_ip=ip, allocation_id=allocation) is True
    else:
        ec2.cli("release-address", *(["--public-ip", ip] if ip else ["--allocation-id", allocation]))


def test_allocate_describe_release(ec2: EC2Client) -> None:
    first = allocate(ec2)
    second = allocate(ec2)
    assert first["domain"] == "standard" and first["allocation"].startswith("eipalloc-")
    assert first["ip"] != second["ip"]
    found = describe(ec2)
    assert set(found) == {first["ip"], second["ip"]}
    assert found[first["ip"]] == {"instance": None, "allocation": first["allocation"], "association": None,
                                  "domain": "standard"}
    assert set(describe(ec2, [second["ip"]])) == {second["ip"]}
    assert set(describe(ec2, allocations=[first["allocation"]])) == {first["ip"]}
    assert set(describe(ec2, filters={"public-ip": [second["ip"]]})) == {second["ip"]}
    assert set(describe(ec2, filters={"allocation-id": [first["allocation"]]})) == {first["ip"]}
    release(ec2, ip=first["ip"])
    release(ec2, allocation=second["allocation"])
    assert describe(ec2) == {}


def test_associate_move_disassociate(ec2: EC2Client) -> None:
    one, two = run_instance(ec2), run_instance(ec2)
    address = allocate(ec2)
    association = associate(ec2, one, ip=address["ip"])
    found = describe(ec2)[address["ip"]]
    assert found["instance"] == one
    assert found["association"].startswith("eipassoc-")
    assert association in (None, found["association"])
    assert set(describe(ec2, filters={"instance-id": [one]})) == {address["ip"]}
    assert describe(ec2, filters={"instance-id": [two]}) == {}
    # EC2-Classic: associating an address that is in use moves it.
    associate(ec2, two, allocation=address["allocation"])
    assert describe(ec2)[address["ip"]]["instance"] == two
    # An instance that gets a second address gives the first one up.
    other = allocate(ec2)
    associate(ec2, two, ip=other["ip"])
    found = describe(ec2)
    assert found[other["ip"]]["instance"] == two and found[address["ip"]]["instance"] is None
    disassociate(ec2, ip=other["ip"])
    assert describe(ec2)[other["ip"]]["instance"] is None
    association = associate(ec2, one, allocation=address["allocation"])
    association = association or describe(ec2)[address["ip"]]["association"]
    disassociate(ec2, association=association)
    assert describe(ec2)[address["ip"]]["instance"] is None
    # Releasing an associated address drops the mapping with it.
    associate(ec2, one, ip=other["ip"])
    release(ec2, ip=other["ip"])
    assert set(describe(ec2)) == {address["ip"]}


def test_not_found_errors(ec2: EC2Client) -> None:
    with ec2.failure() as failure:
        describe(ec2, ["203.0.113.1"])
    assert failure.value.code == "InvalidAddress.NotFound"
    with ec2.failure() as failure:
        describe(ec2, allocations=["eipalloc-0123456789abcdef0"])
    assert failure.value.code == "InvalidAllocationID.NotFound"
    with ec2.failure() as failure:
        release(ec2, ip="203.0.113.1")
    assert failure.value.code == "InvalidAddress.NotFound"
    with ec2.failure() as failure:
        release(ec2, allocation="eipalloc-0123456789abcdef0")
    assert failure.value.code == "InvalidAllocationID.NotFound"
    address = allocate(ec2)
    with ec2.failure() as failure:
        associate(ec2, "i-0123456789abcdef0", ip=address["ip"])
    assert failure.value.code == "InvalidInstanceID.NotFound"
    with ec2.failure() as failure:
        disassociate(ec2, association="eipassoc-0123456789abcdef0")
    assert failure.value.code == "InvalidAssociationID.NotFound"


def test_addresses_are_per_user(ec2: EC2Client, new_user: Any, ec2_of: Any) -> None:
    mine = allocate(ec2)
    instance = run_instance(ec2)
    other = ec2_of(ec2.kind, new_user())
    assert describe(other) == {}
    with other.failure() as failure:
        describe(other, [mine["ip"]])
    assert failure.value.code == "InvalidAddress.NotFound"
    with other.failure() as failure:
        release(other, allocation=mine["allocation"])
    assert failure.value.code == "InvalidAllocationID.NotFound"
    theirs = allocate(other)
    with other.failure() as failure:
        associate(other, instance, ip=theirs["ip"])
    assert failure.value.code == "InvalidInstanceID.NotFound"
    assert set(describe(ec2)) == {mine["ip"]}


def test_address_limit(gateway_server: Any, new_user: Any, ec2_of: Any) -> None:
    """A plain account may hold 20 public IPs (CloudStack's default limit); the next one is refused."""
    client = ec2_of("boto3", new_user()).client
    for allocated in range(25):
        try:
            client.allocate_address()
        except Exception as exc:  # botocore ClientError
            assert exc.response["Error"]["Code"] == "AddressLimitExceeded"
            break
    else:
        raise AssertionError("no limit was reached")
    assert allocated == 20
    assert len(client.describe_addresses()["Addresses"]) == 20
