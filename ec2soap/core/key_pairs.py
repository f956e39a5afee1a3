"""Key pairs: CreateKeyPair, ImportKeyPair, DeleteKeyPair, DescribeKeyPairs. Core: no Twisted, Spyne, lxml, SQL."""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Sequence

from ec2soap.cloudstack.errors import CloudStackApiError
from ec2soap.core.context import RequestContext
from ec2soap.core.filters import Filter, apply_filters, select_by_ids
from ec2soap.core.tag_specs import TagPairs, refuse_tags
from ec2soap.core.names import check_ascii_name
from ec2soap.errors import ERRORS

__all__ = ["KeyPair", "OPERATIONS", "KEY_PAIR_FILTERS"]


@dataclass
class KeyPair:
    name: str
    fingerprint: str
    material: str | None = None


KEY_PAIR_FILTERS = {
    "key-name": lambda k: k.name,
    "fingerprint": lambda k: k.fingerprint,
}


def _key_pair(cs: dict) -> KeyPair:
    return KeyPair(name=cs["name"], fingerprint=cs.get("fingerprint", ""), material=cs.get("privatekey"))


def _check_name(name: str) -> None:
    if not name or len(name) > 255:
        raise ERRORS["InvalidParameterValue"](detail="Key pair names must be 1 to 255 characters long")
    check_ascii_name(name, "KeyName")


async def describe_key_pairs(ctx: RequestContext, key_names: Sequence[str] = (),
                             filters: Sequence[Filter] = ()) -> list[KeyPair]:
    """DescribeKeyPairs → listSSHKeyPairs. Unknown names fail like EC2, even with filters."""
    pairs = [_key_pair(cs) for cs in await ctx.cloud.list_ssh_key_pairs()]
    chosen = select_by_ids(pairs, list(key_names), lambda k: k.name,
                           lambda name: ERRORS["InvalidKeyPair.NotFound"](key_name=name))
    return apply_filters(KEY_PAIR_FILTERS, filters, chosen)


# CloudStack's resource tags cover no SSH key pairs (ResourceObjectType has none).
_UNTAGGABLE = "CloudStack cannot tag SSH key pairs. Create the key pair without TagSpecification."


async def create_key_pair(ctx: RequestContext, key_name: str, tags: TagPairs = ()) -> KeyPair:
    """CreateKeyPair → createSSHKeyPair. The private key is returned once and never stored or logged."""
    _check_name(key_name)
    refuse_tags("key-pair", tags, _UNTAGGABLE)
    if await ctx.cloud.list_ssh_key_pairs(name=key_name):
        raise ERRORS["InvalidKeyPair.Duplicate"](key_name=key_name)
    try:
        return _key_pair(await ctx.cloud.create_ssh_key_pair(name=key_name))
    except CloudStackApiError as exc:
        if exc.errorcode == 431 and "already exists" in exc.errortext:
            raise ERRORS["InvalidKeyPair.Duplicate"](key_name=key_name) from None
        raise


def _public_key_text(material: str) -> str:
    """EC2 sends PublicKeyMaterial base64-encoded (boto3 encodes it for us); older tools send it raw.
    The original decoded it and then passed the raw value on (cloudbridge.md §4.3); we use the decoded key."""
    text = material.strip()
    if text.startswith(("ssh-", "ecdsa-")):
        return text
    try:
        decoded = base64.b64decode(text, validate=True).decode("ascii").strip()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ERRORS["InvalidKeyPair.Format"]() from None
    if not decoded.startswith(("ssh-", "ecdsa-")):
        raise ERRORS["InvalidKeyPair.Format"]()
    return decoded


async def import_key_pair(ctx: RequestContext, key_name: str, public_key_material: str,
                          tags: TagPairs = ()) -> KeyPair:
    """ImportKeyPair → registerSSHKeyPair."""
    _check_name(key_name)
    if not (public_key_material or "").strip():
        raise ERRORS["MissingParameter"](name="PublicKeyMaterial")
    refuse_tags("key-pair", tags, _UNTAGGABLE)
    public_key = _public_key_text(public_key_material)
    if await ctx.cloud.list_ssh_key_pairs(name=key_name):
        raise ERRORS["InvalidKeyPair.Duplicate"](key_name=key_name)
    try:
        pair = _key_pair(await ctx.cloud.register_ssh_key_pair(name=key_name, publickey=public_key))
    except CloudStackApiError as exc:
        if exc.errorcode == 431 and "already exists" in exc.errortext:
            raise ERRORS["InvalidKeyPair.Duplicate"](key_name=key_name) from None
        if exc.errorcode == 431:
            raise ERRORS["InvalidKeyPair.Format"]() from None
        raise
    pair.material = None
    return pair


async def delete_key_pair(ctx: RequestContext, key_name: str) -> bool:
    """DeleteKeyPair → deleteSSHKeyPair. Like EC2, deleting a name that does not exist succeeds."""
    if not await ctx.cloud.list_ssh_key_pairs(name=key_name):
        return True
    try:
        await ctx.cloud.delete_ssh_key_pair(name=key_name)
    except CloudStackApiError as exc:
        if exc.errorcode != 431:
            raise
    return True


OPERATIONS: dict[str, Any] = {
    "DescribeKeyPairs": describe_key_pairs,
    "CreateKeyPair": create_key_pair,
    "ImportKeyPair": import_key_pair,
    "DeleteKeyPair": delete_key_pair,
}
