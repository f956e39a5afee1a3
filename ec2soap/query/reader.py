"""The generic Query reader: an action's request shape (wire/inputs.py, declared in wire/types/<family>.py) and
its flattened parameters (`Name.N.Sub`, read by query/params.py with EC2's errors) → the core keyword arguments.

The odd cases a shape cannot say as data (ModifyInstanceAttribute's per-attribute forms, the flat IpPermissions
of boto 2, ...) are named converters in query/bindings/<family>.py, found by the name the shape gives.
"""
from __future__ import annotations

from typing import Any

from ec2soap.errors import ERRORS
from ec2soap.query.bindings import CONVERTERS
from ec2soap.query.params import QueryParams
from ec2soap.registry import resolve
from ec2soap.wire import types as _types  # noqa: F401  (registers every request shape)
from ec2soap.wire.inputs import REQUESTS, In

__all__ = ["read", "readable", "tags_by_type"]


def readable(action: str) -> bool:
    """Whether ACTION has a request shape Query can read."""
    return action in REQUESTS


def read(action: str, params: QueryParams) -> dict[str, Any]:
    """ACTION's core keyword arguments from PARAMS (EC2Error for a missing or malformed parameter). A parameter
    the action's shape does not read is UnknownParameter, as EC2 answers one it does not know: never dropped
    (an EC2 parameter this gateway does not apply, such as CreateSubnet's AvailabilityZoneId, is refused the
    same way). DryRun=true, once everything else is read, is EC2's DryRunOperation: nothing is done."""
    kwargs = _fields(REQUESTS[action].params, params)
    dry_run = params.bool("DryRun", default=False)
    unread = params.unread()
    if unread:
        raise ERRORS["UnknownParameter"](name=unread[0])
    if dry_run:
        raise ERRORS["DryRunOperation"]()
    return kwargs


def _fields(fields: tuple[In, ...], p: QueryParams) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for param in fields:
        if param.type == "convert":
            out.update(CONVERTERS[param.convert](p))
        elif param.query is None:
            out[param.kw] = param.default  # type: ignore[index]
        else:
            out[param.kw] = _value(param, p)  # type: ignore[index]
    return out


def _value(param: In, p: QueryParams) -> Any:
    name, kind, required = param.query or "", param.type, param.required_in("query")
    if kind in ("string", "choice"):
        value = p.str(name, required=required, default=param.default)
        return (value or None) if param.blank_none else value
    if kind == "int":
        return p.int(name, required=required, default=param.default, minimum=param.minimum,
                     maximum=param.maximum)
    if kind == "bool":
        return p.bool(name, default=param.default)
    if kind == "present":
        return p.present(name)
    if kind == "list":
        return p.list(name)
    if kind == "filters":
        return p.filters(name)
    if kind == "tags":
        return p.tags(name)
    if kind == "structs":
        build = resolve(param.make)
        return [build(**_fields(param.fields, entry)) for entry in p.structs(name)]
    if kind == "tag_specifications":
        return (tags_by_type(p, param.resource).get(param.resource[0], []) if len(param.resource) == 1
                else tags_by_type(p, param.resource or None, name))
    raise ValueError(f"no Query reading for {kind}")


def tags_by_type(p: QueryParams, allowed: tuple[str, ...] | None = None,
                 prefix: str = "TagSpecification") -> dict[str, list[tuple[str, str | None]]]:
    """TagSpecification.N.ResourceType / .Tag.M.Key / .Tag.M.Value → {resource type: [(key, value)]}.

    ALLOWED: the types the action takes (None: the core checks them, for actions that make several kinds)."""
    out: dict[str, list[tuple[str, str | None]]] = {}
    for spec in p.structs(prefix):
        given = spec.str("ResourceType")
        if not given:
            raise ERRORS["MissingParameter"](name=f"{prefix}.N.ResourceType")
        if allowed is not None and given not in allowed:
            raise ERRORS["InvalidParameterValue"](
                detail=f"'{given}' is not a valid taggable resource type for this operation.")
        if given in out:
            raise ERRORS["InvalidParameterValue"](
                detail=f"The same resource type ({given}) may not be specified more than once in tag "
                       f"specifications.")
        out[given] = spec.tags("Tag")
    return out
