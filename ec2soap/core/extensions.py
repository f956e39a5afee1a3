"""EXTENSIONS: the original awsapi's own actions, which are not EC2's (no WSDL operation, no response shape).

CloudEC2Version lives here; the key and certificate actions in core/user_keys.py, the offering map's in
core/offer_mappings.py. The gateway runs them like every EC2 action (core/operations.py joins both tables), so
a CloudStack failure is translated the same way; only the Query door answers them (query/extensions.py).
Core: no Twisted, Spyne, lxml or SQL.
"""
from __future__ import annotations

from dataclasses import dataclass

from ec2soap import __version__
from ec2soap.core import offer_mappings, user_keys
from ec2soap.core.context import RequestContext

__all__ = ["EXTENSIONS", "GatewayVersion"]


@dataclass(frozen=True)
class GatewayVersion:
    version: str


async def cloud_ec2_version(ctx: RequestContext) -> GatewayVersion:
    """CloudEC2Version: this gateway's version (unauthenticated; CloudStack is not asked)."""
    return GatewayVersion(__version__)


def _join(*tables: dict) -> dict:
    joined: dict = {}
    for table in tables:
        for action, operation in table.items():
            if action in joined:
                raise ValueError(f"core extensions: {action} is declared twice")
            joined[action] = operation
    return joined


EXTENSIONS = _join({"CloudEC2Version": cloud_ec2_version}, user_keys.OPERATIONS, offer_mappings.OPERATIONS)
