"""The signature of an S3 browser-based (POST) upload: a form field signs the base64 policy document.

S3's POST form carries its credentials as form fields, not headers: SigV2 signs the base64 `policy` field with
HMAC-SHA1 (`AWSAccessKeyId`, `signature`); SigV4 with the signing key of `x-amz-credential`'s scope
(`x-amz-algorithm`, `x-amz-credential`, `x-amz-date`, `x-amz-signature`). A form with neither and no policy is
anonymous (the bucket's ACL and policy decide). Two steps like the other S3 signatures, so the adapter can look
the secret up asynchronously: `parse_post` checks what needs no secret, `verify_post` the signature.
No Twisted, Spyne or SQL here; field names are lower case (S3 reads them case-insensitively).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import Mapping, Optional

from . import sigv4
from .errors import AuthError

__all__ = ["PostCredentials", "parse_post", "verify_post"]


@dataclass(frozen=True)
class PostCredentials:
    """Who signed a POST form: ACCESS_KEY, VERSION 2 or 4, the SIGNATURE as sent, the base64 POLICY signed,
    and for SigV4 the CREDENTIAL scope."""
    access_key: str
    version: int
    signature: str
    policy: str
    credential: Optional[sigv4.Credential] = None


def _missing(name: str) -> AuthError:
    return AuthError("InvalidArgument", f"Bucket POST must contain a field named '{name}'.  If it is specified, "
                                        "please check the order of the fields.")


def parse_post(fields: Mapping[str, str]) -> Optional[PostCredentials]:
    """The credentials of a form (names lower case), or None for an anonymous one; AuthError InvalidArgument
    when a signature field is missing or malformed."""
    policy = fields.get("policy")
    v4 = any(name in fields for name in ("x-amz-signature", "x-amz-credential", "x-amz-algorithm"))
    v2 = any(name in fields for name in ("signature", "awsaccesskeyid"))
    if policy is None and not v4 and not v2:
        return None
    if policy is None:
        raise _missing("policy")
    if v4:
        for name in ("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature"):
            if not fields.get(name):
                raise _missing(name)
        if fields["x-amz-algorithm"] != sigv4.ALGORITHM:
            raise AuthError("InvalidArgument", "Only the AWS4-HMAC-SHA256 algorithm is supported for x-amz-algorithm")
        try:
            credential = sigv4.parse_credential(fields["x-amz-credential"])
        except ValueError as exc:
            raise AuthError("InvalidArgument", f"Invalid x-amz-credential: {exc}") from None
        if not fields["x-amz-date"].startswith(credential.date) or credential.service != "s3" \
                or credential.terminator != sigv4.TERMINATOR:
            raise AuthError("InvalidArgument", "x-amz-credential's scope does not match x-amz-date")
        return PostCredentials(credential.access_key, 4, fields["x-amz-signature"].strip(), policy, credential)
    for name in ("awsaccesskeyid", "signature"):
        if not fields.get(name):
            raise _missing("AWSAccessKeyId" if name == "awsaccesskeyid" else name)
    return PostCredentials(fields["awsaccesskeyid"].strip(), 2, fields["signature"].strip(), policy)


def verify_post(credentials: PostCredentials, secret: Optional[str]) -> None:
    """AuthError SignatureDoesNotMatch unless the form's signature is the policy's under SECRET (None: the
    access key is unknown, which S3 answers the same way once the key is looked up)."""
    if secret is None:
        raise AuthError("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
    policy = credentials.policy.encode("utf-8")
    if credentials.version == 4:
        cred = credentials.credential
        assert cred is not None
        key = sigv4.derive_signing_key(secret, cred.date, cred.region, cred.service)
        expected = hmac.new(key, policy, hashlib.sha256).hexdigest().encode("ascii")
        matched = hmac.compare_digest(expected, credentials.signature.lower().encode("utf-8", "replace"))
    else:
        try:
            provided = base64.b64decode(credentials.signature, validate=True)
        except (binascii.Error, ValueError):
            provided = b""
        expected = hmac.new(secret.encode("utf-8"), policy, hashlib.sha1).digest()
        matched = hmac.compare_digest(expected, provided)
    if not matched:
        raise AuthError("SignatureDoesNotMatch", "The request signature we calculated does not match the "
                                                 "signature you provided. Check your key and signing method.",
                        string_to_sign=credentials.policy)
