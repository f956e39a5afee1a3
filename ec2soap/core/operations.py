"""OPERATIONS: every EC2 action the core implements, by name. Core: no Twisted, Spyne, lxml or SQL here.

Each family module exports OPERATIONS (action → async function(ctx, **kwargs)); this table joins them and is
what both adapters (Query, SOAP) dispatch through, so they cannot disagree on what exists.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable

from ec2soap.registry import collect

__all__ = ["OPERATIONS"]

OPERATIONS: dict[str, Callable[..., Awaitable[Any]]] = collect("ec2soap.core", "OPERATIONS")
