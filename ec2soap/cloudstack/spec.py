"""The CloudStack 4.18 API as data: commands, parameters, response fields and wire keys.

`spec.json` is generated from the reference listApis dump (../shared/reference/cloudstack-api/commands.json)
by tools/gen_cs_spec.py (facts only). It holds every reference command; an entry's `served` flag says whether
the simulator answers it (computed by the generator from the families' COMMANDS, checked by
`gen_cs_spec.py --check` and test_every_spec_command_is_served).
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["commands", "command", "served", "snake_case", "camel_of"]


@lru_cache(maxsize=None)
def commands() -> dict[str, dict[str, Any]]:
    """Every command we know: name → spec entry (see tools/gen_cs_spec.py for the fields)."""
    text = resources.files("ec2soap.cloudstack").joinpath("spec.json").read_text(encoding="utf-8")
    return dict(json.loads(text)["commands"])


@lru_cache(maxsize=None)
def served() -> frozenset[str]:
    """The commands spec.json marks as answered by the simulator."""
    return frozenset(name for name, entry in commands().items() if entry.get("served"))


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
