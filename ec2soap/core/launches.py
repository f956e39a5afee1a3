"""RunInstances as EC2 defines it around the launch itself: ClientToken idempotency and DisableApiTermination,
both kept in our store since CloudStack has neither. Core: no Twisted, Spyne, lxml or SQL here.

Same token and parameters → the reservation the first request made, with no second launch; same token, other
parameters → IdempotentParameterMismatch. The store's unique (account, token) decides a race between gateway
processes or hosts: the loser waits for the winner's launch and answers its reservation.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Awaitable, Callable

from ec2soap.core.context import RequestContext
from ec2soap.core.instance_model import Reservation
from ec2soap.core.placement_groups import affinity_group_ids
from ec2soap.core.terminations import caller_account_id, visible_instances
from ec2soap.errors import ERRORS

__all__ = ["launch_once", "fingerprint", "placement_affinity"]

Launch = Callable[..., Awaitable[Reservation]]


def fingerprint(params: dict[str, Any]) -> str:
    """The request's parameters, order-independent: what 'the same parameters' means for a ClientToken."""
    text = json.dumps(params, sort_keys=True, default=lambda v: v.__dict__ if hasattr(v, "__dict__") else str(v))
    return hashlib.sha256(text.encode()).hexdigest()


def _check_token(token: str) -> None:
    # EC2: at most 64 ASCII characters.
    if len(token) > 64 or not token.isascii() or not token.isprintable():
        raise ERRORS["InvalidParameterValue"](
            detail="Value for parameter clientToken is invalid. It must be at most 64 printable ASCII characters.")


async def _protect(ctx: RequestContext, reservation: Reservation) -> None:
    account = await caller_account_id(ctx)
    for inst in reservation.instances:
        await ctx.records.set_protection(inst.cs_id, inst.instance_id, account, True)


async def _reservation(ctx: RequestContext, reservation_id: str, cs_ids: list[str]) -> Reservation:
    """The reservation a token's launch made, as it is now (terminated instances from our record)."""
    _vms, instances = await visible_instances(ctx)
    by_cs = {i.cs_id: i for i in instances}
    found = [by_cs[c] for c in cs_ids if c in by_cs]
    for index, inst in enumerate(found):
        inst.ami_launch_index = str(index)
    owner = found[0].owner_id if found else ""
    groups = list(found[0].groups) if found else []
    return Reservation(reservation_id, owner, groups, found)


async def launch_once(ctx: RequestContext, launch: Launch, params: dict[str, Any], client_token: str | None,
                      disable_api_termination: bool) -> Reservation:
    """LAUNCH(ctx, **PARAMS) at most once per ClientToken; instances protected from termination when asked."""
    if disable_api_termination and ctx.records is None:
        raise ERRORS["InvalidParameterValue"](detail="This gateway keeps no instance records: "
                                                     "DisableApiTermination cannot be kept")
    if not client_token or ctx.records is None:
        reservation = await launch(ctx, **params)
        if disable_api_termination:
            await _protect(ctx, reservation)
        return reservation
    _check_token(client_token)
    account = await caller_account_id(ctx)
    digest = fingerprint({**params, "disable_api_termination": bool(disable_api_termination)})
    for _attempt in range(3):
        record = await ctx.records.claim_token(account, client_token, digest, "", ctx.clock())
        if record.claimed:
            break
        if record.fingerprint != digest:
            raise ERRORS["IdempotentParameterMismatch"](
                detail="Arguments on this idempotent request are inconsistent with arguments used in previous "
                       "request(s).")
        if record.instances is None:
            # The first request is still launching (in another process or host): wait for its answer.
            record = await ctx.records.wait_token(account, client_token, ctx.settings.client_token_wait)
        if record is not None and record.instances is not None:
            return await _reservation(ctx, record.reservation_id, record.instances)
        # Its launch failed (the claim was released) or never finished: claim the token again.
    else:
        raise ERRORS["InternalError"]()
    try:
        reservation = await launch(ctx, **params)
    except BaseException:
        await ctx.records.release_token(account, client_token)
        raise
    if disable_api_termination:
        await _protect(ctx, reservation)
    await ctx.records.fill_token(account, client_token, reservation.reservation_id,
                                 [i.cs_id for i in reservation.instances])
    return reservation


async def placement_affinity(ctx: RequestContext, group_name: str | None, group_id: str | None,
                             others: dict[str, Any]) -> list[str] | None:
    """RunInstances' Placement beyond the zone → deployVirtualMachine affinitygroupids: GroupName (the caller's
    affinity group of that name, placement_groups.py) or GroupId (its pg- id). OTHERS (Placement member →
    value given) are what CloudStack cannot place by: refused by name; Tenancy "default" is what there is."""
    if others.get("Tenancy") in ("", "default"):
        others = {k: v for k, v in others.items() if k != "Tenancy"}
    refused = sorted(name for name, value in others.items() if value not in (None, ""))
    if refused:
        raise ERRORS["InvalidParameterValue"](
            detail=f"Not supported on this cloud: Placement.{', Placement.'.join(refused)} (CloudStack places "
                   f"instances by zone and affinity group only)")
    if group_name and group_id:
        raise ERRORS["InvalidParameterCombination"](
            detail="Placement.GroupName and Placement.GroupId cannot be given together")
    if group_name:
        return await affinity_group_ids(ctx, group_name)
    if group_id:
        cs_id = await ctx.ids.to_cloudstack("placement-group", group_id)
        if cs_id is None or not await ctx.cloud.list_affinity_groups(id=cs_id):
            raise ERRORS["InvalidPlacementGroup.Unknown"](name=group_id)
        return [cs_id]
    return None
