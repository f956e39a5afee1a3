"""The CloudStack 4.18 API as data: commands, parameters, response fields and wire keys.

`spec.json` is generated from the reference listApis dump by tools/gen_cs_spec.py (facts only). Commands the
dump does not cover but CloudStack has (account and user management) are declared in EXTRA_COMMANDS below,
from the same CloudStack release, and flagged in `quirks.py`.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["commands", "command", "snake_case", "camel_of", "EXTRA_COMMANDS"]


def _p(type_: str = "string", required: bool = False, length: int = 255) -> dict:
    return {"type": type_, "required": required, "length": length}


# Account and user management of CloudStack 4.18 (AccountManagerImpl; api/command/admin/account|user).
EXTRA_COMMANDS: dict[str, dict] = {
    "createAccount": {
        "isasync": False, "kind": "object", "responsekey": "createaccountresponse", "objectkey": "account",
        "params": {"username": _p(required=True), "password": _p(required=True), "email": _p(required=True),
                   "firstname": _p(required=True), "lastname": _p(required=True), "account": _p(),
                   "accounttype": _p("integer"), "roleid": _p("uuid"), "domainid": _p("uuid"),
                   "timezone": _p(), "networkdomain": _p(), "userid": _p(), "accountid": _p(),
                   "accountdetails": _p("map")},
        "response": "listAccounts",
    },
    "createUser": {
        "isasync": False, "kind": "object", "responsekey": "createuserresponse", "objectkey": "user",
        "params": {"account": _p(required=True), "username": _p(required=True), "password": _p(required=True),
                   "email": _p(required=True), "firstname": _p(required=True), "lastname": _p(required=True),
                   "domainid": _p("uuid"), "timezone": _p(), "userid": _p()},
        "response": "listUsers",
    },
    "deleteAccount": {
        "isasync": True, "kind": "async", "responsekey": "deleteaccountresponse",
        "params": {"id": _p("uuid", True)}, "response": {"success": {"type": "boolean"}, "displaytext": {"type": "string"}},
        "immediatefields": ["jobid"], "jobresultkind": "success", "jobinstancetype": "Account",
    },
    "disableAccount": {
        "isasync": True, "kind": "async", "responsekey": "disableaccountresponse",
        "params": {"id": _p("uuid"), "account": _p(), "domainid": _p("uuid"), "lock": _p("boolean", True)},
        "response": "listAccounts", "immediatefields": ["jobid"], "jobresultkind": "object",
        "jobresultkey": "account", "jobinstancetype": "Account",
    },
    "enableAccount": {
        "isasync": False, "kind": "object", "responsekey": "enableaccountresponse", "objectkey": "account",
        "params": {"id": _p("uuid"), "account": _p(), "domainid": _p("uuid")},
        "response": "listAccounts",
    },
    "deleteUser": {
        "isasync": False, "kind": "success", "responsekey": "deleteuserresponse",
        "params": {"id": _p("uuid", True)}, "response": {"success": {"type": "boolean"}, "displaytext": {"type": "string"}},
    },
    "disableUser": {
        "isasync": True, "kind": "async", "responsekey": "disableuserresponse",
        "params": {"id": _p("uuid", True)}, "response": "listUsers", "immediatefields": ["jobid"],
        "jobresultkind": "object", "jobresultkey": "user", "jobinstancetype": "User",
    },
    "enableUser": {
        "isasync": False, "kind": "object", "responsekey": "enableuserresponse", "objectkey": "user",
        "params": {"id": _p("uuid", True)}, "response": "listUsers",
    },
    # UpgradeVMCmd (api/command/user/vm): a stopped VM takes another compute offering; answers UserVmResponse.
    "changeServiceForVirtualMachine": {
        "isasync": False, "kind": "object", "responsekey": "changeserviceforvirtualmachineresponse",
        "objectkey": "virtualmachine",
        "params": {"id": _p("uuid", True), "serviceofferingid": _p("uuid", True), "details": _p("map")},
        "response": "updateVirtualMachine",
    },
}
for _name, _cmd in EXTRA_COMMANDS.items():
    _cmd.setdefault("hiddenparams", ["response", "customjobid", "starteventid"] if _cmd["isasync"] else ["response"])


@lru_cache(maxsize=None)
def commands() -> dict[str, dict[str, Any]]:
    """Every command we know: name → spec entry (see tools/gen_cs_spec.py for the fields)."""
    text = resources.files("ec2soap.cloudstack").joinpath("spec.json").read_text(encoding="utf-8")
    table = dict(json.loads(text)["commands"])
    for name, entry in EXTRA_COMMANDS.items():
        entry = dict(entry)
        if isinstance(entry["response"], str):
            # The same response class as the named list command (AccountResponse, UserResponse).
            entry["response"] = table[entry["response"]]["response"]
        table.setdefault(name, entry)
    return table


def command(name: str) -> dict[str, Any]:
    return commands()[name]


def snake_case(name: str) -> str:
    """listVirtualMachines → list_virtual_machines; getVMPassword → get_vm_password."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


@lru_cache(maxsize=None)
def _snake_table() -> dict[str, str]:
    return {snake_case(n): n for n in commands()}


def camel_of(snake: str) -> str | None:
    """list_virtual_machines → listVirtualMachines, or None for an unknown command."""
    return _snake_table().get(snake)
