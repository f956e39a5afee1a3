"""Generated S3 requests, bad in their names, sub-resources, headers and bodies but signed correctly (botocore's
S3SigV4Auth and HmacV1Auth, their presigned forms, and some anonymous), on the caller's buckets and keys, another
account's, missing and invalid ones, path style and under /awsapi/rest/AmazonS3.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import json
import random
from typing import Any, Optional
from urllib.parse import quote

from tests.protocol.fuzzing import Case, Value, junk_date, junk_int, junk_string

__all__ = ["s3_case", "build_s3", "S3_PREFIX"]

S3_PREFIX = "/awsapi/rest/AmazonS3"
REGION = "us-east-1"
# The sub-resources a label names; anything else in a query is "other".
SUBRESOURCES = ["acl", "versioning", "cors", "policy", "uploads", "uploadId", "delete", "versions", "location",
                "list-type", "tagging", "lifecycle", "website", "torrent", "select", "partNumber", "versionId"]
_ACLS = ["private", "public-read", "public-read-write", "authenticated-read", "bucket-owner-full-control",
         "log-delivery-write", "", "PRIVATE", "public-read,private"]


_CONTROLS = {c: "?" for c in [*range(0, 9), *range(10, 32), 127]}


def _latin(value: Value, controls: bool) -> str:
    """A header value as http.client sends it (latin-1 code points are bytes); UTF-8 beyond that, and no CR/LF
    (which would be a second header, not a value). Other control characters only when CONTROLS: the HTTP
    server refuses them (a bare 400) before S3 sees the request, so most requests go without."""
    raw = value if isinstance(value, bytes) else value.encode("utf-8")
    text = raw.decode("latin-1").replace("\r", " ").replace("\n", " ")
    # requests refuses a value that starts with white space (its own check, not HTTP's).
    return (text if controls else text.translate(_CONTROLS)).lstrip()


def _pick_bucket(rng: random.Random, real: dict) -> Optional[Value]:
    roll = rng.random()
    if roll < 0.55:
        return rng.choice(real["buckets"])
    if roll < 0.65:
        return real["other_bucket"]
    if roll < 0.70:
        return rng.choice(["fz-new-1", "fz-new-2", "fz-new-3"])  # may be created, a bounded few
    if roll < 0.75:
        return "fz-missing-" + real["suffix"]
    if roll < 0.84:  # names S3 refuses
        return rng.choice(["A", "ab", "UPPER", "a" * 64, "a..b", "-a", "a-", "192.168.1.1", "a_b", "a b", "xn--a",
                           "a.-b", "é", "\x00", "bucket\x01", "%", "b+c", "b/c", "..", "."])
    if roll < 0.90:
        return junk_string(rng, allow_huge=False) or "x"
    return None


def _pick_key(rng: random.Random, real: dict, bucket: Value) -> Optional[Value]:
    roll = rng.random()
    if roll < 0.40:
        return None
    if roll < 0.70:
        return rng.choice(real["keys"].get(bucket, ["missing"]))
    if roll < 0.80:
        return rng.choice(["k" * 1025, "é" * 600, "a/b/../c", "/lead", "trail/", "a//b", "%2F", "+ +", "~", ".",
                           "..", "a\x00b", "\x01", "tab\there", "new\nline", "\ufffe", "日本/語.txt", "?x", "#frag",
                           "a;b", "*", "\\", " "])
    return junk_string(rng, allow_huge=rng.random() < 0.1) or "y"


def _query(rng: random.Random, real: dict) -> list[tuple[Value, Value]]:
    if rng.random() < 0.35:
        return []
    pairs: list[tuple[Value, Value]] = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        roll = rng.random()
        if roll < 0.45:
            name = rng.choice(["acl", "versioning", "cors", "policy", "uploads", "delete", "versions", "location",
                               "tagging", "lifecycle", "website", "torrent", "select", "restore", "logging"])
            pairs.append((name, "" if rng.random() < 0.9 else junk_string(rng, allow_huge=False)))
        elif roll < 0.55:
            pairs.append(("uploadId", real["upload_id"] if rng.random() < 0.5
                          else junk_string(rng, allow_huge=False)))
            if rng.random() < 0.6:
                pairs.append(("partNumber", junk_int(rng)))
        elif roll < 0.80:
            name = rng.choice(["list-type", "prefix", "delimiter", "max-keys", "marker", "encoding-type",
                               "continuation-token", "start-after", "fetch-owner", "key-marker", "version-id-marker",
                               "upload-id-marker", "max-uploads", "versionId", "response-content-type",
                               "response-content-disposition", "response-expires", "part-number-marker",
                               "max-parts", "x-id"])
            value = rng.choice(["2", "url", "true", junk_int(rng), junk_date(rng), junk_string(rng, allow_huge=False)])
            pairs.append((name, value))
        elif roll < 0.88:
            pairs.append(("x", rng.choice(["é", "日本", "\x00", "\u00ff"])))  # a non-ASCII escape in the query
        else:
            pairs.append((junk_string(rng, allow_huge=False) or "z", junk_string(rng, allow_huge=False)))
    return [p for p in pairs if p[0] not in ("Action",)]  # an Action parameter makes it an EC2 request


def _md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def _headers(rng: random.Random, real: dict, body: bytes, has_upload: bool) -> dict[str, Value]:
    own, key = real["buckets"][0], real["keys"][real["buckets"][0]][0]
    choices: dict[str, Any] = {
        "x-amz-acl": lambda: rng.choice(_ACLS + [junk_string(rng, allow_huge=False)]),
        "Range": lambda: rng.choice(["bytes=0-10", "bytes=-5", "bytes=5-", "bytes=abc", "bytes=10-5", "bytes=0-0,5-9",
                                     "bytes=99999999999999999999-", "items=0-1", "bytes=", "bytes=-0", "bytes=--1",
                                     junk_string(rng, allow_huge=False)]),
        "x-amz-copy-source": lambda: rng.choice([
            f"/{own}/{key}", f"{own}/{key}", f"/{own}/{quote(key)}?versionId=null", "/", "", "/fz-nobucket/x",
            f"/{real['other_bucket']}/{real['other_key']}", f"/{own}/" + quote(junk_string(rng, allow_huge=False)),
            f"/{own}/{key}?versionId=" + quote(junk_string(rng, allow_huge=False)), "%", f"/{own}/%zz",
            junk_string(rng, allow_huge=False)]),
        "x-amz-copy-source-range": lambda: rng.choice(["bytes=0-1", "bytes=5-1", "bytes=x", ""]),
        "Content-MD5": lambda: rng.choice([_md5(body), _md5(body + b"x"), "!!notbase64", "AAAA", "", _md5(b"")]),
        "Content-Type": lambda: rng.choice(["application/xml", "application/json", "text/plain; charset=utf-8",
                                            "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                            junk_string(rng, allow_huge=False)]),
        "If-Match": lambda: rng.choice(['"' + "0" * 32 + '"', "*", junk_string(rng, allow_huge=False)]),
        "If-None-Match": lambda: rng.choice(["*", '"abc"', junk_string(rng, allow_huge=False)]),
        "If-Modified-Since": lambda: junk_date(rng),
        "If-Unmodified-Since": lambda: junk_date(rng),
        "x-amz-grant-read": lambda: rng.choice([f'id="{real["owner_id"]}"', 'emailAddress="nobody@example.com"',
                                                'uri="http://acs.amazonaws.com/groups/global/AllUsers"', 'id=""',
                                                'id="x", uri="y"', junk_string(rng, allow_huge=False)]),
        "x-amz-grant-full-control": lambda: rng.choice(['id="' + "0" * 64 + '"', junk_string(rng, allow_huge=False)]),
        "x-amz-metadata-directive": lambda: rng.choice(["COPY", "REPLACE", "", "copy", "MOVE"]),
        "x-amz-storage-class": lambda: rng.choice(["STANDARD", "GLACIER", "REDUCED_REDUNDANCY", "x"]),
        "x-amz-server-side-encryption": lambda: rng.choice(["AES256", "aws:kms", "x"]),
        "x-amz-checksum-crc32": lambda: rng.choice(["AAAAAA==", "!!", ""]),
        "x-amz-checksum-sha256": lambda: rng.choice([base64.b64encode(hashlib.sha256(body).digest()).decode(), "x"]),
        "x-amz-checksum-algorithm": lambda: rng.choice(["CRC32", "SHA256", "MD5", "x"]),
        "x-amz-tagging": lambda: rng.choice(["a=b", "a=b&c", "=", junk_string(rng, allow_huge=False)]),
        "Cache-Control": lambda: junk_string(rng, allow_huge=False),
        "Content-Disposition": lambda: junk_string(rng, allow_huge=False),
        "Content-Encoding": lambda: rng.choice(["gzip", "aws-chunked", "identity", "x"]),
        "Content-Language": lambda: junk_string(rng, allow_huge=False),
        "Expires": lambda: junk_date(rng),
        "Origin": lambda: rng.choice(["http://example.com", "null", junk_string(rng, allow_huge=False)]),
        "Access-Control-Request-Method": lambda: rng.choice(["GET", "PUT", "x", ""]),
    }
    headers: dict[str, Value] = {}
    for _ in range(rng.choice([0, 1, 2, 3, 4, 6])):
        roll = rng.random()
        if roll < 0.25:
            name = "x-amz-meta-" + rng.choice(["a", "Colour", "x" * 200, "cafe-x", "1", "_", "a.b", "UPPER"])
            headers[name] = rng.choice([junk_string(rng, allow_huge=False), "ok", "\x00", "\x01\x7f", "é" * 300])
        elif roll < 0.30:
            for n in range(rng.choice([20, 60])):
                headers[f"x-amz-meta-m{n}"] = "v" * rng.choice([10, 100])
        elif roll < 0.303:
            headers["x-amz-meta-big"] = "A" * rng.choice([9000, 70000])  # beyond the server's header limit
        else:
            name = rng.choice(list(choices))
            if name == "x-amz-copy-source-range" and not has_upload:
                continue
            headers[name] = choices[name]()
    return headers


def _xml_body(rng: random.Random, sub: str, real: dict) -> bytes:
    owner = real["owner_id"]
    docs = {
        "acl": f'<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>{owner}</ID>'
               f'</Owner><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
               f'xsi:type="CanonicalUser"><ID>{owner}</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>'
               f'</AccessControlList></AccessControlPolicy>',
        "versioning": '<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>',
        "cors": '<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>'
                '<MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule></CORSConfiguration>',
        "delete": '<Delete><Quiet>true</Quiet><Object><Key>k1</Key></Object><Object><Key>a&#1;b</Key>'
                  '<VersionId>null</VersionId></Object></Delete>',
        "uploadId": '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"0"</ETag></Part>'
                    '</CompleteMultipartUpload>',
        "": '<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint>'
            '</CreateBucketConfiguration>',
    }
    doc = docs.get(sub, docs[""])
    roll = rng.random()
    if roll < 0.25:
        return doc.encode()
    if roll < 0.35:
        return doc.replace("Enabled", rng.choice(["Suspended", "enabled", "", "\x00"])).replace(
            "FULL_CONTROL", rng.choice(["READ", "WRITE_ACP", "X"])).encode("utf-8")
    if roll < 0.45:
        return doc.encode()[: rng.randint(0, len(doc))]  # truncated
    if roll < 0.52:
        depth = rng.choice([100, 5000, 50000])
        return (b"<a>" * depth) + (b"</a>" * depth)
    if roll < 0.58:
        return (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;'
                b'&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'
                b'&lol2;&lol2;">]><Delete><Object><Key>&lol3;</Key></Object></Delete>')
    if roll < 0.63:
        return (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                b'<VersioningConfiguration><Status>&x;</Status></VersioningConfiguration>')
    if roll < 0.68:
        text = junk_string(rng, allow_huge=False)
        text = text.decode("latin-1") if isinstance(text, bytes) else text
        return doc.replace("k1", text).replace("us-east-1", text).replace("*", text).encode("utf-8", "replace")
    if roll < 0.72:
        return b"\xef\xbb\xbf" + doc.encode() if rng.random() < 0.5 else \
            ('<?xml version="1.0" encoding="UTF-16"?>' + doc).encode()
    if roll < 0.76:
        many = "".join(f"<Object><Key>k{n}</Key></Object>" for n in range(rng.choice([1001, 3000])))
        return f"<Delete>{many}</Delete>".encode()
    if roll < 0.80:
        parts = "".join(f"<Part><PartNumber>{junk_int(rng)}</PartNumber><ETag>x</ETag></Part>" for _ in range(5))
        return f"<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>".encode("utf-8")
    if roll < 0.85:
        return rng.choice([b"<", b"<Delete", b"</Delete>", b"<a><b></a></b>", b"<?xml?>", b"&", b"<x>&nope;</x>",
                           b"<x:y xmlns:x=''/>", b"<Delete>\x00</Delete>", b"<![CDATA[", b"<!-- -->"])
    return rng.randbytes(rng.choice([1, 10, 1000]))


def _policy_body(rng: random.Random, real: dict) -> bytes:
    bucket = real["buckets"][0]
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                      "Resource": f"arn:aws:s3:::{bucket}/*"}]}
    roll = rng.random()
    if roll < 0.2:
        return json.dumps(policy).encode()
    if roll < 0.35:
        depth = rng.choice([100, 1000, 10000, 100000])
        return (b"[" * depth + b"]" * depth) if rng.random() < 0.5 else \
            (b'{"a":' * depth + b"1" + b"}" * depth)
    if roll < 0.45:
        statement = policy["Statement"][0]
        field = rng.choice(list(statement))
        statement[field] = rng.choice([None, 1e308, -1, [], {}, "", "x" * 5000, ["s3:*"] * 3, {"AWS": "*"},
                                       junk_string(rng, allow_huge=False) if rng.random() < 0.5 else True])
        try:
            return json.dumps(policy).encode()
        except TypeError:
            return json.dumps(policy, default=repr).encode()
    if roll < 0.55:
        return rng.choice([b"{", b"{}", b"[]", b"null", b"1", b'"x"', b'{"Statement": 1e99999}',
                           b'{"Version": "2012-10-17", "Version": "x"}', b"\xff\xfe{}", b'{"a": NaN}',
                           b'{"a": "\\ud800"}', b'{"a": "\x00"}', b" " * 100 + b"{}"])
    if roll < 0.60:
        return json.dumps({"Statement": [policy["Statement"][0]] * 5000}).encode()
    return _xml_body(rng, "policy", real)


def _body(rng: random.Random, method: str, sub: str, key: Optional[Value], real: dict) -> Optional[bytes]:
    if method in ("GET", "HEAD", "DELETE", "OPTIONS"):
        return rng.randbytes(rng.randint(1, 200)) if rng.random() < 0.05 else None
    if sub == "policy":
        return _policy_body(rng, real)
    if key is not None and sub not in ("acl", "uploads", "uploadId") and method == "PUT":
        roll = rng.random()
        if roll < 0.05:
            return rng.randbytes(1024 * 1024)
        return rng.randbytes(rng.choice([0, 1, 100, 5000, 70000])) if roll < 0.8 else _xml_body(rng, "", real)
    if method == "PUT" and key is None and sub == "" and rng.random() < 0.4:
        return b""
    return _xml_body(rng, sub, real)


def _sign(scheme: str, method: str, url: str, headers: dict[str, str], body: Optional[bytes],
          keys: Any, auth_path: Optional[str] = None) -> tuple[str, dict[str, str]]:
    from botocore.auth import HmacV1Auth, HmacV1QueryAuth, S3SigV4Auth, S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    if scheme == "anonymous":
        return url, headers
    credentials = Credentials(keys.access_key, keys.secret_key)
    # A presigned URL covers no body (botocore's presigner signs UNSIGNED-PAYLOAD); the body is sent anyway.
    request = AWSRequest(method=method, url=url, data=b"" if "presigned" in scheme else body or b"",
                         headers=headers)
    request.auth_path = auth_path  # SigV2 signs /bucket/key even when the bucket is in the Host
    signer = {"sigv4": lambda: S3SigV4Auth(credentials, "s3", REGION),
              "sigv4-presigned": lambda: S3SigV4QueryAuth(credentials, "s3", REGION, expires=300),
              "sigv2": lambda: HmacV1Auth(credentials),
              "sigv2-presigned": lambda: HmacV1QueryAuth(credentials, expires=300)}[scheme]()
    signer.add_auth(request)
    return request.url, {k: v for k, v in request.headers.items()}


def s3_case(index: int, seed: int, base_url: str, keys: Any, real: dict) -> Case:
    """Case number INDEX of SEED: the same case every time, whatever ran before it."""
    rng = random.Random(f"{seed}:s3:{index}")
    method = rng.choices(["GET", "PUT", "HEAD", "DELETE", "POST", "OPTIONS", "PATCH"],
                         [30, 30, 10, 12, 14, 2, 2])[0]
    bucket = _pick_bucket(rng, real)
    key = _pick_key(rng, real, bucket) if bucket is not None else None
    query = _query(rng, real)
    names = [n for n, _ in query]
    sub = next((s for s in SUBRESOURCES if s in names), "other" if query else "")
    body = _body(rng, method, sub, key, real)
    controls = rng.random() < 0.1
    headers = {name: _latin(value, controls) for name, value in
               _headers(rng, real, body or b"", "uploadId" in names).items()}
    if headers.get("Content-Type") == "application/x-www-form-urlencoded" and method == "POST":
        headers["Content-Type"] = "application/xml"  # a form POST outside the S3 prefix is an EC2 request
    prefix = S3_PREFIX if rng.random() < 0.15 else ""
    safe = "/-_.~" if rng.random() < 0.85 else "-_.~"
    virtual = (prefix == "" and isinstance(bucket, str) and rng.random() < 0.12
               and all(c.isalnum() and c.isascii() or c in "-." for c in bucket) and 3 <= len(bucket) <= 63)
    query3 = [(k, v, v != "" or rng.random() < 0.5) for k, v in query]  # "?acl" or "?acl="
    roll = rng.random()
    scheme = ("sigv4" if roll < 0.55 else "sigv2" if roll < 0.80 else "sigv4-presigned" if roll < 0.87
              else "sigv2-presigned" if roll < 0.92 else "anonymous")
    chunked = method == "PUT" and bool(body) and rng.random() < 0.08
    spec = {"method": method, "bucket": bucket, "key": key, "query": query3, "headers": list(headers.items()),
            "body": body, "prefix": prefix, "safe": safe, "virtual": virtual, "scheme": scheme, "chunked": chunked,
            "simpler": [("body", None), ("chunked", False), ("virtual", False), ("prefix", ""), ("key", None)]}
    return build_s3(spec, base_url=base_url, keys=keys, index=index)


def build_s3(spec: dict, *, base_url: str, keys: Any, index: int) -> Case:
    """The signed request SPEC describes (the shrinker rebuilds smaller specs with it)."""
    method, bucket, key, body, scheme = spec["method"], spec["bucket"], spec["key"], spec["body"], spec["scheme"]
    headers = dict(spec["headers"])
    path = spec["prefix"]
    if bucket is not None:
        path += "/" + quote(bucket, safe="-_.~")
        if key is not None:
            path += "/" + quote(key, safe=spec["safe"])
    path = path or "/"
    auth_path = None
    if spec["virtual"]:  # virtual-host style: the bucket in Host (bucket.localhost:port), the key alone in the path
        assert isinstance(bucket, str)
        path = path[len("/" + quote(bucket, safe="-_.~")):] or "/"
        auth_path = "/" + quote(bucket, safe="-_.~") + path  # SigV2's resource: "/bucket/" for the bucket
        headers["Host"] = f"{bucket.lower()}.localhost:{base_url.rsplit(':', 1)[1]}"
    encoded = "&".join(quote(k, safe="-_.~") + ("=" + quote(v, safe="-_.~") if equals else "")
                       for k, v, equals in spec["query"])
    url = f"{base_url}{path}" + (f"?{encoded}" if encoded else "")
    url, signed_headers = _sign(scheme, method, url, headers, body, keys, auth_path)
    names = [n for n, _, _ in spec["query"]]
    sub = next((s for s in SUBRESOURCES if s in names), "other" if names else "")
    target = "object" if key is not None else "bucket" if bucket is not None else "service"
    label = f"{method} {target}" + (f" ?{sub}" if sub else "")
    document = not (method == "GET" and key is not None and not {"acl", "uploadId"} & set(names))
    return Case("s3", label, scheme + (" virtual-host" if spec["virtual"] else ""), method, url, signed_headers,
                body, document, [], index, spec["chunked"], spec=spec,
                rebuild=functools.partial(build_s3, base_url=base_url, keys=keys, index=index))
