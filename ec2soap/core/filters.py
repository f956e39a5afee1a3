"""EC2 Describe* filters and pagination. Core: no Twisted, Spyne, lxml or SQL here.

Filters are data: each resource family declares a table mapping a filter name to a getter (ec2-api's
FILTER_MAP). `tag:<key>`, `tag-key` and `tag-value` work for every item with a `tags` attribute.
"""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeVar

from ec2soap.errors import ERRORS

__all__ = ["Filter", "apply_filters", "matches", "paginate", "select_by_ids", "FilterTable"]

T = TypeVar("T")
FilterTable = Mapping[str, Callable[[Any], Any]]


@dataclass(frozen=True)
class Filter:
    name: str
    values: tuple[str, ...]


@lru_cache(maxsize=1024)
def _pattern(value: str) -> re.Pattern[str]:
    # EC2 wildcards: * any run, ? one character; backslash escapes them.
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            out.append(re.escape(value[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def _as_strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return [s for v in value for s in _as_strings(v)]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    return [str(value)]


def matches(actual: Any, wanted: Iterable[str]) -> bool:
    """True when any wanted value (with wildcards) matches any actual value."""
    actual_values = _as_strings(actual)
    return any(_pattern(w).match(a) for w in wanted for a in actual_values)


def _tag_getter(name: str) -> Callable[[Any], Any] | None:
    if name.startswith("tag:"):
        key = name[4:]
        return lambda item: [t.value for t in getattr(item, "tags", ()) if t.key == key] or None
    if name == "tag-key":
        return lambda item: [t.key for t in getattr(item, "tags", ())]
    if name == "tag-value":
        return lambda item: [t.value for t in getattr(item, "tags", ())]
    return None


def apply_filters(table: FilterTable, filters: Sequence[Filter], items: Iterable[T]) -> list[T]:
    """Items matching every filter (a filter matches when any of its values does). Unknown names are
    InvalidFilter, like EC2."""
    getters = []
    for flt in filters:
        getter = table.get(flt.name) or _tag_getter(flt.name)
        if getter is None:
            raise ERRORS["InvalidFilter"](name=flt.name)
        if not flt.values:
            raise ERRORS["InvalidParameterValue"](detail=f"The filter '{flt.name}' has no values")
        getters.append((getter, flt.values))
    return [item for item in items if all(matches(getter(item), values) for getter, values in getters)]


def select_by_ids(items: Iterable[T], ids: Sequence[str], id_of: Callable[[T], str],
                  not_found: Callable[[str], Exception]) -> list[T]:
    """The items named by IDS, in EC2's order; the first unknown id raises NOT_FOUND(id)."""
    if not ids:
        return list(items)
    by_id = {id_of(i): i for i in items}
    for wanted in ids:
        if wanted not in by_id:
            raise not_found(wanted)
    return [by_id[w] for w in dict.fromkeys(ids)]


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _offset(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        if not text.startswith("o:"):
            raise ValueError
        offset = int(text[2:])
        if offset < 0:
            raise ValueError
        return offset
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ERRORS["InvalidPaginationToken"](token=token) from None


def paginate(items: Sequence[T], max_results: int | None, next_token: str | None, *,
             minimum: int = 5, maximum: int = 1000) -> tuple[list[T], str | None]:
    """EC2's MaxResults/NextToken: the page and the token for the next one (None on the last page)."""
    start = _offset(next_token) if next_token else 0
    if max_results is None:
        if next_token is None:
            return list(items), None
        max_results = maximum
    if not minimum <= max_results <= maximum:
        raise ERRORS["InvalidParameterValue"](
            detail=f"Value ( {max_results} ) for parameter maxResults is invalid. Expecting a value between "
                   f"{minimum} and {maximum}.")
    page = list(items[start:start + max_results])
    end = start + max_results
    return page, (_token(end) if end < len(items) else None)
