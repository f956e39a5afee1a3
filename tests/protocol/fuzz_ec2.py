"""Generated EC2 Query requests, bad in their parameters but signed correctly (SigV2 GET and form POST, SigV4
header and presigned), so they pass authentication and reach the bindings, the core and CloudStack.

Actions: every action ec2soap binds, the ones it knows but does not implement, its extensions, and junk.
Parameter names: the action's real ones (botocore's EC2 model, serialised as EC2 Query names, and the names our
binding reads), junk, and deep or many Filter.N.Value.M; values: real ids of the caller's resources, enums,
and hostile strings, numbers, booleans and dates.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import random
from datetime import datetime, timedelta, timezone
from typing import Any, Optional
from urllib.parse import quote

from tests.protocol.fuzzing import (Case, Value, hex_id, junk_bool, junk_date, junk_int, junk_string)

__all__ = ["ec2_case", "build_ec2", "ec2_actions"]

REGION = "cloudstack"
EC2_PATH = "/awsapi/rest/AmazonEC2"
VERSION = "2016-11-15"
FILTER_NAMES = ["instance-id", "instance-state-name", "instance-type", "image-id", "key-name", "group-name",
                "group-id", "tag:Name", "tag-key", "tag-value", "resource-id", "resource-type", "volume-id",
                "attachment.instance-id", "availability-zone", "zone-name", "owner-id", "name", "state", "status",
                "description", "ip-permission.from-port", "public-ip", "snapshot-id", "fingerprint", "architecture",
                "is-public", "launch-time", "", "*", "tag:", "no-such-filter", "Filter"]


@functools.lru_cache(maxsize=8192)  # the same hostile values come back often, and quote() is slow on long ones
def enc(value: Value) -> str:
    """RFC 3986 percent-encoding, as SigV2 and SigV4 canonicalise (so '+' goes as %2B, space as %20)."""
    return quote(value, safe="-_.~")


@functools.lru_cache(maxsize=1)
def _model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("ec2")


@functools.lru_cache(maxsize=1)
def _binding_names() -> dict[str, tuple[list[str], list[str], list[str]]]:
    """action → (names its request shape reads, names any shape reads, names it requires): our side of "real
    parameters", read from the request shapes (wire/inputs.py), list indexes as 1."""
    from ec2soap.wire import types  # noqa: F401  (registers every request shape)
    from ec2soap.wire.inputs import REQUESTS, query_names

    def spelled(name: str) -> list[str]:
        return sorted({name.replace(".N", ".1"), name.split(".N", 1)[0]})

    own = {action: sorted({n for p in shape.params for q in query_names(p) for n in spelled(q)})
           for action, shape in REQUESTS.items()}
    everything = sorted({n for names in own.values() for n in names})
    return {action: (own[action], everything,
                     sorted(p.query for p in shape.params if p.query and p.required_in("query")
                            and p.type not in ("convert", "list")))
            for action, shape in REQUESTS.items()}


@functools.lru_cache(maxsize=1)
def ec2_actions() -> tuple[list[str], list[str], list[str]]:
    """(bound actions, known-but-unimplemented actions, the original's extensions), sorted."""
    from ec2soap.wire.catalogue import UNSUPPORTED as KNOWN_ACTIONS
    from ec2soap.wire.inputs import REQUESTS as BINDINGS

    return (sorted(BINDINGS), sorted(KNOWN_ACTIONS),
            ["CloudEC2Version", "SetUserKeys", "SetCertificate", "DeleteCertificate"])


def _query_name(name: str, member: Any) -> str:
    serial = member.serialization
    if serial.get("queryName"):
        return serial["queryName"]
    if serial.get("name"):
        return serial["name"][0].upper() + serial["name"][1:]
    return name


def _index(rng: random.Random) -> str:
    return rng.choice(["1", "1", "1", "2", "3", "1", "2", "0", "-1", "01", "10", "999999999999", "1.5", "x", "",
                       " 1", "\x00"])


def _model_param(rng: random.Random, shape: Any, prefix: str, depth: int = 0) -> tuple[str, str, list[str]]:
    """One leaf of SHAPE as an EC2 Query name: (name, type, enum)."""
    kind = shape.type_name
    if kind == "structure" and shape.members and depth < 6:
        name, member = rng.choice(list(shape.members.items()))
        sub = _query_name(name, member)
        return _model_param(rng, member, f"{prefix}.{sub}" if prefix else sub, depth + 1)
    if kind == "list" and depth < 6:
        return _model_param(rng, shape.member, f"{prefix}.{_index(rng)}", depth + 1)
    return prefix, kind, list(getattr(shape, "enum", []) or [])


def _junk_name(rng: random.Random) -> Value:
    roll = rng.random()
    if roll < 0.3:
        return rng.choice(["Filter.1.Value.1.Value.1", "Filter..Name", "Filter.1", "Filter.1.Name.2", "Tag.1",
                           "InstanceId.", ".", "..", "X-Amz-Foo", "Signature2", "action", "ACTION", "version",
                           "Filter.1.Value", "Tag.1.Key.Value", "MaxResults.1", "InstanceId.1.InstanceId"])
    if roll < 0.5:
        return ".".join(rng.choice(["Filter", "Value", "Name", "1", "2", "Tag", "Key"])
                        for _ in range(rng.randint(3, 200)))
    return junk_string(rng, allow_huge=False) or "Empty"


def _pool_for(name: str, real: dict[str, list[str]]) -> list[str]:
    for needle, kind in (("InstanceId", "instance"), ("VolumeId", "volume"), ("SnapshotId", "snapshot"),
                         ("ImageId", "image"), ("GroupId", "group_id"), ("SecurityGroup", "group_name"),
                         ("GroupName", "group_name"), ("KeyName", "key_name"), ("ResourceId", "resource"),
                         ("PublicIp", "address"), ("AllocationId", "allocation"), ("Zone", "zone"),
                         ("Device", "device"), ("InstanceType", "instance_type"), ("Attribute", "attribute"),
                         ("Owner", "owner"), ("ExecutableBy", "owner"), ("IpProtocol", "protocol"),
                         ("Cidr", "cidr"), ("Key", "tag_key")):
        if needle in name:
            return real.get(kind, [])
    return []


def _value(rng: random.Random, name: str, kind: str, enum: list[str], real: dict[str, list[str]]) -> Value:
    if name.endswith(".Name") and name.startswith("Filter.") and rng.random() < 0.7:
        return rng.choice(FILTER_NAMES)
    pool = _pool_for(name, real)
    roll = rng.random()
    if pool and roll < 0.45:
        return rng.choice(pool)
    if enum and roll < 0.6:
        return rng.choice(enum)
    if roll < 0.7:
        if kind == "integer" or name.endswith(("Count", "Results", "Port", "Size", "Iops", "Number")):
            return junk_int(rng)
        if kind == "boolean" or name.endswith(("DryRun", "Force", "Enabled")):
            return junk_bool(rng)
        if kind == "timestamp" or "Time" in name or name in ("Timestamp", "Expires"):
            return junk_date(rng)
        if name.endswith("Id") or name.split(".")[-1].isdigit():
            return rng.choice([hex_id(rng, p) for p in ("i-", "vol-", "ami-", "sg-", "snap-", "eipalloc-", "x-")])
        if "UserData" in name:
            return base64.b64encode(rng.randbytes(rng.randint(0, 400))).decode() + rng.choice(["", "=", "!"])
    return junk_string(rng, allow_huge=rng.random() < 0.3)


def _params(rng: random.Random, action: str, real: dict[str, list[str]]) -> list[tuple[Value, Value]]:
    model = _model()
    shape = model.operation_model(action).input_shape if action in model.operation_names else None
    ours, family, required = _binding_names().get(action, ([], [], []))
    params: list[tuple[Value, Value]] = []
    if shape is not None and rng.random() < 0.75:  # mostly give what is required, to get past MissingParameter
        for member in shape.required_members:
            sub = shape.members[member]
            name = _query_name(member, sub) + (".1" if sub.type_name == "list" else "")
            kind = sub.member.type_name if sub.type_name == "list" else sub.type_name
            params.append((name, _value(rng, name, kind, list(getattr(sub, "enum", []) or []), real)))
    if rng.random() < 0.75:
        params.extend((name, _value(rng, name, "string", [], real)) for name in required)
    for _ in range(rng.choice([0, 1, 2, 3, 3, 4, 5, 6, 8, 12])):
        roll = rng.random()
        if shape is not None and shape.members and roll < 0.45:
            name, kind, enum = _model_param(rng, shape, "")
        elif (ours or family) and roll < 0.8:
            name, kind, enum = rng.choice(ours if ours and rng.random() < 0.7 else family or ours), "string", []
            if name in ("Filter", "Tag", "InstanceId", "SecurityGroup", "ResourceId", "GroupId", "Value"):
                name += "." + _index(rng) + rng.choice(["", ".Name", ".Value", ".Value." + _index(rng),
                                                        ".Key"])
        else:
            name, kind, enum = _junk_name(rng), "string", []
        params.append((name, _value(rng, name if isinstance(name, str) else "", kind, enum, real)))
    roll = rng.random()
    if roll < 0.08:  # deep Filter.N.Value.M nesting and many values
        for n in range(1, rng.choice([2, 5, 50, 200]) + 1):
            params.append((f"Filter.{n}.Name", rng.choice(FILTER_NAMES)))
            for m in range(1, rng.choice([1, 3, 20]) + 1):
                params.append((f"Filter.{n}.Value.{m}", rng.choice(["*", "?", "x", "\x00", "é*", "a+b"])))
    elif roll < 0.11:
        deep = "Filter.1" + ".Value.1" * rng.choice([10, 100, 1000])
        params.append((deep, "x"))
    once: dict[Value, Value] = {}
    for name, value in params:  # each name once (its first value): a repeat is refused before any binding
        once.setdefault(name, value)
    params = list(once.items())
    if roll > 0.97 and params:
        params.append(rng.choice(params))  # ... which is its own, rarer case
    return params


def _action(rng: random.Random) -> tuple[Optional[Value], str]:
    bound, known, extensions = ec2_actions()
    roll = rng.random()
    if roll < 0.80:
        name = rng.choice(bound)
        return name, name
    if roll < 0.86:
        return rng.choice(known), "<known, unimplemented>"
    if roll < 0.90:
        name = rng.choice(extensions)
        return name, name
    if roll < 0.93:
        return None, "<no Action>"
    if roll < 0.95:
        return rng.choice(bound).lower(), "<wrong-case action>"
    return junk_string(rng, allow_huge=False), "<junk action>"


def sign_v2(method: str, host: str, path: str, pairs: list[tuple[Value, Value]], access_key: str,
            secret_key: str, *, sha1: bool = False, expires: bool = False) -> list[tuple[Value, Value]]:
    """PAIRS plus SigV2's auth parameters and Signature (HmacSHA256, or HmacSHA1, over METHOD, host, path and
    the pairs sorted by encoded name, RFC 3986 encoded), dated by Timestamp or (EXPIRES) a minute's Expires."""
    now = datetime.now(timezone.utc) + (timedelta(minutes=1) if expires else timedelta())
    signed = pairs + [("AWSAccessKeyId", access_key), ("SignatureMethod", "HmacSHA1" if sha1 else "HmacSHA256"),
                      ("SignatureVersion", "2"), ("Expires" if expires else "Timestamp",
                                                  now.strftime("%Y-%m-%dT%H:%M:%SZ"))]
    canonical = "&".join(f"{k}={v}" for k, v in sorted((enc(k), enc(v)) for k, v in signed))
    text = f"{method}\n{host.lower()}\n{path}\n{canonical}"
    digest = hmac.new(secret_key.encode(), text.encode(), hashlib.sha1 if sha1 else hashlib.sha256).digest()
    return signed + [("Signature", base64.b64encode(digest).decode())]


def _sign_v4(method: str, url: str, body: Optional[bytes], headers: dict[str, str], keys: Any,
             presign: bool) -> tuple[str, dict[str, str]]:
    from botocore.auth import SigV4Auth, SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=url, data=body or b"", headers=headers)
    credentials = Credentials(keys.access_key, keys.secret_key)
    if presign:
        SigV4QueryAuth(credentials, "ec2", REGION, expires=300).add_auth(request)
    else:
        SigV4Auth(credentials, "ec2", REGION).add_auth(request)
    return request.url, {k: v for k, v in request.headers.items()}


def _encoded(pairs: list[tuple[Value, Value]]) -> str:
    return "&".join(f"{enc(k)}={enc(v)}" for k, v in pairs)


def ec2_case(index: int, seed: int, base_url: str, keys: Any, real: dict[str, list[str]]) -> Case:
    """Case number INDEX of SEED: the same case every time, whatever ran before it."""
    rng = random.Random(f"{seed}:ec2:{index}")
    action, label = _action(rng)
    params = _params(rng, action if isinstance(action, str) else "", real)
    pairs: list[tuple[Value, Value]] = ([("Action", action)] if action is not None else []) + params
    if rng.random() < 0.85:
        pairs.append(("Version", VERSION if rng.random() < 0.8 else junk_string(rng, allow_huge=False)))
    size = sum(len(k) + len(v) for k, v in pairs)
    roll = rng.random()
    scheme = ("sigv2-get" if roll < 0.35 else "sigv2-post" if roll < 0.62 else "sigv4-post" if roll < 0.82
              else "sigv4-get" if roll < 0.90 else "sigv4-presigned" if roll < 0.95 else "sigv2-split")
    if size > 2000 and scheme in ("sigv2-get", "sigv4-get", "sigv4-presigned") and rng.random() < 0.9:
        scheme = "sigv2-post"  # mostly keep request lines under the HTTP server's limit; sometimes test it
    # GatewayRoot sends "/" to Query for a (non-empty) Action or a form POST; else it would be S3.
    path = "/" if action and rng.random() < 0.3 else EC2_PATH
    variant = {"sha1": rng.random() < 0.2, "expires": rng.random() < 0.2}
    method = "GET" if "get" in scheme or "presigned" in scheme else "POST"
    if rng.random() < 0.04:  # a method Query does not take: still an EC2 error document, never a 5xx page
        method = rng.choice(["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
        scheme, label = "sigv2-get", f"any action, HTTP {method}"
    split_type = rng.choice([None, "text/plain", "application/octet-stream"])
    spec = {"pairs": pairs, "scheme": scheme, "path": path, "variant": variant, "method": method, "label": label,
            "split_type": split_type,
            "simpler": [("variant", {"sha1": False, "expires": False}), ("path", EC2_PATH)]}
    return build_ec2(spec, base_url=base_url, keys=keys, index=index)


_PROTOCOL = {"Action", "Version", "AWSAccessKeyId", "SignatureMethod", "SignatureVersion", "Timestamp", "Expires",
             "Signature"}


def build_ec2(spec: dict, *, base_url: str, keys: Any, index: int) -> Case:
    """The signed request SPEC describes (the shrinker rebuilds smaller specs with it)."""
    pairs, scheme, path, method = spec["pairs"], spec["scheme"], spec["path"], spec["method"]
    host = base_url.split("//", 1)[1]
    variant = spec["variant"]
    form = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    if scheme == "sigv2-get":
        signed = sign_v2(method, host, path, pairs, keys.access_key, keys.secret_key, **variant)
        url, headers, body = f"{base_url}{path}?{_encoded(signed)}", {}, None
    elif scheme == "sigv2-post":
        body = _encoded(sign_v2("POST", host, path, pairs, keys.access_key, keys.secret_key, **variant)).encode()
        url, headers = f"{base_url}{path}", form
    elif scheme == "sigv2-split":  # the protocol's parameters in the query, the rest in a body that is no form
        signed = sign_v2("POST", host, path, pairs, keys.access_key, keys.secret_key, **variant)
        head = [p for p in signed if p[0] in _PROTOCOL]
        url = f"{base_url}{path}?{_encoded(head)}"
        headers = {"Content-Type": spec["split_type"]} if spec["split_type"] else {}
        body = _encoded([p for p in signed if p[0] not in _PROTOCOL]).encode()
    elif scheme == "sigv4-post":
        url, headers = _sign_v4("POST", f"{base_url}{path}", _encoded(pairs).encode(), form, keys, False)
        body = _encoded(pairs).encode()
    else:
        url, headers = _sign_v4("GET", f"{base_url}{path}?{_encoded(pairs)}", None, {}, keys,
                                scheme == "sigv4-presigned")
        body = None
    action = next((v for k, v in pairs if k == "Action"), None)
    bound = action if isinstance(action, str) and action in ec2_actions()[0] else ""
    return Case("ec2", spec["label"], scheme, method, url, headers, body, True, [(k, v) for k, v in pairs], index,
                action=bound, spec=spec, rebuild=functools.partial(build_ec2, base_url=base_url, keys=keys,
                                                                 index=index))
