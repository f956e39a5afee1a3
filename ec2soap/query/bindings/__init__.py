"""Query bindings: action → function(QueryParams) → the core function's keyword arguments.

One module per resource family, each exporting BINDINGS; the table is explicit, like ec2stack's _get_action.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable

from ec2soap.query.params import QueryParams

__all__ = ["BINDINGS", "bind", "Binding"]

Binding = Callable[[QueryParams], dict[str, Any]]
_FAMILIES = ["key_pairs", "zones", "instances", "images", "volumes", "snapshots", "security_groups",
             "addresses", "tags", "passwords"]


def _collect() -> dict[str, Binding]:
    table: dict[str, Binding] = {}
    for name in _FAMILIES:
        try:
            module = importlib.import_module(f"ec2soap.query.bindings.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"ec2soap.query.bindings.{name}":
                raise
            continue
        for action, binding in module.BINDINGS.items():
            if action in table:
                raise ValueError(f"Query binding for {action} declared twice")
            table[action] = binding
    return table


BINDINGS = _collect()


def bind(action: str, params: QueryParams) -> dict[str, Any]:
    return BINDINGS[action](params)
