"""`ec2soap cloudstack check` against the built-in simulator (in-process, as the command runs with no CloudStack
URL): it passes on a cloud with the Advanced zone, also with --may-create (a VPC, an ACL list and a tier made and
deleted again), and lists what EC2-VPC lacks on a Basic-only cloud with exit status 1."""
from __future__ import annotations

import re
from typing import Any

import pytest

from ec2soap import admin, cli
from ec2soap.cloudstack.errors import CloudStackApiError
from ec2soap.config import Settings


def _uuid(line: str) -> str:
    return re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", line).group(0)


def _lines(capsys: Any) -> list[str]:
    return capsys.readouterr().out.splitlines()


def test_advanced_zone_passes_and_may_create_cleans_up(tmp_path: Any, capsys: Any) -> None:
    settings = Settings(data_dir=str(tmp_path / "data"), simulator_advanced_zone=True, simulator_job_seconds=0.1)
    assert admin.cloudstack_check(settings, None, None, may_create=True) == 0
    lines = _lines(capsys)
    assert not [line for line in lines if line.startswith("MISSING")], lines
    assert lines[-1] == "CloudStack offers what the gateway needs"
    for expected in ("ok       the keys belong to a root admin: every command and setting can be checked",
                     "ok       zone zone2 is Advanced: EC2-VPC lives there",
                     "ok       VPC offering 'Default VPC offering' (CreateVpc uses it)",
                     "ok       VPC tier offering 'DefaultIsolatedNetworkOfferingForVpcNetworks' "
                     "(CreateSubnet uses it)",
                     "ok       network ACL list default_allow", "ok       network ACL list default_deny",
                     "ok       Isolated network offering 'DefaultIsolatedNetworkOfferingWithSourceNatService'"):
        assert expected in lines
    assert any(line.startswith("ok       all ") and "commands the gateway calls are offered" in line
               for line in lines)
    made = [_uuid(line) for line in lines if line.startswith("ok       created ")]
    deleted = [_uuid(line) for line in lines if line.startswith("ok       delete")]
    assert len(made) == 3 and sorted(made) == sorted(deleted)
    # Nothing is left behind: a second read-only check sees the same cloud, and the VPC is gone.
    from ec2soap.server import open_store

    store = open_store(settings)
    try:
        simulator = admin._simulator(settings, store)
        cloud = admin.BlockingCloudStack(simulator.admin_user["apikey"], simulator.admin_user["secretkey"],
                                         simulator=simulator)
        assert cloud.list("listVPCs", listall="true") == []
    finally:
        store.close()


def test_basic_only_cloud_reports_the_advanced_zone_items(tmp_path: Any, capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("EC2SOAP_SIMULATOR_ADVANCED_ZONE", "false")
    data = str(tmp_path / "data")
    assert cli.main(["cloudstack", "check", "--data-dir", data, "--may-create"]) == 1
    lines = _lines(capsys)
    missing = [line for line in lines if line.startswith("MISSING")]
    assert missing[0].startswith("MISSING  no Advanced zone: EC2-VPC actions")
    for item in ("VPC offering", "network offering for VPC tiers", "default_allow network ACL list",
                 "default_deny network ACL list", "--may-create"):
        assert any(item in line for line in missing), item
    assert lines[-1] == f"{len(missing)} required items missing"
    assert "ok       zone zone1 is Basic (security groups on): EC2-Classic instances run there" in lines
    # A cloud meant for EC2-Classic only says so, and the same items become notes.
    assert cli.main(["cloudstack", "check", "--data-dir", data, "--without-vpc"]) == 0
    lines = _lines(capsys)
    assert not [line for line in lines if line.startswith("MISSING")]
    assert any(line.startswith("note     no Advanced zone") for line in lines)


def test_a_user_key_is_checked_as_its_role_allows(tmp_path: Any, capsys: Any) -> None:
    settings = Settings(data_dir=str(tmp_path / "data"), simulator_advanced_zone=True)
    from ec2soap.server import open_store

    store = open_store(settings)
    try:
        simulator = admin._simulator(settings, store)
        root = admin.BlockingCloudStack(simulator.admin_user["apikey"], simulator.admin_user["secretkey"],
                                        simulator=simulator)
        made = root.call("createAccount", username="checker", password="pw", email="c@example.com",
                         firstname="c", lastname="k", accounttype="0")
        keys = root.call("registerUserKeys", id=made["account"]["user"][0]["id"])["userkeys"]
    finally:
        store.close()
    assert admin.cloudstack_check(settings, keys["apikey"], keys["secretkey"]) == 0
    lines = _lines(capsys)
    assert any(line.startswith("note     the keys belong to account 'checker' (type 0), not a root admin")
               for line in lines)
    assert any("commands the gateway calls as a user are offered" in line for line in lines)
    assert "note     global settings not checked: listConfigurations needs admin keys" in lines
    assert keys["secretkey"] not in "\n".join(lines)
    assert admin.cloudstack_check(settings, keys["apikey"], "wrong") == 1
    assert _lines(capsys)[0].startswith("MISSING  CloudStack at the embedded simulator refuses these keys")


def _edit_offerings(simulator: Any, kind: str, drop: str) -> None:
    """As an operator would with a custom offering: KIND's offerings (all of them) without the service DROP."""
    from ec2soap.cloudstack.simulator.engine import Caller, Ctx

    def go(conn: Any) -> None:
        ctx = Ctx(simulator, conn, Caller(user={"id": "test"}, account={"id": "test", "accounttype": 1,
                                                                          "name": "test"}), "test", simulator.clock())
        for doc in ctx.find(kind):
            doc["service"] = [s for s in doc.get("service") or [] if s.get("name") != drop]
            ctx.save(kind, doc)
    simulator.store.run_sync(go)


def test_missing_services_and_zero_limits_are_reported(tmp_path: Any, capsys: Any) -> None:
    settings = Settings(data_dir=str(tmp_path / "data"))
    from ec2soap.server import open_store

    store = open_store(settings)
    try:
        simulator = admin._simulator(settings, store)
        _edit_offerings(simulator, "networkoffering", "NetworkACL")
        _edit_offerings(simulator, "vpcoffering", "StaticNat")
        root = admin.BlockingCloudStack(simulator.admin_user["apikey"], simulator.admin_user["secretkey"],
                                        simulator=simulator)
        root.call("updateConfiguration", name="max.account.vpcs", value="0")
        made = root.call("createAccount", username="limited", password="pw", email="l@example.com",
                         firstname="l", lastname="m", accounttype="0")
        keys = root.call("registerUserKeys", id=made["account"]["user"][0]["id"])["userkeys"]
        # The setting is what the simulator enforces, as CloudStack does: the account can make no VPC.
        user = admin.BlockingCloudStack(keys["apikey"], keys["secretkey"], simulator=simulator)
        [zone] = [z for z in user.list("listZones") if z["networktype"] == "Advanced"]
        offering = user.list("listVPCOfferings")[0]
        with pytest.raises(CloudStackApiError) as refused:
            user.call("createVPC", name="v", displaytext="v", cidr="10.9.0.0/16", zoneid=zone["id"],
                      vpcofferingid=offering["id"])
        assert "Maximum number of resources of type 'vpc'" in str(refused.value)
    finally:
        store.close()
    assert admin.cloudstack_check(settings, None, None) == 1
    lines = _lines(capsys)
    missing = [line for line in lines if line.startswith("MISSING")]
    assert missing == [
        "MISSING  VPC offering 'Default VPC offering' lacks the StaticNat service: Elastic IPs in a VPC are static "
        "NAT (AssociateAddress fails)",
        "MISSING  VPC tier offering 'DefaultIsolatedNetworkOfferingForVpcNetworks' lacks the NetworkACL service: "
        "network ACLs are CloudStack ACL lists (CreateNetworkAcl and the tiers' ACLs fail)",
        "MISSING  max.account.vpcs = 0: CreateVpc, and the default VPC always fails (CloudStack's resource limit)"]
    assert "ok       max.account.networks = 20" in lines
    # A user's keys: that account's own limits, which the setting gives it.
    assert admin.cloudstack_check(settings, keys["apikey"], keys["secretkey"]) == 1
    lines = _lines(capsys)
    assert "MISSING  this account's vpc limit = 0: CreateVpc, and the default VPC always fails (CloudStack's " \
           "resource limit)" in lines
    assert "ok       this account's user_vm limit = 20" in lines
