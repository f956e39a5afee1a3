"""TagSpecification on the create actions: which resource types each action takes, which of them this cloud can
tag, and the refusals for the rest. Tags are never dropped: a type CloudStack cannot tag is an error naming it,
checked before anything is created. Core: no Twisted, Spyne, lxml or SQL here.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from ec2soap.core.volumes import check_new_tags
from ec2soap.errors import ERRORS

__all__ = ["TagPairs", "TagSpecs", "refuse_tags", "split_specs"]

TagPairs = Sequence[tuple[str, "str | None"]]
TagSpecs = Mapping[str, TagPairs]


def refuse_tags(resource_type: str, tags: TagPairs, why: str) -> None:
    """Refuse TagSpecification tags this cloud cannot keep on RESOURCE_TYPE (a no-op without tags)."""
    if tags:
        raise ERRORS["InvalidParameterValue"](
            detail=f"Tags cannot be applied to resource type '{resource_type}' on this cloud: {why}")


def split_specs(specs: TagSpecs, taken: Sequence[str], kept: Sequence[str],
                why: Mapping[str, str]) -> dict[str, list[dict]]:
    """SPECS ({resource type: pairs}) of an action that makes several kinds → {type: CloudStack tag maps} for
    the KEPT types. A type the action does not take (TAKEN: EC2's list) is EC2's InvalidParameterValue; a type
    EC2 takes but this cloud cannot tag is refused with WHY[type]."""
    out: dict[str, list[dict]] = {}
    for resource_type, pairs in specs.items():
        if resource_type not in taken:
            raise ERRORS["InvalidParameterValue"](
                detail=f"'{resource_type}' is not a valid taggable resource type for this operation.")
        if resource_type not in kept:
            refuse_tags(resource_type, pairs, why.get(resource_type, "it has no such resource"))
            continue
        out[resource_type] = check_new_tags(pairs)
    return out
