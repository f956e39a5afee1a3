"""Certificate registration from the command line: `ec2soap cert add|remove` (on the database) and
`cloudstack-aws-api-register` (over HTTP, as the original's script, cloudbridge.md §3.5).

No Twisted reactor here: the database work runs inline, the HTTP calls with requests. Never prints a secret.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import sys
from datetime import datetime, timezone
from typing import Any, Sequence
from urllib.parse import urlsplit

from ec2soap.argv import glue_values

__all__ = ["build_register_parser", "cert_add", "cert_remove", "register_main", "signed_params"]

# The API version the original's script sent (after CLOUDSTACK-1444).
REGISTER_VERSION = "2012-08-15"


class _InlineStore:
    """Store.run without a thread pool, so Credentials' coroutines can run under asyncio.run."""

    def __init__(self, store: Any):
        self._store = store

    async def run(self, fn: Any, *args: Any) -> Any:
        return self._store.run_sync(fn, *args)


def _credentials(settings: Any) -> tuple[Any, Any]:
    from ec2soap.auth.credentials import Credentials
    from ec2soap.server import open_store

    store = open_store(settings, migrate_new=False)
    # No secret is read or written here, so no encryption key is needed (or created).
    return store, Credentials(_InlineStore(store), box=None)


def cert_add(settings: Any, access_key: str, pem: str) -> int:
    """`ec2soap cert add`: register a PEM certificate for a key already registered with the gateway."""
    from ec2soap.auth.certificates import CertificateError

    store, credentials = _credentials(settings)
    try:
        done = asyncio.run(credentials.set_certificate(access_key, pem))
    except CertificateError as exc:
        print(f"ec2soap: invalid certificate: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    if not done:
        print(f"ec2soap: access key {access_key} is not registered with this gateway; register its keys first "
              f"(SetUserKeys, or cloudstack-aws-api-register)", file=sys.stderr)
        return 1
    print(f"certificate registered for {access_key}")
    return 0


def cert_remove(settings: Any, access_key: str) -> int:
    """`ec2soap cert remove`: forget the key's certificate (its SOAP requests fail from now on)."""
    store, credentials = _credentials(settings)
    try:
        removed = asyncio.run(credentials.delete_certificate(access_key))
    finally:
        store.close()
    if not removed:
        print(f"ec2soap: no certificate is registered for {access_key}", file=sys.stderr)
        return 1
    print(f"certificate removed for {access_key}")
    return 0


def signed_params(method: str, url: str, access_key: str, secret_key: str, params: dict[str, str],
                  now: datetime | None = None) -> dict[str, str]:
    """`params` with EC2 Signature Version 2 (HmacSHA256) added, for METHOD on URL."""
    from ec2soap.auth.sigv4 import canonical_query

    parts = urlsplit(url)
    when = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    signed = {**params, "AWSAccessKeyId": access_key, "SignatureMethod": "HmacSHA256",
              "SignatureVersion": "2", "Timestamp": when, "Version": REGISTER_VERSION}
    to_sign = f"{method}\n{parts.netloc.lower()}\n{parts.path or '/'}\n{canonical_query(signed.items())}"
    digest = hmac.new(secret_key.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).digest()
    return {**signed, "Signature": base64.b64encode(digest).decode("ascii")}


def build_register_parser() -> argparse.ArgumentParser:
    """The arguments of `cloudstack-aws-api-register`, the original script's names."""
    parser = argparse.ArgumentParser(prog="cloudstack-aws-api-register",
                                     description="Register a user's CloudStack API keys and X.509 certificate "
                                                 "with the EC2 gateway (for SOAP requests)")
    parser.add_argument("--apikey", required=True, help="the user's CloudStack API key (the EC2 access key)")
    parser.add_argument("--secretkey", required=True, help="the user's CloudStack secret key")
    parser.add_argument("--cert", required=True, metavar="FILE", help="the user's X.509 certificate (PEM)")
    parser.add_argument("--url", required=True, help="the gateway's EC2 URL, e.g. http://host:7080/awsapi")
    return parser


def register_main(argv: Sequence[str] | None = None) -> int:
    """`cloudstack-aws-api-register --apikey K --secretkey S --cert FILE --url URL`: SetUserKeys, then
    SetCertificate, each a signed request. Unlike the original it POSTs, so the secret key never appears in a
    URL (and so in no access log)."""
    import requests

    args = build_register_parser().parse_args(glue_values(sys.argv[1:] if argv is None else argv))
    try:
        with open(args.cert, encoding="utf-8", errors="replace") as handle:
            pem = handle.read()
    except OSError as exc:
        print(f"cannot read the certificate file: {exc.strerror}", file=sys.stderr)
        return 1
    steps = [{"Action": "SetUserKeys", "accesskey": args.apikey, "secretkey": args.secretkey},
             {"Action": "SetCertificate", "cert": pem}]
    for step in steps:
        data = signed_params("POST", args.url, args.apikey, args.secretkey, step)
        try:
            response = requests.post(args.url, data=data, timeout=60)
        except requests.RequestException as exc:
            print(f"User registration failed: cannot reach {args.url} ({exc.__class__.__name__})", file=sys.stderr)
            return 1
        if response.status_code != 200:
            print(f"User registration failed with http error code: {response.status_code}")
            return 1
    print("User registration is successful!")
    return 0


if __name__ == "__main__":
    sys.exit(register_main())
