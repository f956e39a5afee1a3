"""Every answer is a well-formed answer of its protocol, even when the request carries characters XML cannot.

Control characters and NUL in names (key pairs, groups, tags, filters, ids, S3 buckets, keys, upload and
version ids, prefixes) are sent by boto3 and by botocore-signed raw requests to the real server; every answer
must be a 4xx (never a 5xx) whose body lxml parses. Names EC2 documents as ASCII are InvalidParameterValue.
"""
from __future__ import annotations

from typing import Any, Callable
from urllib.parse import quote

import pytest
import requests
from lxml import etree

from tests.protocol.conftest import REGION, GatewayServer, Keys

BAD = ["a\x00b", "a\x01b", "x\x1fy\x0b", "\x7f\x08", "tab\tok\x0c"]


def _parse(body: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(body, parser)


class Recorder:
    """Every raw answer botocore receives (status, body), through its before-parse event."""

    def __init__(self, client: Any):
        self.answers: list[tuple[str, int, bytes]] = []
        client.meta.events.register("before-parse", self._record)

    def _record(self, operation_model: Any, response_dict: dict, **_: Any) -> None:
        body = response_dict["body"]
        if isinstance(body, (bytes, bytearray)):  # not a streamed object body
            self.answers.append((operation_model.name, response_dict["status_code"], bytes(body)))

    def check_all(self) -> None:
        assert self.answers
        for name, status, body in self.answers:
            assert status < 500, (name, status, body)
            if body:
                _parse(body)


def _boto3(server: GatewayServer, keys: Keys, service: str, **kw: Any) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(service, endpoint_url=server.url, region_name=REGION if service == "ec2" else "us-east-1",
                        aws_access_key_id=keys.access_key, aws_secret_access_key=keys.secret_key,
                        config=Config(retries={"max_attempts": 1}, **kw))


def _call(fn: Callable[..., Any], **kwargs: Any) -> dict:
    """The error botocore parsed ({} when the call succeeded)."""
    from botocore.exceptions import ClientError

    try:
        fn(**kwargs)
    except ClientError as exc:
        return {"code": exc.response["Error"]["Code"], "status": exc.response["ResponseMetadata"]["HTTPStatusCode"]}
    return {}


def test_ec2_names_with_control_characters_are_400_with_parseable_errors(gateway_server: GatewayServer,
                                                                        new_user: Callable[[], Keys]) -> None:
    ec2 = _boto3(gateway_server, new_user(), "ec2")
    recorder = Recorder(ec2)
    group_id = ec2.create_security_group(GroupName="plain", Description="plain")["GroupId"]
    for bad in BAD:
        # Names EC2 documents as ASCII: refused by us with EC2's code, before CloudStack is asked.
        for fn, kwargs in [(ec2.create_key_pair, {"KeyName": bad}),
                           (ec2.import_key_pair, {"KeyName": bad, "PublicKeyMaterial": b"ssh-rsa AAAA"}),
                           (ec2.create_security_group, {"GroupName": bad, "Description": "d"}),
                           (ec2.create_security_group, {"GroupName": "g" + bad.replace("\x00", ""),
                                                        "Description": bad})]:
            assert _call(fn, **kwargs) == {"code": "InvalidParameterValue", "status": 400}, (fn, kwargs)
        # Passed on to CloudStack, which refuses them (431): translated, not an InternalError.
        for fn, kwargs in [(ec2.delete_key_pair, {"KeyName": bad}),
                           (ec2.delete_security_group, {"GroupName": bad})]:
            assert _call(fn, **kwargs) == {"code": "InvalidParameterValue", "status": 400}, (fn, kwargs)
        # Lookups, filters, tags and ids: whatever the code, a 4xx that parses.
        for fn, kwargs in [(ec2.describe_key_pairs, {"KeyNames": [bad]}),
                           (ec2.describe_key_pairs, {"Filters": [{"Name": "key-name", "Values": [bad]}]}),
                           (ec2.describe_security_groups, {"GroupNames": [bad]}),
                           (ec2.describe_security_groups, {"Filters": [{"Name": bad, "Values": ["x"]}]}),
                           (ec2.delete_security_group, {"GroupName": bad}),
                           (ec2.authorize_security_group_ingress, {"GroupName": bad, "IpProtocol": "tcp",
                                                                   "FromPort": 22, "ToPort": 22,
                                                                   "CidrIp": "0.0.0.0/0"}),
                           (ec2.create_tags, {"Resources": [group_id], "Tags": [{"Key": bad, "Value": "v"}]}),
                           (ec2.create_tags, {"Resources": [group_id], "Tags": [{"Key": "k", "Value": bad}]}),
                           (ec2.create_tags, {"Resources": [bad], "Tags": [{"Key": "k", "Value": "v"}]}),
                           (ec2.delete_tags, {"Resources": [bad]}),
                           (ec2.describe_tags, {"Filters": [{"Name": "value", "Values": [bad]}]}),
                           (ec2.describe_instances, {"InstanceIds": [bad]}),
                           (ec2.describe_instances, {"Filters": [{"Name": "tag:" + bad, "Values": [bad]}]}),
                           (ec2.describe_images, {"ImageIds": [bad]}),
                           (ec2.describe_volumes, {"VolumeIds": [bad]}),
                           (ec2.describe_snapshots, {"SnapshotIds": [bad]}),
                           (ec2.describe_availability_zones, {"ZoneNames": [bad]}),
                           (ec2.describe_addresses, {"PublicIps": [bad]}),
                           (ec2.run_instances, {"ImageId": bad, "MinCount": 1, "MaxCount": 1}),
                           (ec2.run_instances, {"ImageId": "ami-00000001", "MinCount": 1, "MaxCount": 1,
                                                "KeyName": bad, "SecurityGroups": [bad]}),
                           (ec2.create_volume, {"AvailabilityZone": bad, "Size": 1}),
                           (ec2.delete_volume, {"VolumeId": bad}),
                           (ec2.terminate_instances, {"InstanceIds": [bad]})]:
            error = _call(fn, **kwargs)
            assert error.get("status", 200) < 500, (fn, kwargs, error)
    recorder.check_all()


def test_ec2_stored_text_xml_cannot_carry_is_replaced_in_answers(gateway_server: GatewayServer,
                                                                new_user: Callable[[], Keys]) -> None:
    """A tag value CloudStack stores (U+FFFE, U+FFFF are printable to it) comes back as U+FFFD."""
    ec2 = _boto3(gateway_server, new_user(), "ec2")
    recorder = Recorder(ec2)
    group_id = ec2.create_security_group(GroupName="tagged", Description="d")["GroupId"]
    if _call(ec2.create_tags, Resources=[group_id], Tags=[{"Key": "k", "Value": "v\ufffe\uffff"}]):
        pytest.fail("CreateTags refused a printable tag value")
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [group_id]}])["Tags"]
    assert [t["Value"] for t in tags] == ["v\ufffd\ufffd"]
    recorder.check_all()


def test_ec2_unknown_action_and_version_with_control_characters(gateway_server: GatewayServer,
                                                               new_user: Callable[[], Keys]) -> None:
    keys = new_user()
    for params in ({"Action": "Describe\x01Things", "Version": "2016-11-15"},
                   {"Action": "DescribeKeyPairs", "Version": "2016\x00-11-15"},
                   {"Action": "DescribeKeyPairs", "Version": "2016-11-15", "KeyName.1": "a\x00\"<b>"},
                   # Escapes that are not UTF-8, sent as they are (a form body given as text).
                   "Action=DescribeKeyPairs&Version=2016-11-15&KeyName.1=%FF%C0%80",
                   "Action=CreateKeyPair&Version=2016-11-15&KeyName=%ED%A0%80%00",
                   "Action=Describe%FFThings&Version=2016-11-15"):
        response = _signed_query(gateway_server, keys, params)
        assert response.status_code < 500, response.content
        _parse(response.content)


def _signed_query(server: GatewayServer, keys: Keys, params: dict) -> requests.Response:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="POST", url=server.url + "/", data=params,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(keys.access_key, keys.secret_key), "ec2", REGION).add_auth(request)
    prepared = request.prepare()
    return requests.post(prepared.url, data=prepared.body, headers=dict(prepared.headers), timeout=30)


def _signed_s3(server: GatewayServer, keys: Keys, method: str, path: str, query: str = "", body: bytes = b"",
               headers: dict | None = None) -> requests.Response:
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = server.url + path + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    S3SigV4Auth(Credentials(keys.access_key, keys.secret_key), "s3", "us-east-1").add_auth(request)
    prepared = request.prepare()
    return requests.request(method, prepared.url, data=prepared.body, headers=dict(prepared.headers), timeout=30)


def test_s3_error_documents_echoing_control_characters_parse(gateway_server: GatewayServer,
                                                             new_user: Callable[[], Keys]) -> None:
    keys = new_user()
    bucket = "wellformed-" + keys.account.lower()
    assert _signed_s3(gateway_server, keys, "PUT", f"/{bucket}").status_code == 200
    assert _signed_s3(gateway_server, keys, "PUT", f"/{bucket}/plain", body=b"x").status_code == 200
    seen = []
    for bad in BAD:
        q = quote(bad, safe="")
        for method, path, query, body in [
                ("PUT", f"/b{q}", "", b""),                              # InvalidBucketName
                ("GET", f"/nosuch{q}", "", b""),                         # NoSuchBucket (BucketName)
                ("GET", f"/{bucket}/k{q}", "", b""),                     # NoSuchKey (Key)
                ("DELETE", f"/nosuch{q}/k{q}", "", b""),
                ("GET", f"/{bucket}/plain", f"versionId={q}", b""),      # version id echoed
                ("GET", f"/{bucket}/k{q}", f"uploadId={q}", b""),        # NoSuchUpload (UploadId)
                ("PUT", f"/{bucket}/k{q}", f"partNumber=1&uploadId={q}", b"x"),
                ("DELETE", f"/{bucket}/k{q}", f"uploadId={q}", b""),
                ("GET", f"/{bucket}", f"prefix={q}&marker={q}&delimiter={q}", b""),
                ("GET", f"/{bucket}", f"list-type=2&start-after={q}&continuation-token={q}", b""),
                ("GET", f"/{bucket}", f"versions&key-marker={q}&version-id-marker={q}", b""),
                ("GET", f"/{bucket}", f"uploads&key-marker={q}&upload-id-marker={q}", b""),
                ("GET", f"/{bucket}", f"max-keys={q}", b""),
                ("PUT", f"/{bucket}/copy{q}", "", b""),
                ("PUT", f"/{bucket}", "policy", b'{"Statement": "' + bad.encode() + b'"}'),
                ("POST", f"/{bucket}/k{q}", "uploads", b""),             # InitiateMultipartUploadResult
                ("GET", f"/{bucket}", "", b"")]:                          # a listing holding such keys
            headers = {"x-amz-copy-source": f"/{bucket}/src{q}"} if "copy" in path else {}
            response = _signed_s3(gateway_server, keys, method, path, query, body, headers)
            assert response.status_code < 500, (method, path, query, response.status_code, response.content)
            if response.content:
                root = _parse(response.content)
                seen.append(etree.QName(root).localname)
        # Keys holding such characters exist; their listings must still parse.
        assert _signed_s3(gateway_server, keys, "PUT", f"/{bucket}/stored{q}", body=b"x").status_code == 200
    assert "Error" in seen and "ListBucketResult" in seen
    # A policy whose refusal echoes a JSON-escaped lone surrogate and control character.
    for effect in (b"\\ud800\\u0001", b"\\udfff", b"\\u0000"):
        response = _signed_s3(gateway_server, keys, "PUT", f"/{bucket}", "policy",
                              b'{"Statement": [{"Effect": "' + effect + b'", "Principal": "*"}]}')
        assert response.status_code == 400 and _parse(response.content).findtext("Code") == "MalformedPolicy"
    # Escapes that are not UTF-8 (a lone continuation byte, an overlong NUL, a surrogate's encoding).
    for raw in ("%FF", "%C0%80", "%ED%A0%80", "%00"):
        for method, path, query in [("GET", f"/{bucket}/k{raw}", ""), ("GET", f"/nosuch{raw}", ""),
                                    ("GET", f"/{bucket}", f"prefix={raw}"), ("PUT", f"/{bucket}/w{raw}", ""),
                                    ("GET", f"/{bucket}/plain", f"versionId={raw}")]:
            response = _signed_s3(gateway_server, keys, method, path, query)
            assert response.status_code < 500, (method, path, query, response.content)
            if response.content:
                _parse(response.content)
    listed = _parse(_signed_s3(gateway_server, keys, "GET", f"/{bucket}").content)
    keys_listed = [e.text for e in listed.iter("{*}Key")]
    assert "storeda\ufffdb" in keys_listed and "storedx\ufffdy\ufffd" in keys_listed


def test_s3_through_boto3_every_answer_parses(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    s3 = _boto3(gateway_server, new_user(), "s3", s3={"addressing_style": "path"})
    recorder = Recorder(s3)
    # Simulator keys may hold '_' or '-' runs that S3 bucket names cannot: keep letters and digits only.
    bucket = "wf3-" + "".join(c for c in s3._request_signer._credentials.access_key.lower() if c.isalnum())[:10]
    s3.create_bucket(Bucket=bucket)
    for bad in BAD:
        s3.put_object(Bucket=bucket, Key=f"k{bad}", Body=b"x")
        for fn, kwargs in [(s3.get_object, {"Bucket": bucket, "Key": f"missing{bad}"}),
                           (s3.get_object, {"Bucket": bucket, "Key": f"k{bad}", "VersionId": bad}),
                           (s3.list_parts, {"Bucket": bucket, "Key": f"k{bad}", "UploadId": bad}),
                           (s3.abort_multipart_upload, {"Bucket": bucket, "Key": f"k{bad}", "UploadId": bad}),
                           (s3.complete_multipart_upload, {"Bucket": bucket, "Key": f"k{bad}", "UploadId": bad,
                                                           "MultipartUpload": {"Parts": [
                                                               {"PartNumber": 1, "ETag": "x"}]}}),
                           (s3.copy_object, {"Bucket": bucket, "Key": "c", "CopySource": f"{bucket}/nope{bad}"}),
                           (s3.create_multipart_upload, {"Bucket": bucket, "Key": f"m{bad}"}),
                           (s3.delete_objects, {"Bucket": bucket, "Delete": {"Objects": [{"Key": "gone"}]}})]:
            error = _call(fn, **kwargs)
            assert error.get("status", 200) < 500, (fn, kwargs, error)
    # botocore asks for encoding-type=url, and gets the keys back exactly.
    listed = {o["Key"] for o in s3.list_objects(Bucket=bucket)["Contents"]}
    assert {f"k{bad}" for bad in BAD} <= listed
    recorder.check_all()
