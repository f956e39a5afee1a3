"""CloudStack request signing (protocol.md §2), used by our client to sign and by the simulator to verify."""
from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta, timezone
from typing import Mapping
from urllib.parse import quote

__all__ = ["encode_value", "form_value", "string_to_sign", "sign", "verify", "expires_stamp", "EXPIRES_FORMAT"]

EXPIRES_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


def encode_value(value: str) -> str:
    """java.net.URLEncoder.encode(value, "UTF-8") with '+' replaced by %20.

    Java leaves only A-Z a-z 0-9 . - * _ alone; Python's quote also spares '~', which Java encodes."""
    found = _SIGNED.get(value)
    if found is None:
        found = _keep(_SIGNED, value, quote(value, safe="*").replace("~", "%7E"))
    return found


def form_value(value: str) -> str:
    """VALUE in an application/x-www-form-urlencoded body: quote with nothing safe (a space is %20, '+' %2B)."""
    found = _FORM.get(value)
    if found is None:
        found = _keep(_FORM, value, quote(value, safe=""))
    return found


# Encodings of short texts, computed once: a CloudStack request encodes the same names and most of the same
# values (command, apiKey, response, signatureVersion, this second's expires) twice, for its signature and its
# body, on every call (quote's own overhead per value was a visible share of a small call). Bounded.
_SIGNED: dict[str, str] = {}
_FORM: dict[str, str] = {}


def _keep(table: dict[str, str], value: str, encoded: str) -> str:
    if len(value) <= 128:
        if len(table) >= 4096:
            table.clear()
        table[value] = encoded
    return encoded


def string_to_sign(params: Mapping[str, str]) -> str:
    """Every parameter but `signature`, names sorted as sent (case-sensitive), values encoded, lower-cased."""
    pairs = sorted((k, v) for k, v in params.items() if k != "signature")
    return "&".join(f"{k}={encode_value(str(v))}" for k, v in pairs).lower()


def sign(params: Mapping[str, str], secret_key: str) -> str:
    digest = hmac.new(secret_key.encode("utf-8"), string_to_sign(params).encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(params: Mapping[str, str], secret_key: str) -> bool:
    given = params.get("signature")
    if not given or not secret_key:
        return False
    return hmac.compare_digest(sign(params, secret_key).encode("ascii"), given.encode("utf-8", "replace"))


def expires_stamp(seconds: float = 600, now: datetime | None = None) -> str:
    """An `expires` value `seconds` from now, formatted like the cs client (2011-10-10T12:00:00+0000)."""
    if now is None and seconds == int(seconds):
        # The stamp has whole seconds: every call within one second with a whole-second validity writes the
        # same text (a strftime per CloudStack request was a visible share of a small one).
        now = datetime.now(timezone.utc)
        key = (int(now.timestamp()), seconds)
        stamp = _STAMPS.get(key)
        if stamp is None:
            _STAMPS.clear()
            stamp = _STAMPS[key] = _stamp(seconds, now.replace(microsecond=0))
        return stamp
    return _stamp(seconds, now or datetime.now(timezone.utc))


# (whole second of now, seconds) → the stamp expires_stamp wrote for it.
_STAMPS: dict[tuple[int, float], str] = {}


def _stamp(seconds: float, now: datetime) -> str:
    return (now + timedelta(seconds=seconds)).strftime(EXPIRES_FORMAT)
