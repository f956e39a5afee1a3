"""S3 principals: the authenticated caller as its account's canonical id, and the ids and names answers show.
Pure: no Twisted, no SQL.

- `Principal` is what an authenticated request carries as its caller: a str whose value is the account's
  canonical id (what buckets, objects, uploads and grants store and compare), with the access key, the
  user's email and the account's name beside it (email grants; grants by the old access-key id are still
  honoured, for scripts written for the original gateway).
- `email_grantee` is the account an email grant names (S3 stores it as that CanonicalUser, never the email),
  as s3/request_checks.py last resolved it for a request naming it.
- `public_id` / `display_name_of` are what answers show: an id that is not canonical (a stored access key
  not yet upgraded by s3/owners.py) is never shown as it is.
"""
from __future__ import annotations

from typing import Optional

from ec2soap.auth.identity import Identity, is_canonical_id, opaque_id

__all__ = ["Principal", "public_id", "display_name_of", "remember_name", "remember_key", "grantee_id", "writer_id",
           "remember_email", "email_grantee", "ANONYMOUS"]

ANONYMOUS = "anonymous"  # the owner stored for what an anonymous caller wrote (a public-write bucket)
# Canonical id → account name, for DisplayName. Public facts (S3 shows them to grantees), learnt from the
# callers this process has seen and from the upgrade; an id not (yet) known is shown without a name.
_NAMES: dict[str, str] = {}
# Access key → canonical id of the callers this process has seen: a grant written by the old access-key id is
# stored under the account's canonical id when the key is known here (else as given, honoured for that key).
_KEYS: dict[str, str] = {}
# Email (lower-case) → canonical id of the one account whose user has it, as s3/request_checks.py resolved it from
# CloudStack (or the caller's own) before the route of the request naming it runs, in this same process: an email
# grant is stored as that CanonicalUser. An email never resolved here stays an email grant (no admin keys).
_EMAILS: dict[str, str] = {}


class Principal(str):
    """An authenticated S3 caller: the str is the account's canonical id."""

    access_key: str
    email: str
    display_name: str
    account_id: str

    def __new__(cls, identity: Identity) -> "Principal":
        self = super().__new__(cls, identity.canonical_id)
        self.access_key = identity.access_key
        self.email = identity.email
        self.display_name = identity.display_name
        self.account_id = identity.account_id
        return self


def remember_name(canonical_id: str, name: str) -> None:
    if name:
        _NAMES[canonical_id] = name


def writer_id(caller: Optional[str]) -> str:
    """The owner stored for what CALLER writes: its canonical id (a plain str), or "anonymous"."""
    return str(caller) if caller else ANONYMOUS


def remember_key(access_key: str, canonical_id: str) -> None:
    _KEYS[access_key] = canonical_id


def remember_email(email: str, canonical_id: str) -> None:
    if email and email.strip():
        _EMAILS[email.strip().lower()] = canonical_id


def email_grantee(email: str) -> Optional[str]:
    """The canonical id of the account an email grant names, if resolved here; else None."""
    return _EMAILS.get(email.strip().lower())


def grantee_id(given: str) -> str:
    """The id to store for a CanonicalUser grantee a request names: a canonical id as it is, an access key
    this process knows as its account's canonical id."""
    return given if is_canonical_id(given) else _KEYS.get(given, given)


def public_id(stored: str) -> str:
    """The id an answer shows for a stored owner or grantee."""
    return stored if stored == ANONYMOUS or is_canonical_id(stored) else opaque_id(stored)


def display_name_of(stored: str) -> Optional[str]:
    if stored == ANONYMOUS:
        return ANONYMOUS
    return _NAMES.get(stored)
