"""Ec2Query: the EC2 Query parameters of one request, decided once. No Twisted, Spyne or SQL here.

Which bytes hold the parameters is decided here and nowhere else: the query string, plus the body when
(and only when) the method is POST and the body is `application/x-www-form-urlencoded`. Any other
non-empty body is refused, because its fields would be signed (SigV4 hashes the payload; the original's
SigV2 read the raw body) yet never reach the action: a captured request could lose any signed parameter
by moving it into a `text/plain` body. The names are decoded once, the form way ('+' is a space, escapes
are UTF-8), and every name appears once: EC2 names are unique (`Filter.1.Value.2`), so a repeated one
would leave a guess about which value was signed and which one runs.

The signature check (SigV2, SigV4 header and presigned) builds its canonical query from these very
pairs, and the action's binding reads its parameters from the same object, so what runs is exactly what
was signed.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Iterator
from urllib.parse import unquote_to_bytes

from .errors import AuthError
from .request import HttpRequestInfo

__all__ = ["Ec2Query", "FORM_TYPE", "decode_form_component"]

FORM_TYPE = "application/x-www-form-urlencoded"


def decode_form_component(text: str) -> str:
    """One name or value as an HTML form encodes it: '+' is a space, %XX escapes are UTF-8.

    ValueError when the bytes are not UTF-8 (two different byte strings must never decode to one value).
    """
    try:
        return unquote_to_bytes(text.replace("+", " ").encode("utf-8")).decode("utf-8")
    except UnicodeError:
        raise ValueError("not UTF-8") from None


def _shown(name: str) -> str:
    return name if len(name) <= 64 else name[:64] + "..."


def _fields(raw: str, where: str) -> list[tuple[str, str, str]]:
    """(raw field, name, value) for each non-empty `name=value` (or bare `name`) of RAW."""
    out = []
    for part in raw.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        try:
            out.append((part, decode_form_component(name), decode_form_component(value)))
        except ValueError:
            raise AuthError("InvalidParameterValue",
                            f"The {where} holds a parameter that is not UTF-8 once percent-decoded.") from None
    return out


class Ec2Query(Mapping):
    """The request's parameters: a read-only mapping name → value, in the order sent.

    `http` is the request the parameters came from; `query_pairs` and `form_pairs` the decoded pairs of the
    query string and of the form body; `raw_fields` the fields exactly as sent (query first), or None when
    the adapter handed over an already parsed form. Build it with `Ec2Query.read`. Immutable: the verifier
    and the binding cannot see two different states of it.
    """

    __slots__ = ("http", "query_pairs", "form_pairs", "raw_fields", "_values")

    def __init__(self, http: HttpRequestInfo, query_pairs: tuple[tuple[str, str], ...],
                 form_pairs: tuple[tuple[str, str], ...], raw_fields: tuple[str, ...] | None) -> None:
        values: dict[str, str] = {}
        query_names = {name for name, _ in query_pairs}
        for index, (name, value) in enumerate(query_pairs + form_pairs):
            if name in values:
                where = ("both in the query string and in the body" if index >= len(query_pairs)
                         and name in query_names else "more than once")
                raise AuthError("InvalidParameterValue",
                                f"The parameter {_shown(name)} appears {where}; each parameter may be given once.")
            values[name] = value
        for slot, value in (("http", http), ("query_pairs", tuple(query_pairs)), ("form_pairs", tuple(form_pairs)),
                            ("raw_fields", raw_fields if raw_fields is None else tuple(raw_fields)),
                            ("_values", values)):
            object.__setattr__(self, slot, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Ec2Query is immutable (cannot set {name})")

    @classmethod
    def read(cls, http: HttpRequestInfo) -> "Ec2Query":
        """The parameters of HTTP, or AuthError (InvalidParameterValue) for a body that is not a POST form,
        escapes that are not UTF-8, or a repeated name."""
        query = _fields(http.query, "query string")
        form: list[tuple[str, str, str]] = []
        parsed_form = None
        content_type = (http.header("content-type") or "").split(";")[0].strip().lower()
        if http.form or http.body:
            if http.method != "POST" or content_type != FORM_TYPE:
                shown = _shown(content_type) or "none"
                raise AuthError("InvalidParameterValue",
                                f"The request body cannot be read (method {_shown(http.method)}, Content-Type "
                                f"{shown}): EC2 Query parameters go in the query string or in a POST body of "
                                f"type {FORM_TYPE}.")
        if http.form:
            parsed_form = tuple((str(k), str(v)) for k, v in http.form)
        elif http.body:
            try:
                text = http.body.decode("utf-8")
            except UnicodeDecodeError:
                raise AuthError("InvalidParameterValue", "The request body is not UTF-8.") from None
            form = _fields(text, "request body")
        if parsed_form is not None:
            return cls(http, tuple((n, v) for _, n, v in query), parsed_form, None)
        return cls(http, tuple((n, v) for _, n, v in query), tuple((n, v) for _, n, v in form),
                   tuple(f for f, _, _ in query + form))

    @property
    def pairs(self) -> tuple[tuple[str, str], ...]:
        """Every parameter, query string first, as decoded (name, value) pairs."""
        return self.query_pairs + self.form_pairs

    def raw_field_names(self) -> list[tuple[str, str]]:
        """(raw field, decoded name) for each field as sent; empty when the form came parsed."""
        if self.raw_fields is None:
            return []
        return list(zip(self.raw_fields, (name for name, _ in self.pairs)))

    # -- Mapping ------------------------------------------------------------------------------------------------

    def __getitem__(self, name: str) -> str:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Ec2Query({list(self._values)!r})"
