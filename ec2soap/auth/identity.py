"""Who an access key belongs to, as S3 shows it: a canonical user id and a display name. No Twisted or SQL here.

The canonical id is SHA-256 over a fixed label and the CloudStack account's uuid, as 64 lowercase hex digits
(the form of S3's canonical ids). Why this and not an HMAC under a gateway key:
- it is a function of CloudStack's own data alone, so every gateway process and host that talks to the same
  CloudStack finds the same id, whether or not they share settings, and rotating the gateway's encryption key
  does not orphan a single stored ACL;
- it reveals nothing of the access key (the key is not an input), and an account uuid is a random v4 uuid
  (122 random bits), so the id cannot be turned back into the account by enumeration; the only thing it
  allows is to confirm a guessed account uuid, which EC2 already shows as ownerId;
- one account, one id: every user (and every key) of an account owns the same buckets, as in S3, and a
  regenerated key keeps its buckets.
The display name is the account's name, which S3 users see as DisplayName.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Mapping

__all__ = ["Identity", "canonical_id", "identity_from_user", "is_canonical_id", "opaque_id"]

_LABEL = b"ec2soap/s3-canonical-user-id/v1\x00"
_CANONICAL = re.compile(r"^[0-9a-f]{64}$")


def canonical_id(account_uuid: str) -> str:
    """The S3 canonical user id of the CloudStack account ACCOUNT_UUID."""
    return hashlib.sha256(_LABEL + account_uuid.strip().lower().encode("utf-8")).hexdigest()


def is_canonical_id(value: str | None) -> bool:
    return bool(value) and _CANONICAL.match(value) is not None  # type: ignore[arg-type]


def opaque_id(value: str) -> str:
    """A 64-hex stand-in for a stored owner that is no canonical id (an access key kept before the canonical
    ids, whose user is gone): shown instead of the key, which must never appear in an answer."""
    return hashlib.sha256(b"ec2soap/s3-legacy-owner/v1\x00" + value.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Identity:
    """An access key's owner: the account's canonical id and name, the user's email and the account uuid."""
    access_key: str
    canonical_id: str
    display_name: str
    email: str
    account_id: str


def identity_from_user(access_key: str, user: Mapping[str, Any]) -> Identity | None:
    """From a CloudStack user object (getUser / listUsers): None when it names no account."""
    account_id = str(user.get("accountid") or "")
    if not account_id:
        return None
    return Identity(access_key=access_key, canonical_id=canonical_id(account_id),
                    display_name=str(user.get("account") or ""), email=str(user.get("email") or ""),
                    account_id=account_id)
