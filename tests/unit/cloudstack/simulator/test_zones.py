"""The simulator's catalog family: zones, offerings, OS types, networks, settings, capabilities, limits, listApis."""
from __future__ import annotations

from typing import Any

import pytest

from ec2soap.cloudstack import spec
from ec2soap.cloudstack.simulator import Simulator, SimulatorConfig
from tests.conftest import cs


def undocumented(value: Any, fields: dict, path: str = "") -> list[str]:
    """Every key in VALUE that FIELDS (a spec response table) does not document, recursively."""
    bad: list[str] = []
    if isinstance(value, list):
        for item in value:
            bad += undocumented(item, fields, path)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in fields:
                bad.append(f"{path}{key}")
            elif fields[key].get("fields"):
                bad += undocumented(item, fields[key]["fields"], f"{path}{key}.")
    return bad


def items(body: dict, key: str) -> list[dict]:
    return body.get(key, [])


@pytest.mark.parametrize("command, item_key, params", [
    ("listZones", "zone", {"showcapacities": "true"}),
    ("listServiceOfferings", "serviceoffering", {}),
    ("listDiskOfferings", "diskoffering", {}),
    ("listOsTypes", "ostype", {}),
    ("listHypervisors", "hypervisor", {}),
    ("listNetworks", "network", {}),
    ("listNetworkOfferings", "networkoffering", {}),
    ("listConfigurations", "configuration", {}),
    ("listResourceLimits", "resourcelimit", {}),
    ("listApis", "api", {}),
])
def test_list_responses_use_only_documented_fields(sim: Simulator, command: str, item_key: str,
                                                   params: dict) -> None:
    status, body = cs(sim, "admin", command, **params)
    assert status == 200
    assert body["count"] == len(body[item_key]) > 0
    assert set(body) == {"count", item_key}
    assert undocumented(body[item_key], spec.command(command)["response"]) == []
    assert not any(k.startswith("_") for item in body[item_key] for k in item)


def test_capabilities_are_an_object_with_documented_fields(sim: Simulator) -> None:
    status, body = cs(sim, "demo", "listCapabilities")
    assert status == 200
    capability = body["capability"]
    assert capability["cloudstackversion"] == "4.18.0.0"
    assert capability["securitygroupsenabled"] is True
    assert capability["userpublictemplateenabled"] is True
    assert capability["customdiskofferingmaxsize"] == 1024
    assert undocumented(capability, spec.command("listCapabilities")["response"]) == []


def test_the_seeded_zone_is_a_basic_zone_with_security_groups(sim: Simulator) -> None:
    status, body = cs(sim, "demo", "listZones", available="true")
    assert status == 200 and body["count"] == 1
    zone = body["zone"][0]
    assert zone["name"] == "zone1"
    assert zone["networktype"] == "Basic"
    assert zone["securitygroupsenabled"] is True
    assert zone["allocationstate"] == "Enabled"
    assert "_cpu_cores" not in zone and "capacity" not in zone


def test_zone_filters_and_empty_envelope(sim: Simulator) -> None:
    zone = cs(sim, "demo", "listZones")[1]["zone"][0]
    assert cs(sim, "demo", "listZones", id=zone["id"])[1]["count"] == 1
    assert cs(sim, "demo", "listZones", name="nowhere") == (200, {})
    assert cs(sim, "demo", "listZones", networktype="advanced") == (200, {})
    assert cs(sim, "demo", "listZones", keyword="ZONE")[1]["count"] == 1
    status, body = cs(sim, "demo", "listZones", id="7d3a38b2-0000-4000-8000-000000000000")
    assert status == 431 and body["cserrorcode"] == 9999
    assert "Invalid parameter id value=7d3a38b2-0000-4000-8000-000000000000" in body["errortext"]


def test_zone_capacity_counts_cores_and_memory(sim: Simulator) -> None:
    zone = cs(sim, "admin", "listZones", showcapacities="true")[1]["zone"][0]
    by_name = {c["name"]: c for c in zone["capacity"]}
    assert by_name["CPU_CORE"]["capacitytotal"] == 4096
    assert by_name["MEMORY"]["capacitytotal"] == 8 * 1024 ** 4
    assert by_name["CPU_CORE"]["zoneid"] == zone["id"]


def test_service_offerings_are_the_ec2_instance_types(sim: Simulator) -> None:
    status, body = cs(sim, "demo", "listServiceOfferings")
    assert status == 200 and body["count"] == 7
    shapes = {o["name"]: (o["cpunumber"], o["memory"]) for o in body["serviceoffering"]}
    assert shapes == {"t1.micro": (1, 613), "m1.small": (1, 1740), "m1.medium": (1, 3840), "m1.large": (2, 7680),
                      "m1.xlarge": (4, 15360), "c1.medium": (2, 1740), "c1.xlarge": (8, 7168)}
    assert cs(sim, "demo", "listServiceOfferings", name="m1.large")[1]["serviceoffering"][0]["cpunumber"] == 2
    assert cs(sim, "demo", "listServiceOfferings", issystem="true") == (200, {})
    assert {o["name"] for o in cs(sim, "demo", "listServiceOfferings", cpunumber=4)[1]["serviceoffering"]} == {
        "m1.xlarge", "c1.xlarge"}


def test_paging_follows_base_list_cmd(sim: Simulator) -> None:
    status, body = cs(sim, "demo", "listServiceOfferings", page=2, pagesize=3)
    assert status == 200 and body["count"] == 7 and len(body["serviceoffering"]) == 3
    assert cs(sim, "demo", "listServiceOfferings", page=4, pagesize=3) == (200, {"count": 7})
    status, body = cs(sim, "demo", "listServiceOfferings", pagesize=3)
    assert status == 431 and body["errortext"] == '"page" parameter is required when "pagesize" is specified'


def test_disk_offerings(sim: Simulator) -> None:
    offerings = {o["name"]: o for o in cs(sim, "demo", "listDiskOfferings")[1]["diskoffering"]}
    assert offerings["Custom"]["iscustomized"] is True
    assert {n: o["disksize"] for n, o in offerings.items() if n != "Custom"} == {"Small": 5, "Medium": 20,
                                                                                  "Large": 100}
    assert cs(sim, "demo", "listDiskOfferings", keyword="larg")[1]["count"] == 1


def test_os_types_and_hypervisors(sim: Simulator) -> None:
    status, body = cs(sim, "demo", "listOsTypes", description="ubuntu")
    assert status == 200 and body["count"] == 2
    assert all("Ubuntu" in o["description"] for o in body["ostype"])
    category = body["ostype"][0]["oscategoryid"]
    assert cs(sim, "demo", "listOsTypes", oscategoryid=category)[1]["count"] == 2
    zone = cs(sim, "demo", "listZones")[1]["zone"][0]["id"]
    assert cs(sim, "demo", "listHypervisors", zoneid=zone) == (200, {"count": 1, "hypervisor": [{"name": "Simulator"}]})
    assert cs(sim, "demo", "listHypervisors", zoneid="7d3a38b2-0000-4000-8000-000000000000")[0] == 431


def test_the_guest_network_offers_security_groups_and_elastic_ips(sim: Simulator) -> None:
    status, body = cs(sim, "demo", "listNetworks")
    assert status == 200 and body["count"] == 1
    network = body["network"][0]
    assert network["type"] == "Shared" and network["cidr"] == "10.1.0.0/20"
    services = {s["name"]: s for s in network["service"]}
    assert {"SecurityGroup", "StaticNat"} <= set(services)
    assert {"name": "ElasticIp", "value": "true", "canchooseservicecapability": False} in (
        services["StaticNat"]["capability"])
    assert cs(sim, "demo", "listNetworks", supportedservices="securitygroup,staticnat")[1]["count"] == 1
    assert cs(sim, "demo", "listNetworks", type="isolated") == (200, {})
    offering = cs(sim, "demo", "listNetworkOfferings", id=network["networkofferingid"])[1]["networkoffering"][0]
    assert offering["guestiptype"] == "Shared" and offering["state"] == "Enabled"
    assert cs(sim, "demo", "listNetworkOfferings", guestiptype="Isolated") == (200, {})


def test_configurations_are_admin_only(sim: Simulator) -> None:
    for command, params in (("listConfigurations", {}), ("updateConfiguration", {"name": "enable.ec2.api"})):
        status, body = cs(sim, "demo", command, **params)
        assert status == 401 and body["errorcode"] == 401
        assert body["errortext"] == f"The given command '{command}' either does not exist, is not available for user."


def test_seeded_configurations(sim: Simulator) -> None:
    values = {c["name"]: c for c in cs(sim, "admin", "listConfigurations")[1]["configuration"]}
    assert values["enable.ec2.api"]["value"] == "true"
    assert values["enable.s3.api"]["value"] == "true"
    assert values["default.page.size"]["value"] == "500"
    assert values["expunge.delay"]["value"] == "1"  # the simulator's expunge_seconds
    assert {"expunge.delay", "integration.api.port"} <= set(values)
    assert values["enable.ec2.api"]["category"] == "Advanced" and values["enable.ec2.api"]["defaultvalue"] == "false"
    # CloudStack quirk: name is a substring match.
    names = {c["name"] for c in cs(sim, "admin", "listConfigurations", name="page.size")[1]["configuration"]}
    assert names == {"default.page.size", "default.ui.page.size"}
    assert cs(sim, "admin", "listConfigurations", category="Project Defaults")[1]["count"] == 2


def test_update_configuration_is_persistent(sim: Simulator, sim_config: SimulatorConfig) -> None:
    status, body = cs(sim, "admin", "updateConfiguration", name="enable.ec2.api", value="false")
    assert status == 200
    assert body["configuration"]["name"] == "enable.ec2.api" and body["configuration"]["value"] == "false"
    assert undocumented(body["configuration"], spec.command("updateConfiguration")["response"]) == []
    again = Simulator(sim.store, sim_config)
    again.users = sim.users
    found = cs(again, "admin", "listConfigurations", name="enable.ec2.api")[1]["configuration"][0]
    assert found["value"] == "false"


def test_update_configuration_errors(sim: Simulator) -> None:
    assert cs(sim, "admin", "updateConfiguration", name="no.such.setting", value="1") == (431, {
        "uuidList": [], "errorcode": 431, "cserrorcode": 4350,
        "errortext": "Config parameter with name no.such.setting doesn't exist"})
    status, body = cs(sim, "admin", "updateConfiguration", name="enable.s3.api", value="maybe")
    assert status == 431 and body["cserrorcode"] == 4350
    status, body = cs(sim, "admin", "updateConfiguration", name="default.page.size", value="many")
    assert status == 431
    # Without a value nothing changes.
    status, body = cs(sim, "admin", "updateConfiguration", name="enable.s3.api")
    assert status == 200 and body["configuration"]["value"] == "true"
    assert cs(sim, "admin", "updateConfiguration")[0] == 431


def test_capabilities_follow_configuration(sim: Simulator) -> None:
    cs(sim, "admin", "updateConfiguration", name="allow.public.user.templates", value="false")
    assert cs(sim, "demo", "listCapabilities")[1]["capability"]["userpublictemplateenabled"] is False


def test_resource_limits_of_the_caller(sim: Simulator) -> None:
    status, body = cs(sim, "demo", "listResourceLimits")
    assert status == 200 and body["count"] == 12
    limits = {r["resourcetypename"]: r for r in body["resourcelimit"]}
    assert limits["template"]["max"] == 20 and limits["template"]["resourcetype"] == "4"
    assert limits["cpu"]["max"] == -1
    assert all(r["account"] == "demo" for r in body["resourcelimit"])
    assert cs(sim, "demo", "listResourceLimits", resourcetype=0)[1]["resourcelimit"][0]["resourcetypename"] == (
        "user_vm")
    only = cs(sim, "demo", "listResourceLimits", resourcetype=0, resourcetypename="volume")[1]["resourcelimit"]
    assert [r["resourcetypename"] for r in only] == ["volume"]
    assert cs(sim, "demo", "listResourceLimits", resourcetype=42)[0] == 431
    admin = {r["resourcetypename"]: r["max"] for r in cs(sim, "admin", "listResourceLimits")[1]["resourcelimit"]}
    assert set(admin.values()) == {-1}


def test_resource_limits_of_another_account(sim: Simulator) -> None:
    body = cs(sim, "admin", "listResourceLimits", account="demo")[1]
    assert {r["account"] for r in body["resourcelimit"]} == {"demo"}
    status, body = cs(sim, "demo", "listResourceLimits", account="admin")
    assert status == 531 and body["cserrorcode"] == 4365


def test_list_apis_depends_on_the_role(sim: Simulator) -> None:
    user = {a["name"] for a in cs(sim, "demo", "listApis")[1]["api"]}
    admin = {a["name"] for a in cs(sim, "admin", "listApis")[1]["api"]}
    assert {"listZones", "listTemplates", "listResourceLimits", "listHypervisors", "listApis"} <= user
    assert "listConfigurations" not in user and "updateConfiguration" not in user
    assert {"listConfigurations", "updateConfiguration"} <= admin
    status, body = cs(sim, "demo", "listApis", name="listZones")
    api = body["api"][0]
    assert body["count"] == 1 and api["isasync"] is False
    assert {"name": "id", "type": "uuid", "required": False, "length": 255} in api["params"]
    assert any(r["name"] == "capacity" and r.get("response") for r in api["response"])
    status, body = cs(sim, "demo", "listApis", name="updateConfiguration")
    assert status == 530 and body["cserrorcode"] == 9999
