"""No list filter is silently ignored: for every list command the simulator serves, each uuid parameter the
reference (commands.json) gives it, set to an id that names nothing, answers an error or an empty list, never
the unfiltered listing. CloudStack applies every filter it accepts (or refuses an unknown id); a simulator that
drops one lets a gateway bug through (listVirtualMachines ignored affinitygroupid and vpcid)."""
from __future__ import annotations

import json
import pathlib
import uuid
from typing import Any

from ec2soap.cloudstack.simulator import Simulator, SimulatorConfig
from tests.conftest import cs
from tests.unit.cloudstack.simulator.vpc_world import catalog, make_tier, make_vpc, ok

_COMMANDS = pathlib.Path(__file__).resolve().parents[5] / "shared" / "reference" / "cloudstack-api" / "commands.json"


def _world(sim: Simulator) -> None:
    """Something in most listings: a VM in the Basic zone and one in a VPC tier, with a group, an affinity
    group, a key pair, a volume, a snapshot, a tag, a public address."""
    c = catalog(sim)
    basic = next(z for z in cs(sim, "demo", "listZones")[1]["zone"] if z["networktype"] == "Basic")
    vpc = make_vpc(sim, "demo", c)
    tier = make_tier(sim, "demo", c, vpc)
    ok(sim, "demo", "createSSHKeyPair", name="k1")
    group = ok(sim, "demo", "createAffinityGroup", name="spread", type="host anti-affinity")["affinitygroup"]
    ok(sim, "demo", "createSecurityGroup", name="web")
    vm = ok(sim, "demo", "deployVirtualMachine", zoneid=basic["id"], serviceofferingid=c["small"]["id"],
            templateid=c["template"]["id"], keypair="k1", affinitygroupids=group["id"])["virtualmachine"]
    ok(sim, "demo", "deployVirtualMachine", zoneid=c["zone"]["id"], serviceofferingid=c["small"]["id"],
       templateid=c["template"]["id"], networkids=tier["id"])
    ok(sim, "demo", "createTags", resourceids=vm["id"], resourcetype="UserVm", **{"tags[0].key": "role",
                                                                                    "tags[0].value": "web"})
    root = cs(sim, "demo", "listVolumes", virtualmachineid=vm["id"])[1]["volume"][0]
    ok(sim, "demo", "createSnapshot", volumeid=root["id"])
    ok(sim, "demo", "associateIpAddress", vpcid=vpc["id"])


def _items(body: dict) -> list:
    return [item for key, value in body.items() if key != "count" and isinstance(value, list) for item in value]


def test_every_uuid_filter_of_every_list_command_is_applied(store: Any) -> None:
    sim = Simulator(store, SimulatorConfig(job_seconds=0.0, expunge_seconds=60.0, advanced_zone=True))
    sim.users = sim.seed()
    _world(sim)
    reference = json.loads(_COMMANDS.read_text())["commands"]
    lists = sorted(name for name in sim.commands if name.startswith("list") and name in reference)
    ignored, exercised = [], set()
    for command in lists:
        for user in ("demo", "admin"):
            scope = {"listall": "true"} if user == "admin" and any(
                p["name"] == "listall" for p in reference[command]["params"]) else {}
            extra = {"templatefilter": "all"} if command in ("listTemplates", "listIsos") else {}
            status, everything = cs(sim, user, command, **scope, **extra)
            if status != 200 or not _items(everything):
                continue
            exercised.add(command)
            for param in reference[command]["params"]:
                if param["type"] != "uuid" or param["name"] in extra:
                    continue
                status, body = cs(sim, user, command, **scope, **extra, **{param["name"]: str(uuid.uuid4())})
                if status == 200 and _items(body):
                    ignored.append(f"{command} {param['name']} ({user})")
    assert ignored == [], "\n".join(ignored)
    # The check means something only where the listing had rows to lose.
    assert {"listVirtualMachines", "listVolumes", "listSnapshots", "listNetworks", "listVPCs", "listTags",
            "listPublicIpAddresses", "listSecurityGroups", "listAffinityGroups", "listSSHKeyPairs",
            "listTemplates", "listZones", "listServiceOfferings"} <= exercised
