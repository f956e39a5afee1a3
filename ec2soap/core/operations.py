"""OPERATIONS: every EC2 action the core implements, by name. Core: no Twisted, Spyne, lxml or SQL here.

Each family module exports OPERATIONS (action → async function(ctx, **kwargs)); this table joins them and is
what both adapters (Query, SOAP) dispatch through, so they cannot disagree on what exists.

GATEWAY_ACTIONS is what the gateway runs: these and the original awsapi's own actions (core/extensions.py,
answered by the Query door only), under one error translation.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable

from ec2soap.core.extensions import EXTENSIONS
from ec2soap.registry import collect

__all__ = ["OPERATIONS", "EXTENSIONS", "GATEWAY_ACTIONS"]

OPERATIONS: dict[str, Callable[..., Awaitable[Any]]] = collect("ec2soap.core", "OPERATIONS")
if set(OPERATIONS) & set(EXTENSIONS):
    raise ValueError(f"ec2soap.core: {sorted(set(OPERATIONS) & set(EXTENSIONS))} are EC2 actions and extensions")
GATEWAY_ACTIONS: dict[str, Callable[..., Awaitable[Any]]] = {**OPERATIONS, **EXTENSIONS}
