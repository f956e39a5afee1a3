"""EC2 request shapes as data: for each action, the core keywords it fills and where each comes from in a
Query request (`Name.N.Sub`) and in a 2010-11-15 SOAP request (the element path), in REQUESTS.

The response shapes' counterpart (wire/shapes.py): the families declare both in wire/types/<family>.py, and one
generic reader per door (query/reader.py, soap/reader.py) turns a request into the core function's keyword
arguments from the same declaration, so an action's parameters are typed once. No Twisted, Spyne, core or
adapter imports here: a struct names the core dataclass it builds (`make`, "module:Class"), and an odd case
names its converter (`convert`), which each door keeps in its own module for that family.

The Query name follows botocore's EC2 serializer (the member's locationName capitalised, lists as `Name.N`);
tests/unit/wire/test_requests.py holds every name we read to botocore's model, with the older forms boto 2
and the 2010 API send listed in `aliases`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ec2soap.wire.shapes import Field, ListOf, Struct, field_

__all__ = ["In", "Request", "REQUESTS", "request", "soap_set", "soap_opt", "TYPES", "query_names"]

# string, int, bool: one value. present: whether the element (or any `Name.…` parameter) was given at all.
# list: `Name.N` strings (SOAP: the path's leaf in every item). filters: Filter.N.Name/Value.M.
# tags: Tag.N.Key/Value pairs. structs: `Name.N.<fields>` → `make(**fields)` each. choice: SOAP's xs:choice of
# empty elements (the one given names the value), Query's plain string. tag_specifications: TagSpecification.N
# (Query only: none in 2010-11-15). convert: the door's named converter reads it (an odd case).
TYPES = {"string", "int", "bool", "present", "list", "filters", "tags", "structs", "choice",
         "tag_specifications", "convert"}


@dataclass(frozen=True)
class In:
    """One request parameter. KW: the core keyword (for `convert`, the keywords its converter fills).
    QUERY: its Query name ("" → the SOAP leaf capitalised; None: not in Query). SOAP: its element path in the
    2010-11-15 request, dots between levels (None: not in SOAP, which then passes DEFAULT). REQUIRED: True, or
    "query"/"soap" when only one door requires it. MINIMUM/MAXIMUM bound an int. BLANK_NONE: an empty value is
    None. FIELDS/MAKE: a struct's members and the core dataclass it builds. CHOICES: a `choice`'s elements.
    RESOURCE: the taggable types a `tag_specifications` takes (empty: any, the core checks; one: its list).
    ALIASES: other Query names read for the same value (boto 2's and the 2010 API's forms), and for `convert`
    every Query name its converter reads, so the botocore test sees them."""
    kw: str | tuple[str, ...]
    type: str = "string"
    query: str | None = ""
    soap: str | None = None
    required: bool | str = False
    minimum: int | None = None
    maximum: int | None = None
    default: Any = None
    blank_none: bool = False
    fields: tuple["In", ...] = ()
    make: str = ""
    choices: tuple[str, ...] = ()
    resource: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    convert: str = ""

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"request parameter {self.kw}: unknown type {self.type}")
        if self.query == "":
            if not self.soap:
                raise ValueError(f"request parameter {self.kw}: a Query name or a SOAP path is needed")
            leaf = self.soap.rsplit(".", 1)[-1]
            object.__setattr__(self, "query", leaf[0].upper() + leaf[1:])

    @property
    def keywords(self) -> tuple[str, ...]:
        return self.kw if isinstance(self.kw, tuple) else (self.kw,)

    def required_in(self, door: str) -> bool:
        return self.required is True or self.required == door


@dataclass(frozen=True)
class Request:
    """An action's request: its parameters, and its 2010-11-15 SOAP request type (None: the action came later,
    SOAP does not offer it). SINCE: the API version the action appeared in."""
    action: str
    params: tuple[In, ...]
    soap: Struct | None
    since: str = "2010-11-15"


REQUESTS: dict[str, Request] = {}


def request(action: str, *params: In, soap: Struct | None | tuple[Field, ...] = None,
            since: str = "2010-11-15") -> Request:
    """Declare ACTION's request. SOAP may be the request type's fields (the type is then `<Action>Type`)."""
    if action in REQUESTS:
        raise ValueError(f"request shape for {action} declared twice")
    if isinstance(soap, tuple):
        soap = Struct(f"{action}Type", soap)
    keywords = [kw for p in params for kw in p.keywords]
    if len(keywords) != len(set(keywords)):
        raise ValueError(f"request shape for {action} fills a keyword twice")
    REQUESTS[action] = Request(action, params, soap, since)
    return REQUESTS[action]


def soap_set(set_name: str, item_name: str, *fields: Field) -> ListOf:
    """An EC2 "set" type of the WSDL: `<fooSet><item>…</item>…</fooSet>`."""
    return ListOf(set_name, Struct(item_name, tuple(fields)))


def soap_opt(xml: str, shape: Any = "string") -> Field:
    """An optional element of a SOAP request type (minOccurs 0)."""
    return field_(xml, shape, optional=True)


def query_names(param: In, prefix: str = "") -> list[str]:
    """The Query names PARAM reads, with `N` for each list index (e.g. Filter.N.Value.N), aliases included."""
    if param.query is None:
        return []
    name = prefix + param.query
    own = {
        "list": [f"{name}.N"],
        "filters": [f"{name}.N.Name", f"{name}.N.Value.N"],
        "tags": [f"{name}.N.Key", f"{name}.N.Value"],
        "tag_specifications": [f"{name}.N.ResourceType", f"{name}.N.Tag.N.Key", f"{name}.N.Tag.N.Value"],
        "structs": [n for f in param.fields for n in query_names(f, f"{name}.N.")],
        "convert": [],
    }.get(param.type, [name])
    return own + [prefix + alias for alias in param.aliases]
