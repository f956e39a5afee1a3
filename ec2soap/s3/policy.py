"""S3 bucket policies: validation of the JSON document and evaluation of one request against it.

Pure functions; no Twisted, no SQL, nothing from ec2soap.core. Covers the common subset: Effect Allow/Deny,
Principal "*" / {"AWS": ...} / {"CanonicalUser": ...}, Action/NotAction and Resource/NotResource with * and ?
wildcards, and the String*, Numeric*, Date*, Arn*, Bool, IpAddress/NotIpAddress and Null condition operators (with
...IfExists, and the ForAnyValue:/ForAllValues: set operators for multivalued keys such as
s3:RequestObjectTagKeys; the object tag keys s3:ExistingObjectTag/<key> and s3:RequestObjectTag/<key> come in
the context from s3.tag_rules; the keys a request's own headers and query give, s3:x-amz-acl,
s3:x-amz-grant-*, s3:x-amz-copy-source and the like, from `request_keys`). Principals {"Service": ...} and
{"Federated": ...} are accepted as S3 accepts them and match no caller: no AWS service nor identity provider
calls this gateway, so such a statement is kept and has no effect. Anything else is refused with MalformedPolicy when the policy is stored, so evaluation never
meets a condition it cannot judge (a Deny it silently skipped would open the bucket).
"""
from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Mapping, Optional
from urllib.parse import unquote

from ec2soap.limits import LimitExceeded, load_json
from ec2soap.s3.errors import S3Error

__all__ = ["parse_policy", "evaluate", "request_keys", "MAX_POLICY_BYTES"]

MAX_POLICY_BYTES = 20 * 1024
MAX_POLICY_DEPTH = 16  # a real policy nests 5 levels (document, Statement, statement, Condition, operator)
_STRING_OPS = {"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
               "StringLike", "StringNotLike"}
_NUMERIC_OPS = {"NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
                "NumericGreaterThan", "NumericGreaterThanEquals"}
_DATE_OPS = {"DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
             "DateGreaterThanEquals"}
_ARN_OPS = {"ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"}
_OTHER_OPS = {"Bool", "IpAddress", "NotIpAddress", "Null"}
OPERATORS = _STRING_OPS | _NUMERIC_OPS | _DATE_OPS | _ARN_OPS | _OTHER_OPS
_NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "NumericNotEquals", "DateNotEquals",
            "NotIpAddress", "ArnNotEquals", "ArnNotLike"}


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _malformed(message: str) -> S3Error:
    return S3Error("MalformedPolicy", message)


def parse_policy(text: str | bytes, bucket: str) -> dict:
    """The policy as a dict, after checking what evaluate() relies on. → MalformedPolicy otherwise."""
    if isinstance(text, str):
        text = text.encode("utf-8", "surrogatepass")
    try:
        doc = load_json(text, max_bytes=MAX_POLICY_BYTES, max_depth=MAX_POLICY_DEPTH)
    except LimitExceeded as exc:
        if exc.what == "size":
            raise S3Error("InvalidArgument", "Policy exceeds the maximum allowed document size.") from None
        raise _malformed("Policies may not nest more than %d levels of arrays and objects" % exc.limit) from None
    except (ValueError, UnicodeDecodeError):
        raise _malformed("Policies must be valid JSON and the first byte must be '{'") from None
    if not isinstance(doc, dict) or "Statement" not in doc:
        raise _malformed("Missing required field Statement")
    statements = _as_list(doc["Statement"])
    if not statements:
        raise _malformed("Could not parse the policy: Statement is empty!")
    for st in statements:
        if not isinstance(st, dict):
            raise _malformed("Statement is not an object")
        if st.get("Effect") not in ("Allow", "Deny"):
            raise _malformed("Invalid effect: %s" % st.get("Effect"))
        if ("Principal" in st) == ("NotPrincipal" in st):
            raise _malformed("Statement is missing required field Principal")
        if "NotPrincipal" in st:
            raise _malformed("NotPrincipal is not supported")
        _check_principal(st["Principal"])
        if ("Action" in st) == ("NotAction" in st):
            raise _malformed("Missing required field Action")
        for action in _as_list(st.get("Action", st.get("NotAction"))):
            if not isinstance(action, str) or not (action == "*" or action.lower().startswith("s3:")):
                raise _malformed("Policy has invalid action")
        if ("Resource" in st) == ("NotResource" in st):
            raise _malformed("Missing required field Resource")
        for resource in _as_list(st.get("Resource", st.get("NotResource"))):
            if not isinstance(resource, str) or not _resource_in_bucket(resource, bucket):
                raise _malformed("Policy has invalid resource")
        for operator, block in (st.get("Condition") or {}).items():
            _, base = _qualifier(operator)
            base = base[:-len("IfExists")] if base.endswith("IfExists") else base
            if base not in OPERATORS or not isinstance(block, dict):
                raise _malformed("Invalid Condition type : %s" % operator)
            for values in block.values():
                for value in _as_list(values):
                    if not isinstance(value, (str, int, float, bool)):
                        raise _malformed("Invalid Condition value")
                    if base in ("IpAddress", "NotIpAddress"):
                        try:
                            ipaddress.ip_network(str(value), strict=False)
                        except ValueError:
                            raise _malformed("Invalid IP address: %s" % value) from None
    return doc


_PRINCIPAL_KINDS = ("AWS", "CanonicalUser", "Service", "Federated")
_CALLER_KINDS = ("AWS", "CanonicalUser")  # the kinds a caller of this gateway can be


def _check_principal(principal: Any) -> None:
    if principal == "*":
        return
    if not isinstance(principal, dict) or not principal:
        raise _malformed("Invalid principal in policy")
    for kind, ids in principal.items():
        if kind not in _PRINCIPAL_KINDS:
            raise _malformed("Invalid principal in policy")
        for ident in _as_list(ids):
            if not isinstance(ident, str) or not ident:
                raise _malformed("Invalid principal in policy")


def _resource_in_bucket(resource: str, bucket: str) -> bool:
    # S3 quirk: a bucket policy may only name its own bucket ("Policy has invalid resource" otherwise).
    prefix = "arn:aws:s3:::"
    if not resource.startswith(prefix):
        return False
    rest = resource[len(prefix):]
    name = rest.split("/", 1)[0]
    return _wildcard(name).fullmatch(bucket) is not None


@lru_cache(maxsize=1024)
def _wildcard(pattern: str, ignore_case: bool = False) -> re.Pattern:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _principal_matches(principal: Any, caller: Optional[str]) -> bool:
    if principal == "*":
        return True
    for kind, ids in principal.items():
        if kind not in _CALLER_KINDS:
            continue  # a Service or Federated principal: never a caller of ours, even as "*"
        for ident in _as_list(ids):
            if ident == "*":
                return True
            if caller is None:
                continue
            if kind == "CanonicalUser" and ident == caller:
                return True
            # arn:aws:iam::<account>:root / :user/<name>, or a bare account: the account is named by its
            # uuid (EC2's ownerId), its canonical id, or (policies written for the original) an access key.
            names = {caller, getattr(caller, "access_key", None), getattr(caller, "account_id", None)} - {None, ""}
            if kind == "AWS" and (ident in names or (ident.split(":")[4:5] and ident.split(":")[4] in names)):
                return True
    return False


def _parse_number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _parse_date(value: Any) -> float | None:
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if op in _STRING_OPS:
        a, e = str(actual), str(expected)
        if op in ("StringEquals", "StringNotEquals"):
            return a == e
        if op in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
            return a.lower() == e.lower()
        return _wildcard(e).fullmatch(a) is not None
    if op in _NUMERIC_OPS or op in _DATE_OPS:
        parse = _parse_number if op in _NUMERIC_OPS else _parse_date
        a, e = parse(actual), parse(expected)
        if a is None or e is None:
            return False
        kind = op.replace("Numeric", "").replace("Date", "")
        return {"Equals": a == e, "NotEquals": a == e, "LessThan": a < e, "LessThanEquals": a <= e,
                "GreaterThan": a > e, "GreaterThanEquals": a >= e}[kind]
    if op in _ARN_OPS:
        # IAM: the six colon-separated parts are matched one by one, each with * and ? (ArnEquals alike).
        a, e = str(actual).split(":", 5), str(expected).split(":", 5)
        return len(a) == len(e) == 6 and all(_wildcard(x).fullmatch(y) is not None for x, y in zip(e, a))
    if op == "Bool":
        return str(actual).lower() == str(expected).lower()
    if op in ("IpAddress", "NotIpAddress"):
        try:
            return ipaddress.ip_address(str(actual)) in ipaddress.ip_network(str(expected), strict=False)
        except ValueError:
            return False
    raise AssertionError(op)


_QUALIFIERS = ("ForAnyValue:", "ForAllValues:")


def _qualifier(operator: str) -> tuple[Optional[str], str]:
    """("ForAnyValue:" | "ForAllValues:" | None, the operator without it): IAM's set operators, for
    multivalued keys such as s3:RequestObjectTagKeys."""
    for prefix in _QUALIFIERS:
        if operator.startswith(prefix):
            return prefix, operator[len(prefix):]
    return None, operator


def _set_holds(qualifier: str, op: str, actual: Any, expected: Any) -> bool:
    # Each value of the key is tested alone: ForAllValues wants every one to pass (an absent or empty key
    # passes), ForAnyValue at least one (an absent or empty key fails).
    values = [] if actual is None else _as_list(actual)
    passes = [any(_compare(op, value, e) for e in _as_list(expected)) != (op in _NEGATED) for value in values]
    return all(passes) if qualifier == "ForAllValues:" else any(passes)


def _conditions_hold(conditions: Mapping[str, Mapping[str, Any]], context: Mapping[str, Any]) -> bool:
    lowered = {k.lower(): v for k, v in context.items()}
    for operator, block in conditions.items():
        qualifier, operator = _qualifier(operator)
        if_exists = operator.endswith("IfExists")
        op = operator[:-len("IfExists")] if if_exists else operator
        for key, expected in block.items():
            actual = lowered.get(key.lower())
            if qualifier is not None and op != "Null":
                if not _set_holds(qualifier, op, actual, expected):
                    return False
                continue
            if op == "Null":
                if (actual is None) != (str(_as_list(expected)[0]).lower() == "true"):
                    return False
                continue
            if actual is None:
                # IAM: an absent key satisfies ...IfExists and the negated operators, and fails the others.
                if if_exists or op in _NEGATED:
                    continue
                return False
            # A multivalued key without a set operator matches when any of its values does.
            matched = any(_compare(op, one, value) for one in _as_list(actual) for value in _as_list(expected))
            if matched == (op in _NEGATED):
                return False
    return True


def evaluate(policy: dict | None, caller: Optional[str], action: str, resource: str,
             context: Mapping[str, Any] | None = None) -> Optional[str]:
    """"Deny" if a statement denies ACTION on RESOURCE (an arn:aws:s3::: ARN) to CALLER (access key or None),
    else "Allow" if one allows it, else None (the ACLs decide). CONTEXT holds condition keys such as
    aws:SourceIp, aws:SecureTransport, s3:prefix, s3:max-keys."""
    if not policy:
        return None
    context = context or {}
    verdict = None
    for st in _as_list(policy.get("Statement", [])):
        if not _principal_matches(st["Principal"], caller):
            continue
        if "Action" in st:
            if not any(_wildcard(a, True).fullmatch(action) for a in _as_list(st["Action"])):
                continue
        elif any(_wildcard(a, True).fullmatch(action) for a in _as_list(st["NotAction"])):
            continue
        if "Resource" in st:
            if not any(_wildcard(r).fullmatch(resource) for r in _as_list(st["Resource"])):
                continue
        elif any(_wildcard(r).fullmatch(resource) for r in _as_list(st["NotResource"])):
            continue
        if not _conditions_hold(st.get("Condition") or {}, context):
            continue
        if st["Effect"] == "Deny":
            return "Deny"
        verdict = "Allow"
    return verdict


# -- the condition keys of a request's headers and query ---------------------------------------------------

# Request headers S3 offers to bucket policies as s3:<header name> (the Service Authorization Reference's
# condition keys for Amazon S3), present when the request carries the header. x-amz-server-side-encryption*
# never reaches a policy: s3.request_checks refuses those headers first, so those keys are always absent.
_HEADER_KEYS = ("x-amz-acl", "x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-read-acp",
                "x-amz-grant-write-acp", "x-amz-grant-full-control", "x-amz-metadata-directive",
                "x-amz-storage-class", "x-amz-website-redirect-location", "x-amz-content-sha256",
                "x-amz-object-ownership", "if-match", "if-none-match")
_LOCK_KEYS = {"x-amz-object-lock-mode": "s3:object-lock-mode",
              "x-amz-object-lock-retain-until-date": "s3:object-lock-retain-until-date",
              "x-amz-object-lock-legal-hold": "s3:object-lock-legal-hold"}


def request_keys(headers: Mapping[str, str], query: Mapping[str, str] | None = None) -> dict:
    """The condition keys the request with HEADERS (names lower case) and QUERY gives a bucket policy: s3:x-amz-acl,
    s3:x-amz-grant-*, s3:x-amz-copy-source ("bucket/key", decoded, without a leading slash or the versionId),
    s3:x-amz-metadata-directive, s3:x-amz-storage-class, s3:object-lock-*, s3:versionid, s3:authType and
    s3:signatureversion. A key whose header the request lacks is absent (the ...IfExists and Null operators judge
    that); a copy source S3 cannot read is left to the copy itself to refuse."""
    keys = {"s3:" + name: headers[name] for name in _HEADER_KEYS if name in headers}
    keys.update({key: headers[name] for name, key in _LOCK_KEYS.items() if name in headers})
    source = headers.get("x-amz-copy-source")
    if source:
        path = unquote(source.partition("?")[0]).lstrip("/")
        if "/" in path:
            keys["s3:x-amz-copy-source"] = path
    query = query or {}
    if query.get("versionId"):
        keys["s3:versionid"] = query["versionId"]
    authorization = (headers.get("authorization") or "").strip()
    if authorization.startswith("AWS4-HMAC-SHA256 "):
        keys["s3:authType"], keys["s3:signatureversion"] = "REST-HEADER", "AWS4-HMAC-SHA256"
    elif authorization.startswith("AWS "):
        keys["s3:authType"], keys["s3:signatureversion"] = "REST-HEADER", "AWS"
    elif "X-Amz-Algorithm" in query:
        keys["s3:authType"], keys["s3:signatureversion"] = "REST-QUERY-STRING", "AWS4-HMAC-SHA256"
    elif "AWSAccessKeyId" in query or "Signature" in query:
        keys["s3:authType"], keys["s3:signatureversion"] = "REST-QUERY-STRING", "AWS"
    return keys
