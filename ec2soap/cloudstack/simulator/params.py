"""Request parameters as CloudStack's dispatcher reads them (protocol.md §1, §9): case-insensitive names,
`name[i].field` maps, type/length/required checks from the spec, page/pagesize, dates."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Mapping

from ec2soap.cloudstack.simulator.errors import SimError, invalid_value, param_error

__all__ = ["NOT_PARAMS", "DEFAULT_PAGE_SIZE", "lower_params", "check_params", "page_of", "parse_date"]

DEFAULT_PAGE_SIZE = 500
_CONTROL = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]")
_MAP_KEY = re.compile(r"^([^\[\]]+)\[(\d+)\]\.([^\[\]]+)$")
NOT_PARAMS = {"command", "apikey", "signature", "signatureversion", "expires", "sessionkey", "response",
               "customjobid", "starteventid", "_"}


def lower_params(raw: Mapping[str, str]) -> dict[str, Any]:
    """Parameter names are case-insensitive (§1): lower-case them; fold `name[i].field` into lists."""
    out: dict[str, Any] = {}
    maps: dict[str, dict[int, dict]] = {}
    for key, value in raw.items():
        if "[" in key or "]" in key:
            match = _MAP_KEY.match(key)
            if not match:
                raise SimError(430, f"Unable to decode parameter {key}; if specifying an object array, please "
                                    f"use parameter[index].field=XXX, e.g. userGroupList[0].group=httpGroup", 9999)
            base, index, fieldname = match.group(1).lower(), int(match.group(2)), match.group(3)
            maps.setdefault(base, {}).setdefault(index, {})[fieldname] = value
        else:
            out[key.lower()] = value
    for base, entries in maps.items():
        out[base] = [entries[i] for i in sorted(entries)]
    return out


def _to_bool(value: str) -> bool:
    return str(value).lower() == "true"


def check_params(command: str, entry: dict, params: dict[str, Any]) -> dict[str, Any]:
    """Validate and convert by the spec's types (§1). Unknown parameters are ignored."""
    out: dict[str, Any] = {}
    lc = command.lower()
    declared = entry["params"]
    for name, value in params.items():
        if isinstance(value, str) and name != "activationrule" and _CONTROL.search(value):
            raise SimError(431, f"Received value containing illegal ASCII non-printable characters for "
                                f"parameter {name}", 9999)
    for name, info in declared.items():
        if name not in params:
            if info["required"]:
                raise SimError(431, f"Unable to execute API command {lc} due to missing parameter {name}", 9999)
            continue
        value = params[name]
        kind = info["type"]
        if kind == "map":
            if isinstance(value, str):
                raise SimError(430, f"Unable to decode parameter {name}; if specifying an object array, please "
                                    f"use parameter[index].field=XXX, e.g. userGroupList[0].group=httpGroup", 9999)
            out[name] = value
            continue
        if value == "":
            if info["required"]:
                raise param_error(f"Invalid value provided for API arg: {name}")
            continue
        if len(value) > info.get("length", 255) and kind not in ("list",) and name != "userdata":
            raise SimError(431, f"Unable to execute API command {lc} due to invalid value. Value greater than "
                                f"max allowed length {info.get('length', 255)} for param: {name}", 9999)
        if kind == "boolean":
            out[name] = _to_bool(value)
        elif kind in ("integer", "long", "short"):
            try:
                out[name] = int(value)
            except ValueError:
                raise SimError(431, f"Unable to execute API command {lc} due to invalid value {value} for "
                                    f"parameter {name}", 9999) from None
        elif kind == "list":
            out[name] = [v for v in (s.strip() for s in value.split(",")) if v]
        elif kind == "uuid":
            if value != "-1" and not _looks_like_id(value):
                raise invalid_value(command, name, value)
            out[name] = value
        else:
            out[name] = value
    return out


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _looks_like_id(value: str) -> bool:
    return bool(_UUID.match(value)) or value.isdigit()


def page_of(command: str, items: list[dict], p: Mapping[str, Any]) -> list[dict]:
    """page/pagesize rules of BaseListCmd (§9)."""
    page, size = p.get("page"), p.get("pagesize")
    if size is not None and size > DEFAULT_PAGE_SIZE:
        raise param_error(f"Page size can't exceed max allowed page size value: {DEFAULT_PAGE_SIZE}")
    if size == -1:
        if page is not None:
            raise SimError(431, "Can't specify page parameter when pagesize is -1 (Unlimited)", 9999)
        return items
    if size is not None and page is None:
        raise SimError(431, '"page" parameter is required when "pagesize" is specified', 9999)
    if page is not None and size is None:
        raise SimError(431, '"pagesize" parameter is required when "page" is specified', 9999)
    if page is None:
        return items[:DEFAULT_PAGE_SIZE]
    if page < 1 or size < 1:
        raise param_error("Invalid page or pagesize value")
    start = size * (page - 1)
    return items[start:start + size]



def parse_date(text: str) -> float | None:
    """DateUtil.parseTZDateString formats (§1, §2)."""
    text = text.strip()
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
        try:
            return datetime.strptime(text, fmt).timestamp()
        except ValueError:
            pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()
