"""Issue 13's edge cases where the gateway used to answer differently from S3, through real clients against the
real server: listing parameters and pages (ListObjectVersions markers with the null version, encoding-type=url
on v1, v2 and versions, an empty continuation token, ListBuckets pages), re-creating a bucket in the region
the gateway reports, ACL grants and canned ACLs, x-amz-expected-bucket-owner, authorization edge cases and CORS
on actual requests. boto3 for all, awscli s3api and boto 2 as the second clients. One server per module; each
test has its own users and buckets."""
from __future__ import annotations

import uuid
from typing import Any, Callable
from urllib.parse import unquote_plus

import pytest
from lxml import etree

from tests.protocol.conftest import GatewayServer, Keys
from tests.protocol.s3.conftest import boto2_connection, boto3_client, failure_of
from tests.protocol.s3.s3api_cli import s3api

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def _bucket() -> str:
    return "ec" + uuid.uuid4().hex[:12]


@pytest.fixture
def keys(new_user: Callable[[], Keys]) -> Keys:
    return new_user()


@pytest.fixture
def s3(gateway_server: GatewayServer, keys: Keys) -> Any:
    return boto3_client(gateway_server, keys)


def _raw(client: Any, operation: str) -> list[Any]:
    """Every answer document of OPERATION the client receives, as parsed XML (before botocore's url-decoding
    of the fields it knows), so what the server encoded is seen as sent."""
    seen: list[Any] = []

    def keep(response_dict: Any, **_: Any) -> None:
        seen.append(etree.fromstring(response_dict["body"]))
    client.meta.events.register(f"before-parse.s3.{operation}", keep)
    return seen


def _text(doc: Any, path: str) -> list[str]:
    return [el.text or "" for el in doc.iterfind("/".join(NS + part for part in path.split("/")))]


# -- 1. listings ------------------------------------------------------------------------------------------------

def test_list_object_versions_pages_through_versions_and_the_null_version(s3: Any, gateway_server: GatewayServer,
                                                                          keys: Keys) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a", Body=b"null-a")           # the null version, before versioning
    s3.put_object(Bucket=bucket, Key="dir/x", Body=b"null-x")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    made = [s3.put_object(Bucket=bucket, Key="a", Body=b"a%d" % i)["VersionId"] for i in range(2)]
    s3.delete_object(Bucket=bucket, Key="b")                        # a delete marker alone
    s3.put_object(Bucket=bucket, Key="c", Body=b"c")

    everything = s3.list_object_versions(Bucket=bucket)
    expected = [(v["Key"], v["VersionId"]) for v in
                sorted(everything.get("Versions", []) + everything.get("DeleteMarkers", []),
                       key=lambda v: (v["Key"], not v["IsLatest"], -v["LastModified"].timestamp()))]
    assert [vid for key, vid in expected if key == "a"] == [made[1], made[0], "null"]
    assert len(expected) == 6

    # One entry per page, each page continuing from the last one's NextKeyMarker and NextVersionIdMarker,
    # through the null version ("null" is a version-id marker S3 accepts).
    seen, params = [], {}
    while True:
        page = s3.list_object_versions(Bucket=bucket, MaxKeys=1, **params)
        entries = page.get("Versions", []) + page.get("DeleteMarkers", [])
        assert len(entries) == 1 and page["MaxKeys"] == 1
        seen.append((entries[0]["Key"], entries[0]["VersionId"]))
        if not page["IsTruncated"]:
            break
        params = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}
    assert sorted(seen) == sorted(expected) and len(seen) == len(expected)

    after_null = s3.list_object_versions(Bucket=bucket, KeyMarker="a", VersionIdMarker="null")
    assert sorted(v["Key"] for v in after_null.get("Versions", []) + after_null.get("DeleteMarkers", [])) \
        == ["b", "c", "dir/x"]
    assert after_null["VersionIdMarker"] == "null" and after_null["KeyMarker"] == "a"

    # Every parameter S3 takes, at once: prefix, delimiter, key-marker, max-keys, encoding-type.
    both = s3.list_object_versions(Bucket=bucket, Prefix="", Delimiter="/", KeyMarker="a", MaxKeys=10,
                                   EncodingType="url")
    assert [p["Prefix"] for p in both["CommonPrefixes"]] == ["dir/"]
    assert sorted(v["Key"] for v in both.get("Versions", []) + both.get("DeleteMarkers", [])) == ["b", "c"]

    # awscli s3api, one page at a time by the same markers.
    cli = s3api(gateway_server, keys, "list-object-versions", "--bucket", bucket, "--key-marker", "a",
                "--version-id-marker", made[1], "--max-keys", "1", "--no-paginate")
    assert [v["VersionId"] for v in cli["Versions"]] == [made[0]]
    assert cli["NextKeyMarker"] == "a" and cli["NextVersionIdMarker"] == made[0] and cli["IsTruncated"] is True


def test_list_object_versions_refusals(s3: Any) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    alone = failure_of(lambda: s3.list_object_versions(Bucket=bucket, VersionIdMarker="null"))
    assert (alone.code, alone.status) == ("InvalidArgument", 400)
    assert "without a key marker" in alone.message
    unknown = failure_of(lambda: s3.list_object_versions(Bucket=bucket, KeyMarker="k", VersionIdMarker="nosuchid"))
    assert (unknown.code, unknown.status) == ("InvalidArgument", 400)
    bad = failure_of(lambda: s3.list_object_versions(Bucket=bucket, EncodingType="base64"))
    assert (bad.code, bad.status) == ("InvalidArgument", 400)


def test_boto2_list_versions_with_markers(gateway_server: GatewayServer, keys: Keys, s3: Any) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    ids = [s3.put_object(Bucket=bucket, Key="k", Body=b"%d" % i)["VersionId"] for i in range(3)]
    conn = boto2_connection(gateway_server, keys)
    page = conn.get_bucket(bucket).get_all_versions(key_marker="k", version_id_marker=ids[2], max_keys=1)
    assert [v.version_id for v in page] == [ids[1]]
    assert page.is_truncated and page.next_key_marker == "k" and page.next_version_id_marker == ids[1]


ODD = "sp ace+plusé&<x>"


def test_encoding_type_url_on_v1_v2_and_versions(s3: Any) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    for key in (ODD + "/1", ODD + "/2", "z z"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    quoted = "sp+ace%2Bplus%C3%A9%26%3Cx%3E"

    v1 = _raw(s3, "ListObjects")
    page = s3.list_objects(Bucket=bucket, Prefix="sp ace", Delimiter="/", Marker="sp a", MaxKeys=1,
                           EncodingType="url")
    # Asked for by the caller, the encoding is the caller's to undo (botocore decodes only what it asked).
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == [quoted + "/"]
    doc = v1[-1]
    assert _text(doc, "Prefix") == ["sp+ace"] and _text(doc, "Marker") == ["sp+a"]
    assert _text(doc, "Delimiter") == ["/"] and _text(doc, "EncodingType") == ["url"]
    assert _text(doc, "CommonPrefixes/Prefix") == [quoted + "/"]

    v2 = _raw(s3, "ListObjectsV2")
    page = s3.list_objects_v2(Bucket=bucket, StartAfter=ODD + "/1")  # botocore asks for url, and decodes
    assert [o["Key"] for o in page["Contents"]] == [ODD + "/2", "z z"] and page["StartAfter"] == ODD + "/1"
    doc = v2[-1]
    assert _text(doc, "StartAfter") == [quoted + "/1"]
    assert _text(doc, "Contents/Key") == [quoted + "/2", "z+z"]

    versions = _raw(s3, "ListObjectVersions")
    page = s3.list_object_versions(Bucket=bucket, KeyMarker=ODD + "/1", MaxKeys=1)
    assert [v["Key"] for v in page["Versions"]] == [ODD + "/2"] and page["NextKeyMarker"] == ODD + "/2"
    doc = versions[-1]
    assert _text(doc, "KeyMarker") == [quoted + "/1"] and _text(doc, "NextKeyMarker") == [quoted + "/2"]
    assert _text(doc, "Version/Key") == [quoted + "/2"]
    assert [unquote_plus(t) for t in _text(doc, "Version/Key")] == [ODD + "/2"]

    for call in (lambda: s3.list_objects(Bucket=bucket, EncodingType="URL"),
                 lambda: s3.list_objects_v2(Bucket=bucket, EncodingType="gzip")):
        bad = failure_of(call)
        assert (bad.code, bad.status) == ("InvalidArgument", 400)


def test_empty_continuation_token_is_incorrect(s3: Any, gateway_server: GatewayServer, keys: Keys) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    bad = failure_of(lambda: s3.list_objects_v2(Bucket=bucket, ContinuationToken=""))
    assert (bad.code, bad.status) == ("InvalidArgument", 400)
    assert bad.message == "The continuation token provided is incorrect"
    cli = failure_of(lambda: s3api(gateway_server, keys, "list-objects-v2", "--bucket", bucket,
                                "--continuation-token", "", "--no-paginate"))
    assert cli.code == "InvalidArgument"


def test_list_buckets_pages_with_max_buckets_prefix_and_region(s3: Any, gateway_server: GatewayServer,
                                                               keys: Keys) -> None:
    stem = _bucket()
    names = [stem + "-%d" % i for i in range(3)]
    for name in names:
        s3.create_bucket(Bucket=name)
    s3.create_bucket(Bucket="other" + stem, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})

    seen, token = [], None
    for _ in range(5):
        page = s3.list_buckets(MaxBuckets=2, **({"ContinuationToken": token} if token else {}))
        assert len(page["Buckets"]) <= 2
        seen += [b["Name"] for b in page["Buckets"]]
        token = page.get("ContinuationToken")
        if not token:
            break
    assert seen == sorted(names + ["other" + stem])

    only = s3.list_buckets(Prefix=stem)
    assert [b["Name"] for b in only["Buckets"]] == names and only["Prefix"] == stem
    assert {b["BucketRegion"] for b in only["Buckets"]} == {"us-east-1"}
    assert [b["Name"] for b in s3.list_buckets(BucketRegion="eu-west-1")["Buckets"]] == ["other" + stem]
    assert s3.list_buckets(Prefix=stem, MaxBuckets=3).get("ContinuationToken") is None

    # awscli s3api pages by --max-buckets and hands the token back.
    first = s3api(gateway_server, keys, "list-buckets", "--max-buckets", "1", "--prefix", stem, "--no-paginate")
    assert [b["Name"] for b in first["Buckets"]] == names[:1]
    second = s3api(gateway_server, keys, "list-buckets", "--max-buckets", "1", "--prefix", stem,
                   "--continuation-token", first["ContinuationToken"], "--no-paginate")
    assert [b["Name"] for b in second["Buckets"]] == names[1:2]

    unchecked = boto3_client(gateway_server, keys, parameter_validation=False)  # botocore refuses 0 itself
    for bad in (0, 10001, -1):
        failure = failure_of(lambda: unchecked.list_buckets(MaxBuckets=bad))
        assert (failure.code, failure.status) == ("InvalidArgument", 400)
    garbled = failure_of(lambda: s3.list_buckets(MaxBuckets=1, ContinuationToken="!!!"))
    assert (garbled.code, garbled.status) == ("InvalidArgument", 400)


# -- 5. re-creating a bucket -------------------------------------------------------------------------------------

def test_recreating_your_bucket_in_us_east_1_is_200_and_resets_its_acl(s3: Any, gateway_server: GatewayServer,
                                                                        keys: Keys,
                                                                        new_user: Callable[[], Keys]) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket, ACL="public-read")
    assert s3.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    again = s3.create_bucket(Bucket=bucket)
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 200
    grants = s3.get_bucket_acl(Bucket=bucket)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]  # public-read is gone: private again

    # boto 2 (SigV2) sees the same 200.
    conn = boto2_connection(gateway_server, keys)
    assert conn.create_bucket(bucket).name == bucket

    # A bucket outside us-east-1: BucketAlreadyOwnedByYou, 409.
    elsewhere = _bucket()
    s3.create_bucket(Bucket=elsewhere, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    owned = failure_of(lambda: s3.create_bucket(Bucket=elsewhere,
                                            CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}))
    assert (owned.code, owned.status) == ("BucketAlreadyOwnedByYou", 409)

    # Someone else's name: BucketAlreadyExists, 409, in every region.
    other = boto3_client(gateway_server, new_user())
    taken = failure_of(lambda: other.create_bucket(Bucket=bucket))
    assert (taken.code, taken.status) == ("BucketAlreadyExists", 409)
    cli = failure_of(lambda: s3api(gateway_server, keys, "create-bucket", "--bucket", elsewhere,
                               "--create-bucket-configuration", "LocationConstraint=eu-west-1"))
    assert cli.code == "BucketAlreadyOwnedByYou"


# -- 2. ACL grantees, canned ACLs for the bucket owner, expected bucket owner, deletes ---------------------------

def _account_id(gateway_server: GatewayServer, keys: Keys) -> str:
    """The account id this gateway reports (EC2's ownerId): the CloudStack account's uuid."""
    status, found = gateway_server.cloudstack("admin", "listAccounts", name=keys.account, listall="true")
    assert status == 200, found
    return found["account"][0]["id"]


def _canonical(client: Any) -> str:
    return client.list_buckets()["Owner"]["ID"]


def test_grants_to_unknown_emails_and_ids_are_refused(s3: Any, gateway_server: GatewayServer, keys: Keys,
                                                      new_user: Callable[[], Keys]) -> None:
    other_keys = new_user()
    other = boto3_client(gateway_server, other_keys)
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    me = _canonical(s3)

    email = failure_of(lambda: s3.put_bucket_acl(Bucket=bucket, GrantRead='emailAddress="nobody@nowhere.invalid"'))
    assert (email.code, email.status) == ("UnresolvableGrantByEmailAddress", 400)
    unknown_id = "0" * 64
    by_id = failure_of(lambda: s3.put_object_acl(Bucket=bucket, Key="k", GrantRead=f'id="{unknown_id}"'))
    assert (by_id.code, by_id.status, by_id.message) == ("InvalidArgument", 400, "Invalid id")
    policy = {"Owner": {"ID": me}, "Grants": [
        {"Grantee": {"Type": "CanonicalUser", "ID": me}, "Permission": "FULL_CONTROL"},
        {"Grantee": {"Type": "CanonicalUser", "ID": unknown_id}, "Permission": "READ"}]}
    body = failure_of(lambda: s3.put_object_acl(Bucket=bucket, Key="k", AccessControlPolicy=policy))
    assert (body.code, body.message) == ("InvalidArgument", "Invalid id")
    at_put = failure_of(lambda: s3.put_object(Bucket=bucket, Key="new", Body=b"x",
                                          GrantRead='emailAddress="nobody@nowhere.invalid"'))
    assert at_put.code == "UnresolvableGrantByEmailAddress"
    assert failure_of(lambda: s3.head_object(Bucket=bucket, Key="new")).status == 404  # nothing was written
    # Nothing changed on the refusals: the ACL is still the owner's alone.
    assert [g["Grantee"]["ID"] for g in s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]] == [me]

    # Grants to accounts that exist, by email and by canonical id, are kept and honoured.
    s3.put_object_acl(Bucket=bucket, Key="k", GrantRead=f'emailAddress="{other_keys.account}@example.com"')
    assert other.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
    policy["Grants"][1]["Grantee"]["ID"] = _canonical(other)
    s3.put_object_acl(Bucket=bucket, Key="k", AccessControlPolicy=policy)
    assert other.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"

    # boto 2 (SigV2) adds an email grant through the ACL document.
    conn = boto2_connection(gateway_server, keys)
    key = conn.get_bucket(bucket, validate=False).get_key("k")
    refused = failure_of(lambda: key.add_email_grant("READ", "ghost@nowhere.invalid"))
    assert (refused.code, refused.status) == ("UnresolvableGrantByEmailAddress", 400)
    key.add_email_grant("READ", f"{other_keys.account}@example.com")


def test_bucket_owner_canned_acls_on_objects_grant_the_bucket_owner(s3: Any, gateway_server: GatewayServer,
                                                                      new_user: Callable[[], Keys]) -> None:
    writer = boto3_client(gateway_server, new_user())
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_acl(Bucket=bucket, GrantWrite=f'id="{_canonical(writer)}"',
                      GrantFullControl=f'id="{_canonical(s3)}"')
    owner_id, writer_id = _canonical(s3), _canonical(writer)

    writer.put_object(Bucket=bucket, Key="full", Body=b"f", ACL="bucket-owner-full-control")
    grants = {(g["Grantee"]["ID"], g["Permission"]) for g in writer.get_object_acl(Bucket=bucket, Key="full")["Grants"]}
    assert grants == {(writer_id, "FULL_CONTROL"), (owner_id, "FULL_CONTROL")}
    assert s3.get_object_acl(Bucket=bucket, Key="full")["Owner"]["ID"] == writer_id  # the owner may read the ACL

    writer.put_object(Bucket=bucket, Key="read", Body=b"r", ACL="bucket-owner-read")
    grants = {(g["Grantee"]["ID"], g["Permission"]) for g in writer.get_object_acl(Bucket=bucket, Key="read")["Grants"]}
    assert grants == {(writer_id, "FULL_CONTROL"), (owner_id, "READ")}
    assert s3.get_object(Bucket=bucket, Key="read")["Body"].read() == b"r"
    assert failure_of(lambda: s3.get_object_acl(Bucket=bucket, Key="read")).code == "AccessDenied"  # READ only

    private = writer.put_object(Bucket=bucket, Key="private", Body=b"p")
    assert private["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert failure_of(lambda: s3.get_object(Bucket=bucket, Key="private")).code == "AccessDenied"


def test_expected_bucket_owner_on_every_call(s3: Any, gateway_server: GatewayServer, keys: Keys,
                                             new_user: Callable[[], Keys]) -> None:
    mine = _account_id(gateway_server, keys)
    stranger = _account_id(gateway_server, new_user())
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ExpectedBucketOwner=mine)
    assert s3.get_object(Bucket=bucket, Key="k", ExpectedBucketOwner=mine)["Body"].read() == b"x"
    assert s3.list_objects_v2(Bucket=bucket, ExpectedBucketOwner=mine)["KeyCount"] == 1
    s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=mine)
    s3.get_bucket_acl(Bucket=bucket, ExpectedBucketOwner=mine)

    for call in (lambda: s3.put_object(Bucket=bucket, Key="k2", Body=b"y", ExpectedBucketOwner=stranger),
                 lambda: s3.get_object(Bucket=bucket, Key="k", ExpectedBucketOwner=stranger),
                 lambda: s3.list_objects_v2(Bucket=bucket, ExpectedBucketOwner="123456789012"),
                 lambda: s3.delete_object(Bucket=bucket, Key="k", ExpectedBucketOwner=stranger),
                 lambda: s3.get_bucket_versioning(Bucket=bucket, ExpectedBucketOwner=stranger),
                 lambda: s3.copy_object(Bucket=bucket, Key="c", CopySource={"Bucket": bucket, "Key": "k"},
                                        ExpectedSourceBucketOwner=stranger)):
        failure = failure_of(call)
        assert (failure.code, failure.status) == ("AccessDenied", 403)
    assert failure_of(lambda: s3.head_object(Bucket=bucket, Key="k2")).status == 404  # the refused PUT wrote nothing
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"        # nor was anything deleted
    s3.copy_object(Bucket=bucket, Key="c", CopySource={"Bucket": bucket, "Key": "k"}, ExpectedBucketOwner=mine,
                   ExpectedSourceBucketOwner=mine)
    missing = failure_of(lambda: s3.list_objects_v2(Bucket=_bucket(), ExpectedBucketOwner=mine))
    assert missing.code == "NoSuchBucket"

    # A browser upload (POST Object) carries the header too.
    import requests
    form = s3.generate_presigned_post(bucket, "posted")
    for owner, status in ((stranger, 403), (mine, 204)):
        posted = requests.post(form["url"], data=form["fields"], files={"file": ("f", b"form")},
                               headers={"x-amz-expected-bucket-owner": owner}, timeout=30)
        assert posted.status_code == status
    assert s3.get_object(Bucket=bucket, Key="posted")["Body"].read() == b"form"

    cli = failure_of(lambda: s3api(gateway_server, keys, "get-bucket-acl", "--bucket", bucket,
                               "--expected-bucket-owner", stranger))
    assert cli.code == "AccessDenied"
    assert s3api(gateway_server, keys, "get-object-acl", "--bucket", bucket, "--key", "k",
                 "--expected-bucket-owner", mine)["Owner"]["ID"] == _canonical(s3)


def test_delete_on_an_unversioned_bucket_makes_no_delete_marker(s3: Any, gateway_server: GatewayServer,
                                                               keys: Keys) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    for key in ("k", "never-there"):
        gone = s3.delete_object(Bucket=bucket, Key=key)
        assert gone["ResponseMetadata"]["HTTPStatusCode"] == 204
        assert "DeleteMarker" not in gone and "VersionId" not in gone
    listing = s3.list_object_versions(Bucket=bucket)
    assert "DeleteMarkers" not in listing and "Versions" not in listing
    many = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}]})
    assert all("DeleteMarker" not in d for d in many["Deleted"]) and len(many["Deleted"]) == 2
    conn = boto2_connection(gateway_server, keys)
    conn.get_bucket(bucket, validate=False).delete_key("again")
    assert "DeleteMarkers" not in s3.list_object_versions(Bucket=bucket)


# -- 3. authorization edge cases ---------------------------------------------------------------------------------

def _error_of(response: Any) -> tuple[int, str, str]:
    """(status, Code, Message) of an S3 error answer read by requests (or boto 2's make_request)."""
    status = getattr(response, "status_code", None) or response.status
    body = response.content if hasattr(response, "content") else response.read()
    doc = etree.fromstring(body)
    return status, doc.findtext("Code"), doc.findtext("Message")


def test_empty_or_missing_authorization_is_anonymous(s3: Any, gateway_server: GatewayServer) -> None:
    from botocore import UNSIGNED
    from botocore.config import Config

    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="private", Body=b"p")
    s3.put_object(Bucket=bucket, Key="public", Body=b"open", ACL="public-read")
    import boto3

    def unsigned() -> Any:
        return boto3.client("s3", endpoint_url=gateway_server.url, region_name="us-east-1",
                            config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))
    anonymous, empty = unsigned(), unsigned()

    def blank_authorization(request: Any, **_: Any) -> None:
        request.headers["Authorization"] = ""
    empty.meta.events.register("before-send.s3.*", blank_authorization)

    for client in (anonymous, empty):
        denied = failure_of(lambda: client.get_object(Bucket=bucket, Key="private"))
        assert (denied.code, denied.status) == ("AccessDenied", 403)
        assert failure_of(lambda: client.list_objects_v2(Bucket=bucket)).code == "AccessDenied"
        assert client.get_object(Bucket=bucket, Key="public")["Body"].read() == b"open"


def _v2_request(gateway_server: GatewayServer, keys: Keys, bucket: str, date: str | None) -> Any:
    """A SigV2 GET of BUCKET signed with DATE as its Date header (None: no Date header at all, which boto 2
    never sends, so the string to sign is made here the way SigV2 defines it)."""
    import base64
    import hashlib
    import hmac

    import requests

    resource = f"/awsapi/rest/AmazonS3/{bucket}/"
    signature = base64.b64encode(hmac.new(keys.secret_key.encode(), f"GET\n\n\n{date or ''}\n{resource}".encode(),
                                          hashlib.sha1).digest()).decode()
    headers = {"Authorization": f"AWS {keys.access_key}:{signature}"}
    if date is not None:
        headers["Date"] = date
    session = requests.Session()
    prepared = session.prepare_request(requests.Request("GET", gateway_server.url + resource, headers=headers))
    if date is None:
        prepared.headers.pop("Date", None)
    return session.send(prepared, timeout=30)


def test_sigv2_without_a_date_or_before_the_epoch_is_access_denied(s3: Any, gateway_server: GatewayServer,
                                                                   keys: Keys) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    from email.utils import formatdate
    assert _v2_request(gateway_server, keys, bucket, formatdate(usegmt=True)).status_code == 200  # the signer

    status, code, _ = _error_of(_v2_request(gateway_server, keys, bucket, None))
    assert (status, code) == (403, "AccessDenied")
    status, code, _ = _error_of(_v2_request(gateway_server, keys, bucket, "Wed, 31 Dec 1969 23:59:59 GMT"))
    assert (status, code) == (403, "AccessDenied")
    status, code, _ = _error_of(_v2_request(gateway_server, keys, bucket, "Fri, 01 Jan 2010 00:00:00 GMT"))
    assert (status, code) == (403, "RequestTimeTooSkewed")  # a real date, only too far off: skewed

    # boto 2 signs the Date header it is given.
    conn = boto2_connection(gateway_server, keys)
    response = conn.make_request("GET", bucket, headers={"Date": "Thu, 01 Jan 1970 00:00:00 +0100"})
    assert _error_of(response)[:2] == (403, "AccessDenied")


def test_presigned_expiry_out_of_range_is_400_and_expired_is_403(s3: Any, gateway_server: GatewayServer,
                                                                keys: Keys) -> None:
    import datetime as dt
    from unittest import mock

    import requests

    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")

    def url(expires: int) -> str:
        return s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=expires)
    assert requests.get(url(604800), timeout=30).content == b"x"
    def expires(value: str) -> str:  # botocore presigns no value out of range itself
        return url(60).replace("X-Amz-Expires=60", "X-Amz-Expires=" + value)
    for bad, words in ((expires("604801"), "less than a week"), (expires("-1"), "non-negative"),
                       (expires("soon"), "should be a number")):
        status, code, message = _error_of(requests.get(bad, timeout=30))
        assert (status, code) == (400, "AuthorizationQueryParametersError") and words in message

    # botocore's own SigV4 query signer (the CRT one boto3 may pick reads its own clock), run two days ago.
    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    def presign(now: Any = None) -> str:
        request = AWSRequest("GET", f"{gateway_server.url}/{bucket}/k")
        signer = S3SigV4QueryAuth(Credentials(keys.access_key, keys.secret_key), "s3", "us-east-1", expires=3600)
        if now is None:
            signer.add_auth(request)
        else:
            with mock.patch("botocore.auth.get_current_datetime", return_value=now):
                signer.add_auth(request)
        return request.url
    assert requests.get(presign(), timeout=30).content == b"x"  # the same signer, now: valid
    past = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(days=2)
    assert _error_of(requests.get(presign(past), timeout=30)) == (403, "AccessDenied", "Request has expired")

    # boto 2's SigV2 presigned URL with an Expires long past.
    conn = boto2_connection(gateway_server, keys)
    old = conn.generate_url(60, "GET", bucket, "k", expires_in_absolute=True)
    assert _error_of(requests.get(old, timeout=30)) == (403, "AccessDenied", "Request has expired")


def test_non_ascii_user_metadata_round_trips_with_sigv2_and_sigv4(s3: Any, gateway_server: GatewayServer,
                                                                 keys: Keys) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    conn = boto2_connection(gateway_server, keys)
    key = conn.get_bucket(bucket, validate=False).new_key("v2")
    key.set_metadata("name", "héllo 日本")
    key.set_contents_from_string(b"x")
    assert conn.get_bucket(bucket, validate=False).get_key("v2").metadata == {"name": "héllo 日本"}

    # botocore refuses non-ASCII Metadata parameters, so the header goes in before SigV4 signs it (botocore
    # sends and signs it as UTF-8); the answer's header bytes are read back as latin-1 text.
    def add_header(request: Any, **_: Any) -> None:
        request.headers["x-amz-meta-name"] = "héllo 日本"
    s3.meta.events.register("before-sign.s3.PutObject", add_header)
    s3.put_object(Bucket=bucket, Key="v4", Body=b"x")
    got = s3.head_object(Bucket=bucket, Key="v4")["Metadata"]["name"]
    assert got.encode("latin-1").decode("utf-8") == "héllo 日本"


# -- 4. CORS on actual requests ----------------------------------------------------------------------------------

def _with_origin(client: Any, origin: str) -> list[dict]:
    """Send Origin: ORIGIN on every request of CLIENT (as a browser does); → the answers' headers, in order."""
    seen: list[dict] = []

    def add(request: Any, **_: Any) -> None:
        request.headers["Origin"] = origin

    def keep(http_response: Any, **_: Any) -> None:
        seen.append({k.lower(): v for k, v in http_response.headers.items()})
    client.meta.events.register("before-sign.s3.*", add)
    client.meta.events.register("after-call.s3.*", lambda **kw: keep(kw["http_response"]))
    return seen


def test_cors_headers_on_actual_requests(s3: Any, gateway_server: GatewayServer, keys: Keys) -> None:
    import requests

    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["http://*.example.com"], "AllowedMethods": ["GET", "PUT", "HEAD"],
         "ExposeHeaders": ["ETag", "x-amz-meta-colour"], "MaxAgeSeconds": 300},
        {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]})
    s3.put_object(Bucket=bucket, Key="open", Body=b"o", ACL="public-read")

    browser = boto3_client(gateway_server, keys)
    answers = _with_origin(browser, "http://app.example.com")
    browser.put_object(Bucket=bucket, Key="k", Body=b"x", Metadata={"colour": "blue"})
    browser.get_object(Bucket=bucket, Key="k")["Body"].read()
    browser.head_object(Bucket=bucket, Key="k")
    assert len(answers) == 3
    for headers in answers:  # PUT, GET, HEAD: the first rule, the origin echoed (a signed request)
        assert headers["access-control-allow-origin"] == "http://app.example.com"
        assert headers["access-control-allow-methods"] == "GET, PUT, HEAD"
        assert headers["access-control-expose-headers"] == "ETag, x-amz-meta-colour"
        assert headers["access-control-max-age"] == "300"
        assert headers["access-control-allow-credentials"] == "true"
        assert "Origin" in headers["vary"]

    # An origin only the "*" rule allows, for GET only: anonymous gets "*", and a PUT gets no CORS headers.
    other = boto3_client(gateway_server, keys)
    elsewhere = _with_origin(other, "https://elsewhere.test")
    other.put_object(Bucket=bucket, Key="k2", Body=b"y")
    other.get_object(Bucket=bucket, Key="k2")["Body"].read()
    assert "access-control-allow-origin" not in elsewhere[0]
    assert elsewhere[1]["access-control-allow-origin"] == "https://elsewhere.test"
    assert elsewhere[1]["access-control-allow-methods"] == "GET" and "access-control-max-age" not in elsewhere[1]
    anonymous = requests.get(f"{gateway_server.url}/{bucket}/open", headers={"Origin": "https://elsewhere.test"},
                             timeout=30)
    assert anonymous.status_code == 200 and anonymous.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in anonymous.headers
    # The wildcard matches one label or more, not another domain; no Origin: no CORS headers.
    evil = requests.head(f"{gateway_server.url}/{bucket}/open", headers={"Origin": "http://example.com.evil"},
                         timeout=30)
    assert evil.status_code == 200 and "Access-Control-Allow-Origin" not in evil.headers
    assert "Access-Control-Allow-Origin" not in requests.get(f"{gateway_server.url}/{bucket}/open", timeout=30).headers

    # boto 2 (SigV2) with an Origin header, on a bucket listing.
    conn = boto2_connection(gateway_server, keys)
    response = conn.make_request("GET", bucket, headers={"Origin": "http://a.b.example.com"})
    response.read()
    assert response.status == 200
    assert response.getheader("Access-Control-Allow-Origin") == "http://a.b.example.com"
    assert response.getheader("Access-Control-Expose-Headers") == "ETag, x-amz-meta-colour"
