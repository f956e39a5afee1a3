"""Query bindings: action → function(QueryParams) → the core function's keyword arguments.

One module per resource family, each exporting BINDINGS; the table is explicit, like ec2stack's _get_action.
"""
from __future__ import annotations

from typing import Any, Callable

from ec2soap.query.params import QueryParams
from ec2soap.registry import collect

__all__ = ["BINDINGS", "bind", "Binding"]

Binding = Callable[[QueryParams], dict[str, Any]]
BINDINGS: dict[str, Binding] = collect("ec2soap.query.bindings", "BINDINGS")


def bind(action: str, params: QueryParams) -> dict[str, Any]:
    return BINDINGS[action](params)
