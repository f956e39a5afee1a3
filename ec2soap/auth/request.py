"""HttpRequestInfo: a framework-free description of an HTTP request, as signature checks need it.

No Twisted, Spyne or SQL here; each adapter builds one from its own request object.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence, Union
from urllib.parse import unquote, unquote_plus

__all__ = ["HttpRequestInfo", "parse_query"]

HeaderValue = Union[str, Sequence[str]]
HeadersIn = Union[Mapping[str, HeaderValue], Iterable[tuple[str, str]]]


def parse_query(raw: str, *, plus_is_space: bool = True) -> list[tuple[str, str]]:
    """Split a raw query string or form body into decoded (name, value) pairs, in order.

    Empty fields are skipped and a field without '=' has the value "" (what clients mean by
    `?acl`). `plus_is_space` follows HTML forms; S3 treats '+' in a query as a literal plus.
    """
    decode = unquote_plus if plus_is_space else unquote
    pairs = []
    for part in raw.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((decode(name), decode(value)))
    return pairs


@dataclass(frozen=True)
class HttpRequestInfo:
    """What arrived on the wire.

    method: the HTTP verb. path: the raw, still percent-encoded path, without the query.
    query: the raw query string without '?'. headers: a mapping (or pairs) of header names to
    one value or a list of values, any case. host: the Host header as sent (defaults to the
    header). form: decoded x-www-form-urlencoded params of a POST, if the adapter parsed them itself
    (EC2 Query reads the params through ec2_query.Ec2Query, which decides which bytes hold them).
    body: the raw body when it is small and already read (EC2 forms). payload_sha256: the hex
    SHA-256 of the body, if the adapter computed it while streaming.
    """

    method: str
    path: str
    query: str = ""
    headers: HeadersIn = ()
    host: str | None = None
    form: Sequence[tuple[str, str]] | None = None
    body: bytes | None = None
    payload_sha256: str | None = None
    _headers: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        normalized: dict[str, list[str]] = {}
        items = self.headers.items() if isinstance(self.headers, Mapping) else self.headers
        for name, value in items:
            values = [value] if isinstance(value, str) else list(value)
            normalized.setdefault(name.lower(), []).extend(values)
        # frozen dataclass: fields set once here, never again
        object.__setattr__(self, "_headers", {k: tuple(v) for k, v in normalized.items()})
        object.__setattr__(self, "method", self.method.upper())
        if self.host is None:
            object.__setattr__(self, "host", self.header("host") or "")

    def header(self, name: str) -> str | None:
        """The header's value, repeated values joined with ',' (RFC 9110), or None when absent."""
        values = self._headers.get(name.lower())
        return None if values is None else ",".join(values)

    def header_values(self, name: str) -> tuple[str, ...]:
        return self._headers.get(name.lower(), ())

    def header_names(self) -> list[str]:
        return list(self._headers)

    def body_sha256(self) -> str:
        """Hex SHA-256 of the payload: the adapter's value, else the body's, else the empty body's."""
        if self.payload_sha256 is not None:
            return self.payload_sha256.lower()
        return hashlib.sha256(self.body or b"").hexdigest()
