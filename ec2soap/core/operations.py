"""OPERATIONS: every EC2 action the core implements, by name. Core: no Twisted, Spyne, lxml or SQL here.

Each family module exports OPERATIONS (action → async function(ctx, **kwargs)); this table joins them and is
what both adapters (Query, SOAP) dispatch through, so they cannot disagree on what exists.
"""
from __future__ import annotations

import importlib
from typing import Any, Awaitable, Callable

__all__ = ["OPERATIONS", "FAMILIES"]

FAMILIES = ["key_pairs", "zones", "instances", "images", "volumes", "snapshots", "security_groups",
            "addresses", "tags", "passwords"]


def _collect() -> dict[str, Callable[..., Awaitable[Any]]]:
    table: dict[str, Callable[..., Awaitable[Any]]] = {}
    for name in FAMILIES:
        try:
            module = importlib.import_module(f"ec2soap.core.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"ec2soap.core.{name}":
                raise
            continue
        for action, fn in module.OPERATIONS.items():
            if action in table:
                raise ValueError(f"{action} is implemented twice")
            table[action] = fn
    return table


OPERATIONS = _collect()
