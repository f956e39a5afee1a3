"""A bounded fuzz of our own: thousands of generated bad-but-signed EC2 Query and S3 requests against the real
server (gateway + simulator on 127.0.0.1). Every answer must come (no dropped connection), be below 500 (S3's
501 NotImplemented excepted: it is in S3's own error table; EC2 has no 501), and be the protocol's own, parseable
document: EC2's <Response><Errors>, S3's <Error>, an EC2 success the action's own <ActionResponse>. A correctly
signed request is never SignatureDoesNotMatch: the gateway verifies what the client signed, whatever the names
and values.

2,000 requests per protocol by default (EC2SOAP_FUZZ_COUNT raises it for a longer run by hand, EC2SOAP_FUZZ_SEED
picks another sequence, EC2SOAP_FUZZ_CASES=12,57 replays single cases). A failure prints one reproducer per
distinct class (protocol, operation, kind of failure, status, code), not thousands of lines.
"""
from __future__ import annotations

import time
import uuid
from typing import Any, Callable

import boto3
import pytest
from botocore.config import Config

from tests.protocol.conftest import REGION, GatewayServer, Keys
from tests.protocol.fuzz_ec2 import ec2_case
from tests.protocol.fuzz_s3 import s3_case
from tests.protocol.fuzzing import Fuzzer, case_numbers, case_seed, server_errors

DEFAULT_COUNT = 2000
# Most requests must get past authentication, or the fuzz proves nothing about the parsers behind it.
MIN_REACHED = 0.6


def _client(service: str, server: GatewayServer, keys: Keys, region: str) -> Any:
    extra = {"s3": {"addressing_style": "path"}, "signature_version": "s3v4"} if service == "s3" else {}
    return boto3.client(service, endpoint_url=server.url, region_name=region, aws_access_key_id=keys.access_key,
                        aws_secret_access_key=keys.secret_key,
                        config=Config(retries={"max_attempts": 1}, **extra))


def _ec2_resources(server: GatewayServer, keys: Keys) -> dict[str, list[str]]:
    """A few real resources of the caller, so generated ids and names reach past "not found"."""
    ec2 = _client("ec2", server, keys, REGION)
    key_name, group_name = f"fz-key-{uuid.uuid4().hex[:6]}", f"fz-sg-{uuid.uuid4().hex[:6]}"
    ec2.create_key_pair(KeyName=key_name)
    group_id = ec2.create_security_group(GroupName=group_name, Description="fuzz")["GroupId"]
    zone = ec2.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]
    images = [i["ImageId"] for i in ec2.describe_images()["Images"]]
    volume = ec2.create_volume(AvailabilityZone=zone, Size=1)["VolumeId"]
    instance = ec2.run_instances(ImageId=images[0], MinCount=1, MaxCount=1, KeyName=key_name,
                                 SecurityGroups=[group_name])["Instances"][0]["InstanceId"]
    ec2.create_tags(Resources=[instance], Tags=[{"Key": "Name", "Value": "fuzz"}])
    address = ec2.allocate_address()
    resources = [instance, volume, images[0], group_id]
    return {
        "instance": [instance, "i-" + "0" * 17], "volume": [volume], "image": images[:3], "snapshot": ["snap-0"],
        "group_id": [group_id, "sg-00000000"], "group_name": [group_name, "default"], "key_name": [key_name],
        "resource": resources, "address": [address.get("PublicIp", "")], "zone": [zone, "nowhere-1a"],
        "allocation": [address.get("AllocationId", "eipalloc-0")], "device": ["/dev/sdb", "/dev/xvdz", "sdb"],
        "instance_type": ["m1.small", "t1.micro", "m1.large", "c5.huge"], "owner": ["self", "amazon", keys.account],
        "attribute": ["instanceType", "kernel", "ramdisk", "userData", "disableApiTermination", "sourceDestCheck",
                      "instanceInitiatedShutdownBehavior", "rootDeviceName", "blockDeviceMapping", "groupSet",
                      "description", "launchPermission", "productCodes", "x"],
        "protocol": ["tcp", "udp", "icmp", "-1", "all", "6", "999"],
        "cidr": ["0.0.0.0/0", "10.0.0.0/33", "300.1.1.1/8", "::/0", "1.2.3.4", "10.0.0.0/-1"],
        "tag_key": ["Name", "aws:reserved", "k" * 200],
    }


def _s3_resources(server: GatewayServer, keys: Keys, other: Keys) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:8]
    s3, theirs = _client("s3", server, keys, "us-east-1"), _client("s3", server, other, "us-east-1")
    buckets = [f"fz-{suffix}-a", f"fz-{suffix}-b"]
    names = ["k1", "dir/k2", "é.txt", "a+b", "sp ace"]
    for bucket in buckets:
        s3.create_bucket(Bucket=bucket)
        for name in names:
            s3.put_object(Bucket=bucket, Key=name, Body=b"fuzz " + name.encode())
    upload = s3.create_multipart_upload(Bucket=buckets[0], Key="mp")["UploadId"]
    s3.upload_part(Bucket=buckets[0], Key="mp", UploadId=upload, PartNumber=1, Body=b"p" * 100)
    other_bucket = f"fz-{suffix}-other"
    theirs.create_bucket(Bucket=other_bucket)
    theirs.put_object(Bucket=other_bucket, Key="secret", Body=b"theirs")
    return {"buckets": buckets, "keys": {b: names + ["mp"] for b in buckets} | {other_bucket: ["secret"]},
            "upload_id": upload, "other_bucket": other_bucket, "other_key": "secret", "suffix": suffix,
            "owner_id": s3.list_buckets()["Owner"]["ID"]}


def _fuzz(protocol: str, make: Callable[[int], Any]) -> None:
    seed, numbers = case_seed(), case_numbers(DEFAULT_COUNT)
    started = time.monotonic()
    with server_errors() as log:
        fuzzer = Fuzzer(log=log)
        try:
            for n in numbers:
                fuzzer.run(make(n))
            seconds = time.monotonic() - started
            fuzzer.shrink()
        finally:
            fuzzer.close()
    report = fuzzer.report(f"{protocol} fuzz", seed)
    print(f"{protocol}: {fuzzer.sent} requests in {seconds:.1f}s, {fuzzer.reached} past authentication, "
          f"{fuzzer.reconnects} reconnects, statuses {dict(sorted(fuzzer.statuses.items()))}, most common answers "
          f"{sorted(fuzzer.codes.items(), key=lambda item: -item[1])[:12]}")
    if fuzzer.failures:
        pytest.fail(report, pytrace=False)
    if len(numbers) >= 100:
        assert fuzzer.reached >= MIN_REACHED * fuzzer.sent, \
            f"only {fuzzer.reached} of {fuzzer.sent} requests got past authentication: the signing is wrong"


def test_fuzz_ec2_query(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    """Generated EC2 Query requests, signed with SigV2 (GET, form POST) and SigV4 (header, presigned)."""
    keys = new_user()
    real = _ec2_resources(gateway_server, keys)
    _fuzz("EC2", lambda n: ec2_case(n, case_seed(), gateway_server.url, keys, real))


def test_fuzz_s3(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    """Generated S3 requests, signed with SigV4 and SigV2 (header and presigned), and some anonymous."""
    keys, other = new_user(), new_user()
    real = _s3_resources(gateway_server, keys, other)
    _fuzz("S3", lambda n: s3_case(n, case_seed(), gateway_server.url, keys, real))


@pytest.mark.parametrize("protocol", ["ec2", "s3"])
def test_fuzz_cases_are_reproducible(protocol: str) -> None:
    """A case number names one request whatever ran before it: what a reproducer's "case #N" relies on.
    (Signatures and dates differ between runs; what was generated does not.)"""
    keys = Keys("AKIDEXAMPLE", "secret", "fuzz")
    real = {"buckets": ["b1", "b2"], "keys": {"b1": ["k"], "b2": ["k"]}, "upload_id": "u", "other_bucket": "o",
            "other_key": "s", "suffix": "x", "owner_id": "0" * 64}
    make = ec2_case if protocol == "ec2" else s3_case
    context = {"instance": ["i-1"]} if protocol == "ec2" else real

    def shape(case: Any) -> tuple:
        # EC2 bodies hold SigV2's Timestamp and Signature; the parameters are what was generated.
        return (case.label, case.scheme, case.method, case.url.split("?")[0], case.params,
                case.body if protocol == "s3" else None)

    first = [shape(make(n, 7, "http://127.0.0.1:1", keys, context)) for n in range(200)]
    backwards = [shape(make(n, 7, "http://127.0.0.1:1", keys, context)) for n in reversed(range(200))]
    assert first == backwards[::-1]
    assert len({c[0] for c in first}) > 20  # and they are not all the same request


_EC2_ERROR = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>InvalidParameterValue</Code>'
              b'<Message>bad</Message></Error></Errors><RequestID>r-1</RequestID></Response>')
_S3_ERROR = b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NotImplemented</Code><Message>no</Message></Error>'


@pytest.mark.parametrize("protocol, status, body, kind", [
    ("ec2", 400, _EC2_ERROR, None),
    ("ec2", 400, _EC2_ERROR.replace(b"bad", b"b\x01d"), "unparseable error"),
    ("ec2", 400, _S3_ERROR, "not EC2's error document"),
    ("ec2", 501, b"<html><body>Huh?</body></html>", "5xx"),
    ("ec2", 500, _EC2_ERROR.replace(b"InvalidParameterValue", b"InternalError"), "5xx"),
    ("ec2", 200, b'<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"/>', None),
    ("ec2", 200, b'<DescribeImagesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"/>',
     "another action's answer"),
    ("ec2", 200, b'<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/\x01/"/>', "unparseable document"),
    ("ec2", 403, _EC2_ERROR.replace(b"InvalidParameterValue", b"SignatureDoesNotMatch"),
     "correct signature refused"),
    ("s3", 501, _S3_ERROR, None),
    ("s3", 501, _S3_ERROR.replace(b"no<", b"\xef\xbf\xbe<"), "unparseable error"),
    ("s3", 503, _S3_ERROR.replace(b"NotImplemented", b"SlowDown"), "5xx"),
    ("s3", 404, _EC2_ERROR, "not S3's error document"),
    ("s3", 404, b"", None),
    ("s3", None, b"", "no answer"),
])
def test_fuzz_judge_flags_what_clients_cannot_read(protocol: str, status: Any, body: bytes, kind: Any) -> None:
    """The fuzz's oracle itself: each kind of bad answer is caught (and good ones pass), so a broken judge
    cannot make the fuzz pass by accepting everything."""
    from tests.protocol.fuzzing import Answer, Case, judge

    case = Case(protocol, "DescribeRegions", "sigv4", "GET", "http://127.0.0.1:1/", {},
                action="DescribeRegions" if protocol == "ec2" else "")
    answer = Answer(status, {"content-type": "text/xml"}, body, None if status else "ConnectionError: dropped")
    problem = judge(case, answer)
    assert (problem[0] if problem else None) == kind
