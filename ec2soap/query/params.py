"""EC2 Query parameters ("Filter.1.Value.2=x") read into Python values, with EC2's errors for bad input.

No core logic here: bindings use QueryParams to build a core function's keyword arguments.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from ec2soap.core.filters import Filter
from ec2soap.errors import ERRORS

__all__ = ["QueryParams", "AUTH_PARAMS"]

# Parameters that belong to the protocol, not to an action.
AUTH_PARAMS = {"Action", "Version", "AWSAccessKeyId", "Signature", "SignatureMethod", "SignatureVersion",
               "Timestamp", "Expires", "SecurityToken", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
               "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token"}
# boto3 and awscli fill in ClientToken (an idempotency token) on every action whose API has one. RunInstances
# keeps it (core/launches.py); on the other actions the gateway does not deduplicate retries, which the user
# guide says, rather than refuse every call those clients make.
TOLERATED = {"ClientToken"}
_INDEX = re.compile(r"^(\d+)(?:\.(.*))?$")


def _twice(name: str) -> Exception:
    return ERRORS["InvalidParameterValue"](
        detail=f"The parameter {name} appears more than once; each parameter may be given once.")


class QueryParams:
    """Read-only view of one request's parameters (the request's Ec2Query: each name once, decoded once).
    Names are case-sensitive, as in EC2; list indexes are numbers, so `Filter.1` and `Filter.01` are one."""

    def __init__(self, params: Mapping[str, str]):
        self.raw = dict(params)
        # What the reader asked for: names, and prefixes of indexed names (PREFIX.N...). unread() is the rest.
        self._asked: set[str] = set()
        self._prefixes: set[str] = set()

    def __contains__(self, name: str) -> bool:
        self._asked.add(name)
        return name in self.raw

    def present(self, name: str) -> bool:
        """NAME given, as a value or as NAME.Sub... (a structure)."""
        self._prefixes.add(name)
        return name in self or any(key.startswith(name + ".") for key in self.raw)

    def unread(self) -> list[str]:
        """The given names no reading asked for (protocol parameters aside): EC2's UnknownParameter."""
        return sorted(key for key in self.raw if key not in self._asked and key not in AUTH_PARAMS
                      and key not in TOLERATED
                      and not any(key.startswith(prefix + ".") for prefix in self._prefixes))

    def str(self, name: str, *, required: bool = False, default: Any = None) -> Any:
        self._asked.add(name)
        value = self.raw.get(name)
        if value is None or (required and value == ""):
            # EC2 answers an empty required parameter as a missing one (InstanceId= is MissingParameter).
            if required:
                raise ERRORS["MissingParameter"](name=name)
            return default
        return value

    def int(self, name: str, *, required: bool = False, default: Any = None, minimum: int | None = None,
            maximum: int | None = None) -> Any:
        value = self.str(name, required=required)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise ERRORS["InvalidParameterValue"](
                detail=f"Value ({value}) for parameter {name} is invalid. Expected an integer.") from None
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            raise ERRORS["InvalidParameterValue"](detail=f"Value ({value}) for parameter {name} is invalid.")
        return number

    def bool(self, name: str, *, default: Any = None) -> Any:
        value = self.str(name)
        if value is None:
            return default
        lowered = value.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise ERRORS["InvalidParameterValue"](
            detail=f"Value ({value}) for parameter {name} is invalid. Expected a boolean.")

    def _indexed(self, prefix: str) -> dict[int, dict[str, str] | str]:
        """{N: rest} for PREFIX.N (value) and PREFIX.N.Sub... (dict of sub-names)."""
        out: dict[int, Any] = {}
        self._prefixes.add(prefix)
        lead = prefix + "."
        for key, value in self.raw.items():
            if not key.startswith(lead):
                continue
            match = _INDEX.match(key[len(lead):])
            if not match:
                continue
            index, rest = int(match.group(1)), match.group(2)
            # PREFIX.1 and PREFIX.01 are two names for one slot: which one runs would be a guess, so neither does.
            if rest is None:
                if isinstance(out.get(index), str):
                    raise _twice(f"{prefix}.{index}")
                out[index] = value
            else:
                entry = out.setdefault(index, {})
                if isinstance(entry, dict):
                    if rest in entry:
                        raise _twice(f"{prefix}.{index}.{rest}")
                    entry[rest] = value
        return dict(sorted(out.items()))

    def list(self, prefix: str) -> list[str]:
        """PREFIX.1, PREFIX.2, … in index order (EC2 lists are 1-based; gaps are allowed)."""
        return [v for v in self._indexed(prefix).values() if isinstance(v, str)]

    def structs(self, prefix: str) -> list["QueryParams"]:
        """PREFIX.N.Field… as one QueryParams per N (so nested lists read the same way)."""
        return [QueryParams(v) for v in self._indexed(prefix).values() if isinstance(v, dict)]

    def filters(self, prefix: str = "Filter") -> list[Filter]:
        out = []
        for entry in self.structs(prefix):
            name = entry.str("Name")
            if name is None:
                raise ERRORS["MissingParameter"](name=f"{prefix}.N.Name")
            out.append(Filter(name, tuple(entry.list("Value"))))
        return out

    def tags(self, prefix: str = "Tag") -> list[tuple[str, str | None]]:
        """Tag.N.Key / Tag.N.Value pairs; the value is None when not given."""
        out = []
        for entry in self.structs(prefix):
            key = entry.str("Key")
            if key is None:
                raise ERRORS["MissingParameter"](name=f"{prefix}.N.Key")
            out.append((key, entry.str("Value")))
        return out
