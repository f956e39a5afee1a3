"""Request shapes (wire/inputs.py): every Query name we read is botocore's, every SOAP path is in the WSDL type,
every converter exists on both doors, and the two readers give the core the same keywords for one request."""
from __future__ import annotations

import random
import re
from typing import Any

import pytest

from ec2soap.core.operations import OPERATIONS
from ec2soap.errors import EC2Error
from ec2soap.query import reader as query_reader
from ec2soap.query.bindings import CONVERTERS as QUERY_CONVERTERS
from ec2soap.query.params import QueryParams
from ec2soap.soap import reader as soap_reader
from ec2soap.soap.bindings import CONVERTERS as SOAP_CONVERTERS
from ec2soap.wire import types  # noqa: F401  (registers every request shape)
from ec2soap.wire.inputs import REQUESTS, In, query_names
from ec2soap.wire.shapes import ListOf, Struct

ACTIONS = sorted(REQUESTS)


def _botocore_names(shape: Any, prefix: str = "", depth: int = 0) -> set[str]:
    """Every name botocore's EC2 serializer can send for SHAPE (its own, its structures' prefixes included), list
    indexes as N: queryName, else locationName capitalised, else the member name; a list is `Name.N`."""
    names = {prefix} if prefix else set()
    if depth > 8:
        return names
    if shape.type_name == "structure":
        for member_name, member in shape.members.items():
            serial = member.serialization
            sub = serial.get("queryName") or (serial["name"][0].upper() + serial["name"][1:] if serial.get("name")
                                              else member_name)
            names |= _botocore_names(member, f"{prefix}.{sub}" if prefix else sub, depth + 1)
    elif shape.type_name == "list":
        names |= _botocore_names(shape.member, f"{prefix}.N", depth + 1)
    return names


@pytest.fixture(scope="module")
def ec2_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("ec2")


def test_every_operation_has_a_request_shape_and_the_reverse() -> None:
    assert sorted(set(OPERATIONS) ^ set(REQUESTS)) == []


@pytest.mark.parametrize("action", ACTIONS)
def test_every_query_name_is_the_one_botocore_sends(action: str, ec2_model: Any) -> None:
    sent = _botocore_names(ec2_model.operation_model(action).input_shape)
    # An alias is listed explicitly on its parameter (the names a converter reads, and older forms: boto 2's,
    # the 2010 API's); the next test holds the older ones to a list.
    unknown = sorted(name for param in REQUESTS[action].params for name in query_names(param)
                     if name not in sent and name not in param.aliases)
    assert unknown == [], f"{action} reads Query names botocore never sends: {unknown}"


def test_the_old_forms_we_read_are_few_and_named() -> None:
    """The aliases that botocore does not send (boto 2's and the 2010 API's forms), so a new one is a decision."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("ec2")
    old = set()
    for action, shape in REQUESTS.items():
        sent = _botocore_names(model.operation_model(action).input_shape)
        old |= {f"{action}:{a}" for p in shape.params for a in p.aliases if a not in sent}
    assert sorted(old) == sorted([
        *(f"{action}:InstanceId.N" for action in ("DescribeInstanceAttribute", "GetConsoleOutput", "GetPasswordData",
                                                  "ModifyInstanceAttribute", "ResetInstanceAttribute")),
        "AuthorizeSecurityGroupEgress:GroupName", "RevokeSecurityGroupEgress:GroupName"])


def _soap_paths(shape: Struct | ListOf, prefix: str = "") -> set[str]:
    out: set[str] = set()
    if isinstance(shape, ListOf):
        return _soap_paths(shape.item, prefix) if not isinstance(shape.item, str) else out
    for fld in shape.fields:
        path = prefix + fld.xml.lstrip("@")
        out.add(path)
        if not isinstance(fld.shape, str):
            out |= _soap_paths(fld.shape, path + ".")
    return out


@pytest.mark.parametrize("action", [a for a in ACTIONS if REQUESTS[a].soap is not None])
def test_every_soap_path_is_an_element_of_the_2010_request_type(action: str) -> None:
    shape = REQUESTS[action]
    paths = _soap_paths(shape.soap)
    missing = []
    for param in shape.params:
        for sub in (param, *param.fields):
            path = sub.soap if sub is param else f"{param.soap}.{sub.soap}" if sub.soap else None
            if sub.type == "choice":
                missing += [c for c in sub.choices if c not in paths]
            elif path and sub.type != "convert" and path not in paths:
                missing.append(path)
    assert missing == []


def test_every_converter_a_shape_names_exists_on_each_door_that_offers_the_action() -> None:
    named = {(p.convert, shape.soap is not None) for shape in REQUESTS.values() for p in shape.params
             if p.type == "convert"}
    assert sorted(n for n, _ in named if n not in QUERY_CONVERTERS) == []
    assert sorted(n for n, soap in named if soap and n not in SOAP_CONVERTERS) == []
    assert sorted(set(QUERY_CONVERTERS) - {n for n, _ in named}) == []
    assert sorted(set(SOAP_CONVERTERS) - {n for n, soap in named if soap}) == []


# -- one logical request, read by both doors -------------------------------------------------------------------

_WORDS = ["a", "web", "vol-0123456789abcdef0", "i-0123456789abcdef0", "x y", "é", "default", "10.0.0.0/8"]


def _logical(rng: random.Random, params: tuple[In, ...]) -> dict[str, Any]:
    """A random value for each parameter both doors read (None: not given)."""
    out: dict[str, Any] = {}
    for param in params:
        if param.type in ("convert", "tag_specifications") or param.soap is None or param.query is None:
            continue
        if rng.random() < 0.3 and not param.required:
            continue
        if param.type == "int":
            out[param.soap] = rng.randint(-5, 5000)
        elif param.type == "bool":
            out[param.soap] = rng.random() < 0.5
        elif param.type == "present":
            out[param.soap] = True
        elif param.type == "choice":
            out[param.soap] = rng.choice(param.choices)
        elif param.type == "list":
            out[param.soap] = [rng.choice(_WORDS) for _ in range(rng.randint(0, 3))]
        elif param.type == "filters":
            out[param.soap] = [(rng.choice(["name", "tag:Name", "state"]),
                                [rng.choice(_WORDS) for _ in range(rng.randint(0, 2))]) for _ in range(rng.randint(0, 2))]
        elif param.type == "tags":
            out[param.soap] = [(rng.choice(_WORDS), rng.choice([*_WORDS, None])) for _ in range(rng.randint(0, 2))]
        elif param.type == "structs":
            out[param.soap] = [_logical(rng, param.fields) for _ in range(rng.randint(0, 2))]
        else:
            out[param.soap] = rng.choice(_WORDS)
    return out


def _as_query(params: tuple[In, ...], logical: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for param in params:
        if param.soap not in logical:
            continue
        value, name = logical[param.soap], prefix + (param.query or "")
        if param.type == "bool":
            out[name] = "true" if value else "false"
        elif param.type == "present":
            out[name + ".Marker"] = "x"  # any Name.… parameter says it was given (BlockDeviceMapping.N.Ebs.…)
        elif param.type == "list":
            out.update({f"{name}.{i}": v for i, v in enumerate(value, 1)})
        elif param.type == "filters":
            for i, (fname, values) in enumerate(value, 1):
                out[f"{name}.{i}.Name"] = fname
                out.update({f"{name}.{i}.Value.{j}": v for j, v in enumerate(values, 1)})
        elif param.type == "tags":
            for i, (key, tag_value) in enumerate(value, 1):
                out[f"{name}.{i}.Key"] = key
                if tag_value is not None:
                    out[f"{name}.{i}.Value"] = tag_value
        elif param.type == "structs":
            for i, entry in enumerate(value, 1):
                out.update(_as_query(param.fields, entry, f"{name}.{i}."))
        else:
            out[name] = str(value)
    return out


def _put(tree: dict[str, Any], path: str, value: Any) -> None:
    head, _, rest = path.partition(".")
    if not rest:
        tree[head] = value
        return
    child = tree.setdefault(head, {})
    if isinstance(child, list):  # a set: the item's element (RebootInstances' instancesSet.item.instanceId)
        for item in child:
            _put(item, rest, value)
    else:
        _put(child, rest, value)


def _as_soap(params: tuple[In, ...], logical: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for param in params:
        if param.soap not in logical:
            continue
        value, path = logical[param.soap], param.soap
        if param.type == "present":
            _put(out, path, {})
        elif param.type == "choice":
            out[value] = {}
        elif param.type == "list":
            head, _, leaf = path.rpartition(".")
            items = [{leaf: v} for v in value]
            if "." in head:  # a set inside a struct: RebootInstances' instancesSet.item.instanceId
                outer, _, inner = head.rpartition(".")
                _put(out, outer, {inner: items})
            else:
                _put(out, head, items)
        elif param.type == "filters":
            _put(out, path, [{"name": n, "valueSet": [{"value": v} for v in vs]} for n, vs in value])
        elif param.type == "tags":
            _put(out, path, [{"key": k, "value": v} for k, v in value])
        elif param.type == "structs":
            _put(out, path, [_as_soap(param.fields, entry) for entry in value])
        else:
            _put(out, path, value)
    return out


def _read(read: Any, *args: Any) -> Any:
    try:
        return read(*args)
    except EC2Error as exc:
        return exc.code


BOTH = [a for a in ACTIONS if REQUESTS[a].soap is not None]


@pytest.mark.parametrize("action", BOTH)
def test_query_and_soap_readers_give_the_core_the_same_keywords(action: str) -> None:
    """For generated requests of every action both doors offer: what a parameter read by both becomes is the
    same (values, types, lists, structs, filters, tags), and a request that one door refuses the other refuses
    with the same code. Parameters only one door has must pass their defaults on the other."""
    shape = REQUESTS[action]
    rng = random.Random(action)
    common = {kw for p in shape.params if p.soap and p.query and p.type != "convert" for kw in p.keywords}
    converted = any(p.type == "convert" for p in shape.params)
    for _ in range(60):
        logical = _logical(rng, shape.params)
        query = _read(query_reader.read, action, QueryParams(_as_query(shape.params, logical)))
        soap = _read(soap_reader.read, action, _as_soap(shape.params, logical))
        if isinstance(query, str) or isinstance(soap, str):
            # A converter (the odd cases) may refuse what it is not given; the generic parameters may not.
            assert query == soap or converted, (logical, query, soap)
            continue
        assert {k: query[k] for k in common} == {k: soap[k] for k in common}, logical
        assert set(query) == set(soap) == {kw for p in shape.params for kw in p.keywords}


def test_the_readers_refuse_like_ec2() -> None:
    with pytest.raises(EC2Error, match="KeyName") as caught:
        query_reader.read("CreateKeyPair", QueryParams({}))
    assert caught.value.code == "MissingParameter"
    with pytest.raises(EC2Error, match="keyName"):
        soap_reader.read("CreateKeyPair", {"keyName": ""})
    with pytest.raises(EC2Error, match=re.escape("Value (x) for parameter MinCount is invalid. Expected an integer.")):
        query_reader.read("RunInstances", QueryParams({"ImageId": "ami-1", "MinCount": "x", "MaxCount": "1"}))
    with pytest.raises(EC2Error, match=re.escape("Value (x) for parameter size is invalid. Expected an integer.")):
        soap_reader.read("CreateVolume", {"availabilityZone": "z", "size": "x"})
