#!/usr/bin/env python3
"""Generate ec2soap/cloudstack/api.py (with api_base.py and api_lists.py), the typed CloudStack interface the
gateway calls, from spec.json.

Usage: python tools/gen_cs_api.py [--check]
  --check  exit 1 (and say why) when a generated module is not what this generator writes from spec.json and
           CALLED.

One method per command in CALLED, named in snake_case (listVirtualMachines → list_virtual_machines), with the
command's parameters as keyword-only arguments typed from the spec (required ones without a default). Its result
is the unwrapped answer: a list command's items across every page, an object command's object, True for a success
command, and an async command's job result once the job ended. An async command also gets `begin_<name>`, which
starts the job and answers {"jobid": ...[, "id": ...]} without waiting (see CloudStackClient.wait_job).

A new CloudStack command the gateway calls: add its name to CALLED, run this tool, commit both files.
"""
from __future__ import annotations

import argparse
import json
import keyword
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SPEC = ROOT / "ec2soap" / "cloudstack" / "spec.json"
OUT = ROOT / "ec2soap" / "cloudstack" / "api.py"

# Every CloudStack command the gateway (core, auth, ops, switches, admin CLI) calls by name.
CALLED = sorted([
    "associateIpAddress", "attachVolume", "changeServiceForVirtualMachine", "createSSHKeyPair",
    "createSecurityGroup", "createSnapshot", "createTags", "createTemplate", "createVolume", "deleteSSHKeyPair",
    "deleteSecurityGroup", "deleteSnapshot", "deleteTags", "deleteTemplate", "deleteVolume",
    "deployVirtualMachine", "destroyVirtualMachine", "detachVolume", "disableStaticNat", "disassociateIpAddress",
    "enableStaticNat", "getUser", "getVMPassword", "listAccounts", "listCapabilities", "listConfigurations",
    "listDiskOfferings", "listHypervisors", "listOsTypes", "listPublicIpAddresses", "listResourceLimits",
    "listSSHKeyPairs", "listSecurityGroups", "listServiceOfferings", "listSnapshots", "listTags",
    "listTemplatePermissions", "listTemplates", "listUsers", "listVirtualMachines", "listVolumes", "listZones",
    "queryAsyncJobResult", "rebootVirtualMachine", "registerSSHKeyPair", "registerTemplate",
    "startVirtualMachine", "stopVirtualMachine", "updateTemplate", "updateTemplatePermissions",
    "updateVirtualMachine",
    # EC2-VPC (core/vpcs.py)
    "createNetwork", "createVPC", "deleteNetwork", "deleteVPC", "listNetworkACLLists", "listNetworkOfferings",
    "listNetworks", "listVPCOfferings", "listVPCs",
    # EC2-VPC placement groups (core/placement_groups.py)
    "createAffinityGroup", "deleteAffinityGroup", "listAffinityGroups",
    # EC2-VPC network interfaces (core/network_interfaces.py)
    "addIpToNic", "removeIpFromNic",
    # EC2-VPC network ACLs (core/network_acls.py)
    "createNetworkACL", "createNetworkACLList", "deleteNetworkACL", "deleteNetworkACLList", "listNetworkACLs",
    "replaceNetworkACLList", "updateNetworkACLItem",
    # EC2-VPC route tables (core/route_tables.py): static routes to the VPC's private gateways
    "createStaticRoute", "deleteStaticRoute", "listPrivateGateways", "listStaticRoutes",
    # `ec2soap cloudstack check` (contract.py): the commands CloudStack offers these keys
    "listApis",
])

# Generic (by command name) methods of CloudStackClient and where their command name is.
GENERIC = ("call", "run", "start", "list_all")

_TYPES = {
    "string": "str", "uuid": "str", "date": "str", "boolean": "bool", "integer": "int", "long": "int",
    "list": "Sequence[str] | str", "map": "Map",
}
_RESULTS = {"list": "Items", "object": "Obj", "success": "bool"}


def snake_case(name: str) -> str:
    """Same rule as ec2soap.cloudstack.spec.snake_case (kept here so the tool imports nothing of the package)."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


def _result(entry: dict) -> str:
    kind = entry.get("kind")
    if kind == "async":
        return "bool" if entry.get("jobresultkind") == "success" else "Obj"
    return _RESULTS.get(kind, "Obj")


def _signature(entry: dict) -> list[str]:
    params = entry.get("params", {})
    required = sorted(p for p, v in params.items() if v.get("required"))
    optional = sorted(p for p, v in params.items() if not v.get("required"))
    out = []
    for name in required + optional:
        if keyword.iskeyword(name) or not name.isidentifier():
            raise SystemExit(f"parameter {name!r} is not a Python keyword argument name")
        kind = _TYPES.get(params[name].get("type", "string"))
        if kind is None:
            raise SystemExit(f"parameter {name!r}: no Python type for {params[name].get('type')!r}")
        out.append(f"{name}: {kind}" if name in required else f"{name}: {kind} | None = None")
    return out


def _method(name: str, command: str, entry: dict, result: str, body: str) -> list[str]:
    args = _signature(entry)
    lines = [f"    def {name}(self"]
    for arg in (["*"] if args else []) + args:
        if len(lines[-1]) + len(arg) + 2 > 116:
            lines[-1] += ","
            lines.append(" " * 8 + arg)
        else:
            lines[-1] += ", " + arg
    tail = f") -> Awaitable[{result}]:"
    if len(lines[-1]) + len(tail) > 118:
        lines[-1] += ","
        lines.append(" " * 4 + tail)
    else:
        lines[-1] += tail
    lines.append(f"        return self.{body}({command!r}, given(locals()))")
    return lines


_HEADER = [
    "from __future__ import annotations",
    "",
]


def _docstring(first: str) -> list[str]:
    return [
        f'"""{first}: GENERATED by tools/gen_cs_api.py from spec.json.',
        "",
        "Do not edit: add the command to CALLED in tools/gen_cs_api.py and run it (tests run its --check).",
        "Each method's keyword arguments are the command's parameters (required ones have no default); a method",
        "answers the unwrapped result (list items across pages, the object, True, or the finished job's result).",
        "`begin_<command>` starts an async command's job and answers {\"jobid\": ...} without waiting for it.",
        "CloudStackClient (client.py) implements `_command` and `_begin`, the one generic path.",
        '"""',
    ]


def _methods(commands: dict, names: list[str]) -> list[str]:
    out: list[str] = []
    for command in names:
        entry = commands[command]
        name = snake_case(command)
        out.append("")
        out += _method(name, command, entry, _result(entry), "_command")
        if entry.get("kind") == "async":
            out.append("")
            out += _method(f"begin_{name}", command, entry, "Obj", "_begin")
    return out


def _imports(methods: list[str], base: list[str]) -> list[str]:
    """The typing and api_base imports the METHODS' text uses (plus BASE), so no import goes unused."""
    text = "\n".join(methods)
    typing = [n for n in ("Any", "Awaitable", "Mapping", "Sequence") if re.search(rf"\b{n}\b", text)]
    ours = sorted(set(base) | {n for n in ("Items", "Map", "Obj") if re.search(rf"\b{n}\b", text)}) + ["given"]
    out = [f"from typing import {', '.join(typing)}", ""] if typing else []
    return out + [f"from ec2soap.cloudstack.api_base import {', '.join(ours)}", ""]


def render(spec: dict) -> dict[pathlib.Path, str]:
    """The three generated modules (one would pass the 600-line limit): api_base.py (types, the abstract
    transport), api_lists.py (the list* commands) and api.py (CloudStackApi: the other commands, COMMANDS)."""
    commands = spec["commands"]
    missing = [c for c in CALLED if c not in commands]
    if missing:
        raise SystemExit(f"not in spec.json: {', '.join(missing)}")
    lists = [c for c in CALLED if c.startswith("list")]
    others = [c for c in CALLED if not c.startswith("list")]
    base = _docstring("The typed CloudStack seam's base: the value types and the transport CloudStackApi's methods "
                      "use") + _HEADER + [
        "from typing import Any, Awaitable, Mapping, Sequence",
        "",
        '__all__ = ["ApiBase", "Obj", "Items", "Map", "given"]',
        "",
        "Obj = dict[str, Any]  # a CloudStack object as it came (a VM, a volume, a job's start {\"jobid\": ...})",
        "Items = list[Obj]  # a list command's items across every page",
        "Map = Mapping[str, Any] | Sequence[Mapping[str, Any]]  # a map parameter: name[i].field=value",
        "",
        "",
        "def given(values: dict[str, Any]) -> dict[str, Any]:",
        '    """The parameters a method was called with: not self, and not the ones left at None."""',
        '    return {name: value for name, value in values.items() if name != "self" and value is not None}',
        "",
        "",
        "class ApiBase:",
        '    """The transport every generated method calls (CloudStackClient implements it)."""',
        "",
        "    def _command(self, command: str, params: dict[str, Any]) -> Awaitable[Any]:",
        "        raise NotImplementedError",
        "",
        "    def _begin(self, command: str, params: dict[str, Any]) -> Awaitable[dict[str, Any]]:",
        "        raise NotImplementedError",
        "",
        "    def wait_job(self, jobid: str, *, command: str = \"\") -> Awaitable[Any]:",
        '        """Wait for a job begun with begin_<command> → its result as COMMAND answers it."""',
        "        raise NotImplementedError",
        "",
    ]
    list_methods = _methods(commands, lists)
    listing = _docstring("The list* CloudStack commands the gateway calls, typed") + _HEADER + _imports(
        list_methods, ["ApiBase"]) + [
        '__all__ = ["ListCommands"]',
        "",
        "",
        "class ListCommands(ApiBase):",
        '    """One typed method per list* command the gateway calls."""',
    ] + list_methods + [""]
    other_methods = _methods(commands, others)
    api = _docstring("The CloudStack commands the gateway calls, typed") + _HEADER + _imports(
        other_methods, [])[:-1] + [
        "from ec2soap.cloudstack.api_lists import ListCommands",
        "",
        '__all__ = ["CloudStackApi", "COMMANDS"]',
        "",
        "",
        "class CloudStackApi(ListCommands):",
        '    """One typed method per CloudStack command the gateway calls (CloudStackClient implements it); the',
        '    list* commands are ListCommands\'."""',
    ] + other_methods + [
        "", "", "# command name → its method's name, for the tests and tools", "COMMANDS: dict[str, str] = {"]
    api += [f"    {command!r}: {snake_case(command)!r}," for command in CALLED]
    api += ["}", ""]
    folder = OUT.parent
    return {folder / "api_base.py": "\n".join(base), folder / "api_lists.py": "\n".join(listing),
            OUT: "\n".join(api)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when api.py is stale")
    args = parser.parse_args(argv)
    files = render(json.loads(SPEC.read_text(encoding="utf-8")))
    if args.check:
        for path, text in files.items():
            current = path.read_text(encoding="utf-8") if path.exists() else ""
            if current != text:
                print(f"{path.relative_to(ROOT)} is stale: run tools/gen_cs_api.py", file=sys.stderr)
                return 1
        return 0
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    print(f"{len(CALLED)} commands")
    return 0


if __name__ == "__main__":
    sys.exit(main())
