"""Security groups through boto3, boto 2 and awscli: create, describe (names, ids, filters, pages), delete,
authorize/revoke ingress (CIDR and group to group, structured and flat forms) and egress, errors, isolation."""
from __future__ import annotations

from typing import Any

import pytest

from tests.protocol.conftest import EC2Client

# A permission as the tests compare them: (protocol, from, to, frozenset of cidrs, frozenset of group names).
Perm = tuple


def _norm_boto3(perms: list[dict]) -> set[Perm]:
    return {(p["IpProtocol"], p.get("FromPort"), p.get("ToPort"),
             frozenset(r["CidrIp"] for r in p.get("IpRanges", [])),
             frozenset(g.get("GroupName") for g in p.get("UserIdGroupPairs", []))) for p in perms}


def _norm_boto2(rules: list[Any]) -> set[Perm]:
    out = set()
    for r in rules:
        out.add((r.ip_protocol, int(r.from_port) if r.from_port is not None else None,
                 int(r.to_port) if r.to_port is not None else None,
                 frozenset(g.cidr_ip for g in r.grants if g.cidr_ip),
                 frozenset(g.name for g in r.grants if g.name)))
    return out


def create(ec2: EC2Client, name: str, description: str = "a group") -> str | None:
    """Create a group; its sg- id (boto 2 does not read it)."""
    if ec2.kind == "boto3":
        return ec2.client.create_security_group(GroupName=name, Description=description)["GroupId"]
    if ec2.kind == "boto2":
        group = ec2.conn.create_security_group(name, description)
        return group.id
    return ec2.cli("create-security-group", "--group-name", name, "--description", description)["GroupId"]


def describe(ec2: EC2Client, names: list[str] = (), ids: list[str] = (),
             filters: dict[str, list[str]] | None = None) -> dict[str, dict]:
    """{name: {"id", "description", "owner", "ingress", "egress", "tags"}}."""
    filters = filters or {}
    if ec2.kind == "boto3":
        kw: dict[str, Any] = {}
        if names:
            kw["GroupNames"] = list(names)
        if ids:
            kw["GroupIds"] = list(ids)
        if filters:
            kw["Filters"] = [{"Name": k, "Values": v} for k, v in filters.items()]
        groups = ec2.client.describe_security_groups(**kw)["SecurityGroups"]
    elif ec2.kind == "boto2":
        return {g.name: {"id": g.id, "description": g.description, "owner": g.owner_id,
                         "ingress": _norm_boto2(g.rules), "egress": _norm_boto2(g.rules_egress),
                         "tags": dict(g.tags)}
                for g in ec2.conn.get_all_security_groups(groupnames=list(names) or None,
                                                          group_ids=list(ids) or None, filters=filters or None)}
    else:
        args = ["describe-security-groups"]
        if names:
            args += ["--group-names", *names]
        if ids:
            args += ["--group-ids", *ids]
        if filters:
            # One --filters with every filter: awscli keeps only the last of repeated --filters options.
            args += ["--filters", *[f"Name={k},Values={','.join(v)}" for k, v in filters.items()]]
        groups = ec2.cli(*args)["SecurityGroups"]
    return {g["GroupName"]: {"id": g.get("GroupId"), "description": g["Description"], "owner": g["OwnerId"],
                             "ingress": _norm_boto3(g.get("IpPermissions", [])),
                             "egress": _norm_boto3(g.get("IpPermissionsEgress", [])),
                             "tags": {t["Key"]: t["Value"] for t in g.get("Tags", [])}} for g in groups}


def delete(ec2: EC2Client, name: str | None = None, group_id: str | None = None) -> None:
    if ec2.kind == "boto3":
        kw = {"GroupName": name} if name else {"GroupId": group_id}
        ec2.client.delete_security_group(**kw)
    elif ec2.kind == "boto2":
        assert ec2.conn.delete_security_group(name=name, group_id=group_id) is True
    else:
        ec2.cli("delete-security-group", *(["--group-name", name] if name else ["--group-id", group_id]))


def authorize(ec2: EC2Client, name: str, protocol: str, low: int | None, high: int | None,
              cidr: str | None = None, source: str | None = None, revoke: bool = False) -> None:
    """One rule by group name: a CIDR or a source group of the caller's own account."""
    if ec2.kind == "boto3":
        perm: dict[str, Any] = {"IpProtocol": protocol}
        if low is not None:
            perm.update(FromPort=low, ToPort=high)
        if cidr:
            perm["IpRanges"] = [{"CidrIp": cidr}]
        if source:
            perm["UserIdGroupPairs"] = [{"GroupName": source}]
        call = ec2.client.revoke_security_group_ingress if revoke else ec2.client.authorize_security_group_ingress
        call(GroupName=name, IpPermissions=[perm])
    elif ec2.kind == "boto2":
        owner = None
        if source:
            owner = describe(ec2, [source])[source]["owner"]
        call = ec2.conn.revoke_security_group if revoke else ec2.conn.authorize_security_group
        assert call(group_name=name, ip_protocol=protocol, from_port=low, to_port=high, cidr_ip=cidr,
                    src_security_group_name=source, src_security_group_owner_id=owner) is True
    else:
        args = ["revoke-security-group-ingress" if revoke else "authorize-security-group-ingress",
                "--group-name", name, "--protocol", protocol]
        if low is not None:
            args.append(f"--port={low}-{high}" if low != high else f"--port={low}")
        if cidr:
            args += ["--cidr", cidr]
        if source:
            args += ["--source-group", source]
        ec2.cli(*args)


def revoke(ec2: EC2Client, name: str, protocol: str, low: int | None, high: int | None,
           cidr: str | None = None, source: str | None = None) -> None:
    authorize(ec2, name, protocol, low, high, cidr, source, revoke=True)


def perm(protocol: str, low: int, high: int, cidrs: tuple = (), groups: tuple = ()) -> Perm:
    return (protocol, low, high, frozenset(cidrs), frozenset(groups))


def test_create_describe_delete(ec2: EC2Client) -> None:
    group_id = create(ec2, "web", "web servers")
    groups = describe(ec2)
    assert set(groups) == {"default", "web"}
    web = groups["web"]
    assert web["description"] == "web servers"
    assert web["id"].startswith("sg-") and (group_id is None or group_id == web["id"])
    assert web["ingress"] == set()
    assert web["owner"] == groups["default"]["owner"] and web["owner"]
    assert set(describe(ec2, ["web"])) == {"web"}
    assert set(describe(ec2, ids=[web["id"]])) == {"web"}  # the original ignored GroupId.N
    delete(ec2, "web")
    assert set(describe(ec2)) == {"default"}


def test_delete_by_group_id(ec2: EC2Client) -> None:
    create(ec2, "byid")
    group_id = describe(ec2, ["byid"])["byid"]["id"]
    delete(ec2, group_id=group_id)
    assert "byid" not in describe(ec2)


def test_duplicate_reserved_and_not_found(ec2: EC2Client) -> None:
    create(ec2, "twice")
    with ec2.failure() as failure:
        create(ec2, "twice")
    assert failure.value.code == "InvalidGroup.Duplicate"
    with ec2.failure() as failure:
        create(ec2, "default")
    assert failure.value.code == "InvalidGroup.Reserved"
    with ec2.failure() as failure:
        describe(ec2, ["nope"])
    assert failure.value.code == "InvalidGroup.NotFound"
    with ec2.failure() as failure:
        describe(ec2, ids=["sg-0123456789abcdef0"])
    assert failure.value.code == "InvalidGroup.NotFound"
    with ec2.failure() as failure:
        delete(ec2, "nope")
    assert failure.value.code == "InvalidGroup.NotFound"
    with ec2.failure() as failure:
        delete(ec2, "default")
    assert failure.value.code == "CannotDelete"


def test_authorize_and_revoke_cidr_rules(ec2: EC2Client) -> None:
    create(ec2, "web")
    authorize(ec2, "web", "tcp", 22, 22, cidr="10.0.0.0/8")
    authorize(ec2, "web", "tcp", 80, 80, cidr="0.0.0.0/0")
    authorize(ec2, "web", "tcp", 22, 22, cidr="192.168.0.0/16")
    authorize(ec2, "web", "icmp", -1, -1, cidr="0.0.0.0/0")
    assert describe(ec2, ["web"])["web"]["ingress"] == {
        perm("tcp", 22, 22, ("10.0.0.0/8", "192.168.0.0/16")), perm("tcp", 80, 80, ("0.0.0.0/0",)),
        perm("icmp", -1, -1, ("0.0.0.0/0",))}
    with ec2.failure() as failure:
        authorize(ec2, "web", "tcp", 22, 22, cidr="10.0.0.0/8")
    assert failure.value.code == "InvalidPermission.Duplicate"
    revoke(ec2, "web", "tcp", 22, 22, cidr="10.0.0.0/8")
    assert describe(ec2, ["web"])["web"]["ingress"] == {
        perm("tcp", 22, 22, ("192.168.0.0/16",)), perm("tcp", 80, 80, ("0.0.0.0/0",)),
        perm("icmp", -1, -1, ("0.0.0.0/0",))}
    with ec2.failure() as failure:
        revoke(ec2, "web", "tcp", 22, 22, cidr="10.0.0.0/8")
    assert failure.value.code == "InvalidPermission.NotFound"
    assert set(describe(ec2, filters={"ip-permission.from-port": ["80"]})) == {"web"}
    assert set(describe(ec2, filters={"ip-permission.cidr": ["192.168.*"]})) == {"web"}
    assert set(describe(ec2, filters={"ip-permission.protocol": ["icmp"], "group-name": ["w*"]})) == {"web"}
    assert describe(ec2, filters={"ip-permission.cidr": ["172.16.0.0/12"]}) == {}


def test_group_to_group_rules_and_dependency(ec2: EC2Client) -> None:
    create(ec2, "db")
    create(ec2, "app")
    authorize(ec2, "db", "tcp", 5432, 5432, source="app")
    db = describe(ec2, ["db"])["db"]
    assert db["ingress"] == {perm("tcp", 5432, 5432, groups=("app",))}
    assert set(describe(ec2, filters={"ip-permission.group-name": ["app"]})) == {"db"}
    assert set(describe(ec2, filters={"ip-permission.user-id": [db["owner"]]})) == {"db"}
    with ec2.failure() as failure:
        delete(ec2, "app")  # db's rule names it
    assert failure.value.code in ("DependencyViolation", "InvalidGroup.InUse")
    revoke(ec2, "db", "tcp", 5432, 5432, source="app")
    assert describe(ec2, ["db"])["db"]["ingress"] == set()
    delete(ec2, "app")


def test_malformed_permissions(ec2: EC2Client) -> None:
    create(ec2, "bad")
    with ec2.failure() as failure:
        authorize(ec2, "bad", "tcp", 22, 22, cidr="10.0.0.300/8")
    assert failure.value.code == "InvalidPermission.Malformed"
    with ec2.failure() as failure:
        authorize(ec2, "bad", "tcp", 90, 80, cidr="10.0.0.0/8")
    assert failure.value.code == "InvalidPermission.Malformed"
    with ec2.failure() as failure:
        authorize(ec2, "nope", "tcp", 22, 22, cidr="10.0.0.0/8")
    assert failure.value.code == "InvalidGroup.NotFound"


def test_unknown_filter_is_invalid(ec2: EC2Client) -> None:
    with ec2.failure() as failure:
        describe(ec2, filters={"colour": ["red"]})
    assert failure.value.code == "InvalidFilter"


def test_security_groups_are_per_user(ec2: EC2Client, new_user: Any, ec2_of: Any) -> None:
    create(ec2, "mine")
    mine = describe(ec2, ["mine"])["mine"]
    other = ec2_of(ec2.kind, new_user())
    assert set(describe(other)) == {"default"}
    assert describe(other)["default"]["owner"] != mine["owner"]
    with other.failure() as failure:
        describe(other, ["mine"])
    assert failure.value.code == "InvalidGroup.NotFound"
    with other.failure() as failure:
        describe(other, ids=[mine["id"]])
    assert failure.value.code == "InvalidGroup.NotFound"
    with other.failure() as failure:
        delete(other, group_id=mine["id"])
    assert failure.value.code == "InvalidGroup.NotFound"
    assert set(describe(ec2)) == {"default", "mine"}


# -- boto3 only: the shapes the other clients cannot send ------------------------------------------------------------

@pytest.fixture
def boto3_ec2(gateway_server: Any, new_user: Any, ec2_of: Any) -> EC2Client:
    return ec2_of("boto3", new_user())


def test_several_permissions_by_group_id_and_revoke_all(boto3_ec2: EC2Client) -> None:
    client = boto3_ec2.client
    group_id = client.create_security_group(GroupName="multi", Description="d")["GroupId"]
    other_id = client.create_security_group(GroupName="peer", Description="d")["GroupId"]
    perms = [{"IpProtocol": "6", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
             {"IpProtocol": "udp", "FromPort": 53, "ToPort": 53,
              "UserIdGroupPairs": [{"GroupId": other_id}]}]
    client.authorize_security_group_ingress(GroupId=group_id, IpPermissions=perms)
    got = client.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    assert _norm_boto3(got["IpPermissions"]) == {perm("tcp", 443, 443, ("0.0.0.0/0",)),
                                                 perm("udp", 53, 53, groups=("peer",))}
    pair = [p for p in got["IpPermissions"] if p["IpProtocol"] == "udp"][0]["UserIdGroupPairs"][0]
    assert pair["GroupId"] == other_id and pair["UserId"] == got["OwnerId"]
    # Revoke matches every permission given (the original matched only the first).
    client.revoke_security_group_ingress(GroupId=group_id, IpPermissions=perms)
    got = client.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    assert got["IpPermissions"] == []


def test_flat_form_and_egress(boto3_ec2: EC2Client) -> None:
    client = boto3_ec2.client
    group_id = client.create_security_group(GroupName="flat", Description="d")["GroupId"]
    client.authorize_security_group_ingress(GroupName="flat", IpProtocol="tcp", FromPort=8080, ToPort=8081,
                                            CidrIp="10.1.0.0/16")
    client.authorize_security_group_egress(GroupId=group_id, IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "10.9.0.0/16"}]}])
    got = client.describe_security_groups(GroupNames=["flat"])["SecurityGroups"][0]
    assert _norm_boto3(got["IpPermissions"]) == {perm("tcp", 8080, 8081, ("10.1.0.0/16",))}
    assert [(p["IpProtocol"], [r["CidrIp"] for r in p["IpRanges"]]) for p in got["IpPermissionsEgress"]] == \
        [("-1", ["10.9.0.0/16"])]
    with pytest.raises(Exception) as failure:
        client.authorize_security_group_egress(GroupId=group_id, IpPermissions=[
            {"IpProtocol": "all", "IpRanges": [{"CidrIp": "10.9.0.0/16"}]}])
    assert failure.value.response["Error"]["Code"] == "InvalidPermission.Duplicate"
    client.revoke_security_group_egress(GroupId=group_id, IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "10.9.0.0/16"}]}])
    assert client.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]["IpPermissionsEgress"] == []
    client.revoke_security_group_ingress(GroupName="flat", IpProtocol="tcp", FromPort=8080, ToPort=8081,
                                         CidrIp="10.1.0.0/16")


def test_pages(boto3_ec2: EC2Client) -> None:
    client = boto3_ec2.client
    for i in range(6):
        client.create_security_group(GroupName=f"g{i}", Description="d")
    first = client.describe_security_groups(MaxResults=5)
    assert len(first["SecurityGroups"]) == 5 and first["NextToken"]
    second = client.describe_security_groups(MaxResults=5, NextToken=first["NextToken"])
    assert len(second["SecurityGroups"]) == 2 and "NextToken" not in second
    names = {g["GroupName"] for g in first["SecurityGroups"] + second["SecurityGroups"]}
    assert names == {"default", *(f"g{i}" for i in range(6))}


def test_boto2_legacy_flat_source_group_opens_every_port(gateway_server: Any, new_user: Any, ec2_of: Any) -> None:
    pytest.importorskip("boto")
    conn = ec2_of("boto2", new_user()).conn
    conn.create_security_group("target", "t")
    source = conn.create_security_group("source", "s")
    assert conn.authorize_security_group_deprecated("target", src_security_group_name="source",
                                                    src_security_group_owner_id=source.owner_id) is True
    rules = _norm_boto2(conn.get_all_security_groups(["target"])[0].rules)
    assert rules == {perm("tcp", 0, 65535, groups=("source",)), perm("udp", 0, 65535, groups=("source",)),
                     perm("icmp", -1, -1, groups=("source",))}


def test_group_in_use_by_an_instance(boto3_ec2: EC2Client) -> None:
    client = boto3_ec2.client
    client.create_security_group(GroupName="busy", Description="d")
    image = client.describe_images()["Images"][0]["ImageId"]
    instance = client.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                                    SecurityGroups=["busy"])["Instances"][0]["InstanceId"]
    with pytest.raises(Exception) as failure:
        client.delete_security_group(GroupName="busy")
    assert failure.value.response["Error"]["Code"] == "InvalidGroup.InUse"
    assert client.describe_instances(InstanceIds=[instance])["Reservations"]
