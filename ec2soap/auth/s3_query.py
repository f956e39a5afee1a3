"""S3Query: an S3 request's query string, decoded once. No Twisted, Spyne or SQL here.

S3 reads a query the way botocore writes one: percent-escapes are UTF-8, '+' is a literal plus (a space is
sent as %20), and every parameter S3 knows takes one value. The S3 resource decodes a request's query once
into an S3Query; the signature check (SigV2 header and presigned, SigV4 header and presigned, and through
the seed signature the aws-chunked body) builds its canonical query from these very fields, and the handlers
read their parameters from the same object. There is no second reading, so a value cannot be signed one way
and run another (`prefix=a%20b` signed, `prefix=a+b` sent: the signature fails, nothing lists `a+b`).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Optional, Sequence
from urllib.parse import unquote_to_bytes

from .sigv4 import canonical_query

__all__ = ["S3Query", "S3QueryError", "QueryField", "decode_component"]


class S3QueryError(Exception):
    """A query (or path) S3 cannot read: `code` is an S3 error code, `argument_name`/`argument_value` the
    ArgumentName/ArgumentValue elements S3 adds to an InvalidArgument document."""

    def __init__(self, code: str, message: str, *, argument_name: Optional[str] = None,
                 argument_value: Optional[str] = None) -> None:
        super().__init__(message)
        self.code, self.message = code, message
        self.argument_name, self.argument_value = argument_name, argument_value


def decode_component(text: str) -> str:
    """Percent-decode one query field or path segment as S3 does: escapes are UTF-8, '+' stays '+'.

    TEXT is what came on the wire, read as latin-1 (the resource decodes the request line that way), so
    its characters are the request's bytes; a str holding other characters (a caller's own Unicode) is
    taken as UTF-8. S3QueryError InvalidURI when the bytes are not UTF-8.
    """
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        raw = text.encode("utf-8")
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise S3QueryError("InvalidURI", "Couldn't parse the specified URI.") from None


@dataclass(frozen=True)
class QueryField:
    """One `name=value` (or bare `name`) of the query, decoded. HAS_VALUE: an '=' was there."""

    name: str
    value: str
    has_value: bool


class S3Query(Mapping):
    """The decoded query: a read-only mapping name → value (each name appears once), plus `fields` in the
    order sent and `raw`, the query as it came. Build it with `S3Query.parse`."""

    __slots__ = ("raw", "fields", "_values")

    def __init__(self, fields: Iterable[QueryField] = (), raw: str = "") -> None:
        self.fields: tuple[QueryField, ...] = tuple(fields)
        self.raw = raw
        values: dict[str, str] = {}
        for f in self.fields:
            if f.name in values:
                raise S3QueryError("InvalidArgument", f"The query parameter {f.name} may be given only once.",
                                   argument_name=f.name, argument_value=f.value)
            values[f.name] = f.value
        self._values = values

    @classmethod
    def parse(cls, raw: str) -> "S3Query":
        """Decode RAW (the query string without '?', as sent). Empty fields (`a&&b`) are skipped.

        S3QueryError InvalidURI for escapes that are not UTF-8, InvalidArgument for a repeated name: every
        S3 parameter is single-valued, and taking the first or the last would be a guess about which one
        the client meant (and which one it signed)."""
        fields = []
        for part in raw.split("&"):
            if not part:
                continue
            name, sep, value = part.partition("=")
            fields.append(QueryField(decode_component(name), decode_component(value), bool(sep)))
        return cls(fields, raw)

    # -- Mapping ------------------------------------------------------------------------------------------------

    def __getitem__(self, name: str) -> str:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    # The handlers ask `name in query` and `query.get(name)` many times per request: the dict's own methods,
    # not Mapping's, which go through __getitem__ and a caught KeyError.
    def __contains__(self, name: object) -> bool:
        return name in self._values

    def get(self, name: str, default: Any = None) -> Any:
        return self._values.get(name, default)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"S3Query({self.raw!r})"

    # -- what signatures need -----------------------------------------------------------------------------------

    def canonical_v4(self, exclude: Sequence[str] = ()) -> str:
        """SigV4's canonical query over these fields: names and values RFC 3986-encoded, sorted."""
        return canonical_query((f.name, f.value) for f in self.fields if f.name not in exclude)

    def v2_subresources(self, names: frozenset) -> str:
        """SigV2's `?a&b=v` tail of the canonical resource: the NAMES present, sorted, values decoded."""
        subs = sorted((f for f in self.fields if f.name in names), key=lambda f: f.name)
        if not subs:
            return ""
        return "?" + "&".join(f.name + ("=" + f.value if f.has_value else "") for f in subs)
