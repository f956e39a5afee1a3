"""S3 browser-based uploads (POST Object) against the real server: boto3's generate_presigned_post (SigV4 policy
signature) posted with requests, boto 2's build_post_form_args (SigV2), anonymous forms to public-write buckets,
every policy condition kind and S3's error for each failure, a kill -9 in the middle of a POST, and forged,
expired or condition-failing POSTs of a 64 MiB file refused when the file part begins, before any of it is kept
(boto3's fields and a SigV2 policy built by hand, sent as a browser sends a form, with its Content-Length)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from lxml import etree

from tests.protocol.conftest import GatewayServer, Keys
from tests.protocol.s3.conftest import boto2_post_connection, boto3_client
from tests.protocol.s3.test_durability import MiB, Served, wait_for_temp_file


class User:
    def __init__(self, server: GatewayServer, keys: Keys, bucket: str):
        self.server, self.keys, self.bucket = server, keys, bucket
        self.s3 = boto3_client(server, keys)
        self.s3.create_bucket(Bucket=bucket)

    def presigned(self, key: str, fields: dict | None = None, conditions: list | None = None,
                  expires: int = 600) -> dict:
        return self.s3.generate_presigned_post(self.bucket, key, Fields=fields, Conditions=conditions,
                                               ExpiresIn=expires)

    def post(self, form: dict, data: bytes = b"hello", filename: str = "hello.txt", **kwargs: Any) -> Any:
        return requests.post(form["url"], data=form["fields"], files={"file": (filename, data)},
                             allow_redirects=False, **kwargs)

    def keys_in(self) -> list[str]:
        return [o["Key"] for o in self.s3.list_objects_v2(Bucket=self.bucket).get("Contents", [])]


@pytest.fixture
def user(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> User:
    keys = new_user()
    return User(gateway_server, keys, "post-" + uuid.uuid4().hex[:12])


def error_of(response: Any) -> tuple[str, str]:
    root = etree.fromstring(response.content)
    return root.findtext("Code"), root.findtext("Message")


def test_sigv4_presigned_post_stores_the_object_with_its_fields(user: User) -> None:
    form = user.presigned("docs/a.txt", fields={"Content-Type": "text/plain", "x-amz-meta-colour": "blue",
                                                "Cache-Control": "max-age=60"},
                          conditions=[{"Content-Type": "text/plain"}, ["starts-with", "$x-amz-meta-colour", ""],
                                      ["eq", "$Cache-Control", "max-age=60"], ["content-length-range", 1, 100]])
    response = user.post(form, b"hello post")
    assert response.status_code == 204, response.text
    assert response.headers["ETag"] == '"%s"' % hashlib.md5(b"hello post").hexdigest()
    got = user.s3.get_object(Bucket=user.bucket, Key="docs/a.txt")
    assert got["Body"].read() == b"hello post"
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"colour": "blue"}
    assert got["CacheControl"] == "max-age=60"


def test_success_action_status_201_and_200(user: User) -> None:
    form = user.presigned("created", fields={"success_action_status": "201"},
                          conditions=[{"success_action_status": "201"}])
    response = user.post(form)
    assert response.status_code == 201
    root = etree.fromstring(response.content)
    assert root.tag == "PostResponse"
    assert (root.findtext("Bucket"), root.findtext("Key")) == (user.bucket, "created")
    assert root.findtext("ETag") == user.s3.head_object(Bucket=user.bucket, Key="created")["ETag"]
    assert root.findtext("Location").endswith(f"/{user.bucket}/created")
    form = user.presigned("ok", fields={"success_action_status": "200"}, conditions=[{"success_action_status": "200"}])
    response = user.post(form)
    assert (response.status_code, response.content) == (200, b"")
    form = user.presigned("other", fields={"success_action_status": "404"},
                          conditions=[{"success_action_status": "404"}])
    assert user.post(form).status_code == 204  # any other value is S3's default


def test_success_action_redirect_and_filename(user: User) -> None:
    target = "https://example.com/done?from=test"
    form = user.presigned("up/${filename}", fields={"success_action_redirect": target},
                          conditions=[{"success_action_redirect": target}])
    response = user.post(form, b"redirected", filename="report.pdf")
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "example.com", "/done")
    query = parse_qs(location.query)
    etag = user.s3.head_object(Bucket=user.bucket, Key="up/report.pdf")["ETag"]
    assert query == {"from": ["test"], "bucket": [user.bucket], "key": ["up/report.pdf"], "etag": [etag]}


def test_content_length_range_refusals_store_nothing(user: User) -> None:
    form = user.presigned("sized", conditions=[["content-length-range", 10, 20]])
    too_big = user.post(form, b"x" * 21)
    assert (too_big.status_code, error_of(too_big)[0]) == (400, "EntityTooLarge")
    too_small = user.post(form, b"x" * 9)
    assert (too_small.status_code, error_of(too_small)[0]) == (400, "EntityTooSmall")
    assert user.keys_in() == []
    assert user.post(form, b"x" * 15).status_code == 204
    assert user.keys_in() == ["sized"]


@pytest.mark.parametrize("change, status, code, message", [
    (lambda f: f.update({"x-amz-meta-extra": "1"}), 403, "AccessDenied", "Extra input fields: x-amz-meta-extra"),
    (lambda f: f.update({"key": "elsewhere"}), 403, "AccessDenied", "Policy Condition failed"),
    (lambda f: f.update({"x-amz-signature": "0" * 64}), 403, "SignatureDoesNotMatch", None),
    (lambda f: f.pop("key"), 400, "InvalidArgument", "field named 'key'"),
    (lambda f: f.pop("x-amz-signature"), 400, "InvalidArgument", "x-amz-signature"),
    (lambda f: f.update({"policy": base64.b64encode(b"{not json").decode(), "resign": "yes"}), 400,
     "InvalidPolicyDocument", "Invalid JSON"),
    (lambda f: f.update({"x-ignore-me": "anything", "x-amz-server-side-encryption": "AES256"}), 403,
     "AccessDenied", "Extra input fields: x-amz-server-side-encryption"),
])
def test_form_refusals(user: User, change: Callable[[dict], Any], status: int, code: str,
                       message: str | None) -> None:
    form = user.presigned("target")
    change(form["fields"])
    if form["fields"].pop("resign", None):
        _resign(user, form["fields"])
    response = user.post(form)
    assert response.status_code == status
    got_code, got_message = error_of(response)
    assert got_code == code
    if message:
        assert message in got_message
    assert user.keys_in() == []


def _resign(user: User, fields: dict) -> None:
    """Sign FIELDS' policy again as SigV4 specifies (for a policy no client would write)."""
    def mac(key: bytes, text: str) -> bytes:
        return hmac.new(key, text.encode(), hashlib.sha256).digest()
    _, date, region, service, _ = fields["x-amz-credential"].split("/")
    key = mac(mac(mac(mac(("AWS4" + user.keys.secret_key).encode(), date), region), service), "aws4_request")
    fields["x-amz-signature"] = hmac.new(key, fields["policy"].encode(), hashlib.sha256).hexdigest()


def _signed_v4(user: User, policy: dict, fields: dict) -> dict:
    """A SigV4 form for POLICY, signed as botocore signs one (to send policies boto3 would not write)."""
    from botocore.auth import S3SigV4PostAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="POST", url=f"{user.server.url}/{user.bucket}")
    request.context["s3-presign-post-fields"] = dict(fields)
    request.context["s3-presign-post-policy"] = policy
    S3SigV4PostAuth(Credentials(user.keys.access_key, user.keys.secret_key), "s3", "us-east-1").add_auth(request)
    return {"url": request.url, "fields": request.context["s3-presign-post-fields"]}


def test_expired_policy_and_missing_parts(user: User) -> None:
    past = (datetime.now(timezone.utc) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    form = _signed_v4(user, {"expiration": past, "conditions": [{"bucket": user.bucket}, {"key": "k"}]},
                      {"key": "k"})
    response = user.post(form)
    assert (response.status_code, *error_of(response)) == (403, "AccessDenied",
                                                          "Invalid according to Policy: Policy expired.")
    future = (datetime.now(timezone.utc) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    form = _signed_v4(user, {"conditions": [{"key": "k"}]}, {"key": "k"})
    assert error_of(user.post(form)) == ("InvalidPolicyDocument", "Invalid Policy: Policy missing expiration.")
    form = user.presigned("k")  # botocore would add the conditions list: a policy written by hand
    form["fields"]["policy"] = base64.b64encode(json.dumps({"expiration": future}).encode()).decode()
    _resign(user, form["fields"])
    assert error_of(user.post(form)) == ("InvalidPolicyDocument", "Invalid Policy: Policy missing conditions.")
    form = _signed_v4(user, {"expiration": future, "conditions": [{}]}, {"key": "k"})
    assert error_of(user.post(form))[0] == "InvalidPolicyDocument"
    # Case-insensitive field names and operators, as S3 reads them; conditions exact on values.
    form = _signed_v4(user, {"expiration": future, "conditions": [{"bucket": user.bucket}, ["StArTs-WiTh", "$KeY",
                                                                                           "ca"]]},
                      {"kEy": "case"})
    assert user.post(form).status_code == 204
    assert user.keys_in() == ["case"]


def test_unknown_access_key_and_wrong_bucket(user: User, gateway_server: GatewayServer,
                                             new_user: Callable[[], Keys]) -> None:
    stranger = boto3_client(gateway_server, Keys("AKNOBODY", "secret", "none"))
    form = stranger.generate_presigned_post(user.bucket, "k")
    response = user.post(form)
    assert (response.status_code, error_of(response)[0]) == (403, "InvalidAccessKeyId")
    other = User(gateway_server, new_user(), user.bucket + "-b")
    form = other.presigned("k")  # signed for the other bucket, posted to ours
    form["url"] = form["url"].rsplit("/", 1)[0] + "/" + user.bucket
    response = user.post(form)
    assert (response.status_code, error_of(response)[0]) == (403, "AccessDenied")
    # Allowed by its policy but not by the bucket: the other user may not write to ours.
    form = other.s3.generate_presigned_post(user.bucket, "k")
    response = user.post(form)
    assert (response.status_code, error_of(response)[0]) == (403, "AccessDenied")
    assert user.keys_in() == []


def test_anonymous_post_to_a_public_write_bucket(user: User) -> None:
    url = f"{user.server.url}/{user.bucket}"
    denied = requests.post(url, data={"key": "anon"}, files={"file": ("a", b"anonymous")})
    assert (denied.status_code, error_of(denied)[0]) == (403, "AccessDenied")
    # Refused when the file part begins (before its bytes are kept), and the rest of the body is drained.
    large = requests.post(url, data={"key": "anon"}, files={"file": ("a", b"z" * (8 * MiB))})
    assert (large.status_code, error_of(large)[0]) == (403, "AccessDenied")
    user.s3.put_bucket_acl(Bucket=user.bucket, ACL="public-read-write")
    allowed = requests.post(url, data={"key": "anon", "acl": "public-read", "Content-Type": "text/x-anon"},
                            files={"file": ("a", b"anonymous")})
    assert allowed.status_code == 204, allowed.text
    public = requests.get(f"{url}/anon")
    assert (public.content, public.headers["Content-Type"]) == (b"anonymous", "text/x-anon")


def test_malformed_bodies(user: User) -> None:
    url = f"{user.server.url}/{user.bucket}"
    user.s3.put_bucket_acl(Bucket=user.bucket, ACL="public-read-write")  # anonymous forms get past the ACL
    not_a_form = requests.post(url, data="key=x", headers={"Content-Type": "text/plain"})
    assert (not_a_form.status_code, error_of(not_a_form)[0]) == (412, "PreconditionFailed")
    cut = requests.post(url, data=b"--b\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n--b\r\n"
                        b"Content-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\nunfinished",
                        headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert (cut.status_code, error_of(cut)[0]) == (400, "MalformedPOSTRequest")
    no_file = requests.post(url, files={"key": (None, "k")})
    assert (no_file.status_code, error_of(no_file)[0]) == (400, "InvalidArgument")
    missing = requests.post(f"{user.server.url}/no-such-bucket-here", files={"key": (None, "k"), "file": ("f", b"x")})
    assert (missing.status_code, error_of(missing)[0]) == (404, "NoSuchBucket")
    assert user.keys_in() == []


def test_tagging_field(user: User) -> None:
    tagging = "<Tagging><TagSet><Tag><Key>a</Key><Value>b c</Value></Tag></TagSet></Tagging>"
    form = user.presigned("tagged", fields={"tagging": tagging}, conditions=[{"tagging": tagging}])
    response = user.post(form)
    assert response.status_code == 204, response.text
    tags = user.s3.get_object_tagging(Bucket=user.bucket, Key="tagged")["TagSet"]
    assert tags == [{"Key": "a", "Value": "b c"}]
    bad = "<Tagging><TagSet><Tag><Key>aws:x</Key><Value>b</Value></Tag></TagSet></Tagging>"
    form = user.presigned("badtags", fields={"tagging": bad}, conditions=[{"tagging": bad}])
    response = user.post(form)
    assert response.status_code == 400
    assert user.keys_in() == ["tagged"]


def test_server_side_encryption_field_is_refused(user: User) -> None:
    form = user.presigned("sse", fields={"x-amz-server-side-encryption": "AES256"},
                          conditions=[{"x-amz-server-side-encryption": "AES256"}])
    response = user.post(form)
    assert (response.status_code, error_of(response)[0]) == (501, "NotImplemented")
    assert user.keys_in() == []


def test_boto2_sigv2_form(user: User) -> None:
    conn = boto2_post_connection(user.server, user.keys)
    args = conn.build_post_form_args(user.bucket, "v2/${filename}", expires_in=600, acl="private",
                                     max_content_length=1024, fields=[{"name": "x-amz-meta-via", "value": "boto2"}],
                                     conditions=['{"x-amz-meta-via": "boto2"}'])
    fields = {f["name"]: f["value"] for f in args["fields"]}
    assert "AWSAccessKeyId" in fields and "signature" in fields
    response = requests.post(args["action"] + user.bucket, data=fields, files={"file": ("two.bin", b"boto two")},
                             allow_redirects=False)
    assert response.status_code == 204, response.text
    key = conn.get_bucket(user.bucket).get_key("v2/two.bin")
    assert key.get_contents_as_string() == b"boto two"
    assert key.metadata == {"via": "boto2"}
    fields["signature"] = base64.b64encode(b"x" * 20).decode()
    response = requests.post(args["action"] + user.bucket, data=fields, files={"file": ("two.bin", b"bad")})
    assert (response.status_code, error_of(response)[0]) == (403, "SignatureDoesNotMatch")


def test_large_post_streams(user: User) -> None:
    size = 12 * MiB
    form = user.presigned("large")
    response = requests.post(form["url"], data=form["fields"], files={"file": ("big", b"L" * size)})
    assert response.status_code == 204
    assert user.s3.head_object(Bucket=user.bucket, Key="large")["ContentLength"] == size


def test_kill_9_mid_post_leaves_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = Served(data)
    try:
        s3 = first.client()
        s3.create_bucket(Bucket="crash")
        form = s3.generate_presigned_post("crash", "victim")
        boundary = "killboundary"
        head = b"".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode()
                        for k, v in form["fields"].items())
        head += f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\n".encode()
        size = 32 * MiB
        sock = socket.create_connection(("127.0.0.1", first.port))
        sock.sendall(f"POST /crash HTTP/1.1\r\nHost: 127.0.0.1:{first.port}\r\nContent-Type: multipart/form-data; "
                     f"boundary={boundary}\r\nContent-Length: {len(head) + size + 100}\r\n\r\n".encode() + head)
        for _ in range(size // MiB // 2):
            sock.sendall(b"p" * MiB)
        tmp_dir = data / "objects" / "tmp"
        wait_for_temp_file(tmp_dir, 8 * MiB, "the POST's file")
        first.kill()
        sock.close()
    finally:
        first.stop()
    second = Served(data)
    try:
        s3 = second.client()
        assert s3.list_objects_v2(Bucket="crash").get("Contents", []) == []
        assert list(tmp_dir.iterdir()) == []
        assert [p for p in (data / "objects" / "blobs").rglob("*") if p.is_file()] == []
    finally:
        second.stop()


def test_virtual_host_post(user: User) -> None:
    vhost = boto3_client(user.server, user.keys, virtual=True)
    form = vhost.generate_presigned_post(user.bucket, "virtual", Fields={"success_action_status": "201"},
                                         Conditions=[{"success_action_status": "201"}])
    assert urlsplit(form["url"]).hostname == f"{user.bucket}.localhost"
    response = requests.post(form["url"], data=form["fields"], files={"file": ("v", b"virtual host")})
    assert response.status_code == 201, response.text
    location = etree.fromstring(response.content).findtext("Location")
    assert urlsplit(location).hostname == f"{user.bucket}.localhost" and location.endswith("/virtual")
    assert user.s3.get_object(Bucket=user.bucket, Key="virtual")["Body"].read() == b"virtual host"


def test_a_urlencoded_post_to_a_bucket_path_is_still_ec2_query(user: User) -> None:
    # GatewayRoot gives a urlencoded form to EC2 Query wherever it is posted: its body must reach that door.
    response = requests.post(f"{user.server.url}/{user.bucket}", data={"Action": "DescribeRegions",
                                                                      "Version": "2010-11-15"})
    root = etree.fromstring(response.content)
    assert (root.tag, root.findtext("Errors/Error/Code")) == ("Response", "MissingParameter")
    assert "AWSAccessKeyId" in root.findtext("Errors/Error/Message")


# -- the form is judged when its file part begins ------------------------------------------------------------
# S3 checks a signed form's signature, its policy's expiration and the conditions on the fields before the file
# as soon as the file part begins: a forged or expired POST of a large file is refused without keeping a byte of
# it. What shows it here: the gateway's temp blob directory, looked at while the body is still being sent (a good
# POST of the same size has its temp file there by then, which the refused ones must never have).

LARGE = 64 * MiB


class StreamedForm:
    """A multipart/form-data body of FIELDS and a file of SIZE bytes, made while it is sent (1 MiB at a time, so
    the client never holds it), with its Content-Length as a browser sends it. Before each MiB past the first 8
    it looks into TMP_DIR and records the temp files (name → largest size) seen there mid-upload."""

    def __init__(self, fields: dict, size: int, tmp_dir: Path, boundary: str = "formboundary7MA4YWxk"):
        self.boundary, self.size, self.tmp_dir = boundary, size, tmp_dir
        self.head = b"".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                             .encode() for name, value in fields.items())
        self.head += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n"
                      f"Content-Type: application/octet-stream\r\n\r\n").encode()
        self.tail = f"\r\n--{boundary}--\r\n".encode()
        self.seen: dict[str, int] = {}
        self.sent = 0

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self.head) + self.size + len(self.tail)

    def __iter__(self) -> Any:
        yield self.head
        chunk = b"B" * MiB
        for _ in range(self.size // MiB):
            if self.sent >= 8 * MiB:
                self._look()
            self.sent += MiB
            yield chunk
        self._look()
        yield self.tail

    def _look(self) -> None:
        for path in self.tmp_dir.iterdir():
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                continue  # committed or dropped meanwhile
            self.seen[path.name] = max(size, self.seen.get(path.name, 0))

    def post(self, url: str) -> Any:
        return requests.post(url, data=self, headers={"Content-Type": self.content_type}, allow_redirects=False,
                             timeout=120)


def _tmp_dir(user: User) -> Path:
    return Path(user.server.running.settings.data_dir) / "objects" / "tmp"


def _post_large(user: User, form: dict, size: int = LARGE) -> tuple[Any, StreamedForm]:
    tmp_dir = _tmp_dir(user)
    assert list(tmp_dir.iterdir()) == []
    body = StreamedForm(form["fields"], size, tmp_dir)
    response = body.post(form["url"])
    assert body.sent == size  # the whole body went (the refusal is answered once it is in)
    return response, body


def _signed_v2(user: User, policy: dict, fields: dict) -> dict:
    """A SigV2 form built by hand as S3's documentation describes it: the base64 JSON policy, its HMAC-SHA1
    under the secret key in `signature`, and AWSAccessKeyId."""
    encoded = base64.b64encode(json.dumps(policy).encode()).decode()
    signature = base64.b64encode(hmac.new(user.keys.secret_key.encode(), encoded.encode(), hashlib.sha1).digest())
    return {"url": f"{user.server.url}/{user.bucket}",
            "fields": {**fields, "AWSAccessKeyId": user.keys.access_key, "policy": encoded,
                       "signature": signature.decode()}}


def _in(minutes: int) -> str:
    return (datetime.now(timezone.utc) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_good_large_post_streams_to_its_temp_file(user: User) -> None:
    # The control of the tests below: the same observation does see a good POST's file on its way to disk.
    response, body = _post_large(user, user.presigned("good-large"))
    assert response.status_code == 204, response.text
    assert body.seen and max(body.seen.values()) >= 8 * MiB
    assert user.s3.head_object(Bucket=user.bucket, Key="good-large")["ContentLength"] == LARGE
    assert list(_tmp_dir(user).iterdir()) == []


@pytest.mark.parametrize("kind", ["boto3-forged", "boto3-expired", "boto3-condition", "boto3-unknown-key",
                                  "sigv2-forged", "sigv2-expired", "sigv2-condition"])
def test_a_refused_large_post_keeps_nothing_of_its_file(user: User, kind: str) -> None:
    client, problem = kind.split("-", 1)
    expected = {"forged": (403, "SignatureDoesNotMatch", "does not match"),
                "expired": (403, "AccessDenied", "Invalid according to Policy: Policy expired."),
                "condition": (403, "AccessDenied", "Invalid according to Policy: Policy Condition failed"),
                "unknown-key": (403, "InvalidAccessKeyId", "does not exist")}[problem]
    expiration = _in(-1) if problem == "expired" else _in(10)
    if client == "boto3":
        if problem == "expired":
            form = _signed_v4(user, {"expiration": expiration, "conditions": [{"bucket": user.bucket},
                                                                              {"key": "refused"}]},
                              {"key": "refused"})
        elif problem == "unknown-key":
            stranger = boto3_client(user.server, Keys("AKNOBODYATALL", "secret", "none"))
            form = stranger.generate_presigned_post(user.bucket, "refused")
        else:
            form = user.presigned("refused")
    else:
        form = _signed_v2(user, {"expiration": expiration, "conditions": [{"bucket": user.bucket},
                                                                          ["starts-with", "$key", "refused"]]},
                          {"key": "refused"})
    if problem == "forged":
        name = "x-amz-signature" if client == "boto3" else "signature"
        form["fields"][name] = ("0" * 64) if client == "boto3" else base64.b64encode(b"f" * 20).decode()
    if problem == "condition":
        form["fields"]["key"] = "elsewhere"
    response, body = _post_large(user, form)
    assert response.status_code == expected[0], response.text
    code, message = error_of(response)
    assert (code, expected[2] in message) == (expected[1], True), message
    assert body.seen == {}, "the refused POST's file reached the disk"
    assert list(_tmp_dir(user).iterdir()) == []
    assert user.keys_in() == []
    assert user.s3.list_multipart_uploads(Bucket=user.bucket).get("Uploads", []) == []


def test_a_good_sigv2_form_built_by_hand(user: User) -> None:
    form = _signed_v2(user, {"expiration": _in(10), "conditions": [{"bucket": user.bucket},
                                                                   ["starts-with", "$key", "v2/"],
                                                                   ["content-length-range", 0, 2 * LARGE]]},
                      {"key": "v2/hand"})
    response, body = _post_large(user, form)
    assert response.status_code == 204, response.text
    assert body.seen
    got = user.s3.get_object(Bucket=user.bucket, Key="v2/hand")
    assert got["ContentLength"] == LARGE
    assert got["ETag"] == '"%s"' % hashlib.md5(b"B" * LARGE).hexdigest()


@pytest.mark.parametrize("client", ["boto3", "sigv2"])
def test_content_length_range_is_enforced_as_the_file_streams(user: User, client: str) -> None:
    limit = 4 * MiB
    conditions = [{"bucket": user.bucket}, {"key": "capped"}, ["content-length-range", 1, limit]]
    if client == "boto3":
        form = user.presigned("capped", conditions=[["content-length-range", 1, limit]])
    else:
        form = _signed_v2(user, {"expiration": _in(10), "conditions": conditions}, {"key": "capped"})
    response, body = _post_large(user, form)
    assert (response.status_code, error_of(response)[0]) == (400, "EntityTooLarge")
    # Refused at the limit, not at the end: no temp file ever held more than the limit allows.
    assert all(size <= limit for size in body.seen.values()), body.seen
    assert list(_tmp_dir(user).iterdir()) == []
    assert user.keys_in() == []
