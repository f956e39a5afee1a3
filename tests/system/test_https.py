"""Native HTTPS, trusted proxies and what /health tells strangers, against the real server on 127.0.0.1.

One gateway listens on HTTP and HTTPS at once, with a certificate from a throwaway CA made here; clients verify
it against that CA (boto3, awscli, zeep, s3cmd: their own TLS stacks). The gateway trusts one proxy address,
127.0.0.2 (Linux routes all of 127/8 to loopback, so a client bound to 127.0.0.2 is "the proxy" and one on
127.0.0.1 is "anybody"): the same forwarded headers must be honoured from the first and ignored from the second.
"""
from __future__ import annotations

import base64
import hashlib
import http.client
import json
import logging
import re
import socket
import ssl
import subprocess
import sys
import uuid
import zlib
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests
from lxml import etree

from ec2soap.config import Settings
from tests.protocol.conftest import GatewayServer, Keys, make_user
from tests.system.certs import Pki, make_pki

REGION = "cloudstack"
PROXY = "127.0.0.2"
VHOST_BUCKET = "tls-vhost-bucket"
TOKEN = "health-" + uuid.uuid4().hex
SOAP_PATH = "/awsapi/services/AmazonEC2"


@pytest.fixture(scope="module", autouse=True)
def localhost_subdomains() -> Iterator[None]:
    """*.localhost → 127.0.0.1 (RFC 6761 §6.3; this machine's resolver does not), for virtual-host buckets."""
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if isinstance(host, str) and host.endswith(".localhost") else host, *args, **kwargs)
    socket.getaddrinfo = resolve
    yield
    socket.getaddrinfo = real


@pytest.fixture(scope="module")
def pki(tmp_path_factory: Any) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"), ("localhost", f"{VHOST_BUCKET}.localhost"))


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: Any, reactor: Any, in_reactor: Callable[..., Any], pki: Pki) -> Iterator[GatewayServer]:
    from ec2soap import server

    settings = Settings(host="127.0.0.1", port=0, tls_port=0, tls_cert=str(pki.cert), tls_key=str(pki.key),
                        trusted_proxies=f"{PROXY}, 10.255.0.0/16", health_token=TOKEN, simulator_port=0,
                        integration_port=-1, data_dir=str(tmp_path_factory.mktemp("https")),
                        simulator_job_seconds=0.2, job_poll_interval=0.05, job_wait=20.0, db_threads=4)
    running = in_reactor(server.start, settings, reactor)
    served = GatewayServer(running, f"http://127.0.0.1:{running.ports['gateway']}",
                           f"http://127.0.0.1:{running.ports['simulator']}/client/api")
    served.https = f"https://localhost:{running.ports['gateway_tls']}"  # type: ignore[attr-defined]
    yield served
    in_reactor(running.stop)
    running.store.close()


@pytest.fixture(scope="module")
def keys(gateway: GatewayServer) -> Keys:
    return make_user(gateway, "tls")


def _boto3(service: str, endpoint: str, keys: Keys, ca: Path, **s3: Any) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, verify=str(ca),
                        aws_access_key_id=keys.access_key, aws_secret_access_key=keys.secret_key,
                        config=Config(retries={"max_attempts": 1}, s3=s3 or None))


def _raw(url: str, path: str, headers: dict[str, str], *, source: str = "127.0.0.1") -> tuple[int, bytes]:
    """GET PATH on the HTTP port from SOURCE (our address as the gateway sees it), with HEADERS as given."""
    port = int(url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(source, 0))
    try:
        conn.request("GET", path, headers=headers)
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


def _wsdl_address(body: bytes) -> str:
    root = etree.fromstring(body)
    return root.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address").get("location")


# -- HTTPS with real clients ------------------------------------------------------------------------------------

def test_boto3_ec2_and_s3_over_https_verify_our_certificate(gateway: GatewayServer, keys: Keys, pki: Pki) -> None:
    ec2 = _boto3("ec2", gateway.https, keys, pki.ca)
    name = "tls-" + uuid.uuid4().hex[:8]
    made = ec2.create_key_pair(KeyName=name)  # a private key: the reason for HTTPS
    assert made["KeyMaterial"].startswith("-----BEGIN") and made["KeyName"] == name
    assert [k["KeyName"] for k in ec2.describe_key_pairs(KeyNames=[name])["KeyPairs"]] == [name]
    # The region endpoint is the host the client used.
    port = gateway.running.ports["gateway_tls"]
    assert ec2.describe_regions()["Regions"][0]["Endpoint"] == f"localhost:{port}"
    s3 = _boto3("s3", gateway.https, keys, pki.ca, addressing_style="path")
    bucket = "tls-" + uuid.uuid4().hex[:10]
    s3.create_bucket(Bucket=bucket)
    body = bytes(range(256)) * 4096  # 1 MiB: several TLS records, streamed on both sides
    s3.put_object(Bucket=bucket, Key="a/b.bin", Body=body)
    assert s3.get_object(Bucket=bucket, Key="a/b.bin")["Body"].read() == body
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["a/b.bin"]
    # A multipart upload's Location is the address the client used: https, this host.
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big file")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="big file", UploadId=upload, PartNumber=1, Body=body)
    done = s3.complete_multipart_upload(Bucket=bucket, Key="big file", UploadId=upload,
                                        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert done["Location"] == f"https://localhost:{port}/{bucket}/big%20file"


def test_an_unverified_client_is_refused_by_its_own_tls_check(gateway: GatewayServer) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(gateway.https + "/health", timeout=30)  # the system CAs do not know our test CA


def test_s3_virtual_host_over_https_and_secure_transport_in_policies(gateway: GatewayServer, keys: Keys,
                                                                     pki: Pki) -> None:
    from botocore.exceptions import ClientError

    path_style = _boto3("s3", gateway.https, keys, pki.ca, addressing_style="path")
    try:
        path_style.create_bucket(Bucket=VHOST_BUCKET)
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "BucketAlreadyOwnedByYou"
    path_style.put_object(Bucket=VHOST_BUCKET, Key="k", Body=b"over tls")
    # Only TLS may read: aws:SecureTransport follows the connection the client used.
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{VHOST_BUCKET}/*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
    path_style.put_bucket_policy(Bucket=VHOST_BUCKET, Policy=json.dumps(policy))
    vhost = _boto3("s3", gateway.https, keys, pki.ca, addressing_style="virtual")
    assert vhost.get_object(Bucket=VHOST_BUCKET, Key="k")["Body"].read() == b"over tls"
    plain = _boto3("s3", gateway.url, keys, pki.ca, addressing_style="path")
    with pytest.raises(ClientError) as denied:
        plain.get_object(Bucket=VHOST_BUCKET, Key="k")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    path_style.delete_bucket_policy(Bucket=VHOST_BUCKET)


def test_awscli_over_https_with_the_ca_bundle(gateway: GatewayServer, keys: Keys, pki: Pki, tmp_path: Path) -> None:
    env = {"AWS_ACCESS_KEY_ID": keys.access_key, "AWS_SECRET_ACCESS_KEY": keys.secret_key,
           "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
           "AWS_MAX_ATTEMPTS": "1", "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"}

    def aws(*args: str) -> Any:
        done = subprocess.run([str(Path(sys.executable).parent / "aws"), *args, "--endpoint-url", gateway.https,
                               "--ca-bundle", str(pki.ca), "--output", "json"], env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else {}

    name = "cli-" + uuid.uuid4().hex[:8]
    assert aws("ec2", "create-key-pair", "--key-name", name)["KeyMaterial"].startswith("-----BEGIN")
    assert name in [k["KeyName"] for k in aws("ec2", "describe-key-pairs")["KeyPairs"]]
    bucket = "cli-" + uuid.uuid4().hex[:10]
    aws("s3api", "create-bucket", "--bucket", bucket)
    upload = tmp_path / "up.txt"
    upload.write_text("awscli over https\n")
    aws("s3api", "put-object", "--bucket", bucket, "--key", "up.txt", "--body", str(upload))
    assert [o["Key"] for o in aws("s3api", "list-objects-v2", "--bucket", bucket)["Contents"]] == ["up.txt"]


def _sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def test_boto3_checksum_trailers_over_https(gateway: GatewayServer, keys: Keys, pki: Pki) -> None:
    """Over https boto3 sends checksums in an aws-chunked trailer (over plain http it puts them in a header):
    the trailer is read, verified and stored, for a PUT and for the parts of a multipart upload."""
    s3 = _boto3("s3", gateway.https, keys, pki.ca, addressing_style="path")
    sent: list[dict] = []
    s3.meta.events.register("before-send.s3.*", lambda request, **_: sent.append(
        {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}))
    bucket = "trl-" + uuid.uuid4().hex[:10]
    s3.create_bucket(Bucket=bucket)
    body = b"a checksum in the trailer " * 40000  # ~1 MiB, several aws-chunked chunks
    put = s3.put_object(Bucket=bucket, Key="one", Body=body, ChecksumAlgorithm="SHA256")
    assert sent[-1]["x-amz-trailer"] == "x-amz-checksum-sha256" and "x-amz-checksum-sha256" not in sent[-1]
    assert put["ChecksumSHA256"] == _sha256(body)
    got = s3.get_object(Bucket=bucket, Key="one", ChecksumMode="ENABLED")
    assert got["Body"].read() == body and got["ChecksumSHA256"] == _sha256(body)

    parts = [b"1" * (5 << 20), b"the last part"]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="many", ChecksumAlgorithm="CRC32")["UploadId"]
    done_parts = []
    for number, data in enumerate(parts, 1):
        part = s3.upload_part(Bucket=bucket, Key="many", UploadId=upload, PartNumber=number, Body=data,
                              ChecksumAlgorithm="CRC32")
        assert sent[-1]["x-amz-trailer"] == "x-amz-checksum-crc32"
        assert part["ChecksumCRC32"] == _crc32(data)
        done_parts.append({"PartNumber": number, "ETag": part["ETag"], "ChecksumCRC32": part["ChecksumCRC32"]})
    s3.complete_multipart_upload(Bucket=bucket, Key="many", UploadId=upload,
                                 MultipartUpload={"Parts": done_parts})
    composite = b"".join(base64.b64decode(_crc32(d)) for d in parts)  # S3's checksum of the part checksums
    attributes = s3.get_object_attributes(Bucket=bucket, Key="many", ObjectAttributes=["Checksum", "ObjectParts"])
    assert attributes["Checksum"]["ChecksumCRC32"] == f"{_crc32(composite)}-2"
    assert [p["ChecksumCRC32"] for p in attributes["ObjectParts"]["Parts"]] == [_crc32(d) for d in parts]


def test_awscli_checksum_trailer_over_https(gateway: GatewayServer, keys: Keys, pki: Pki, tmp_path: Path) -> None:
    """awscli's put-object with --checksum-algorithm over https: the checksum travels in the trailer (its debug
    log shows the request headers), and get-object-attributes reads back what was computed here."""
    env = {"AWS_ACCESS_KEY_ID": keys.access_key, "AWS_SECRET_ACCESS_KEY": keys.secret_key,
           "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
           "AWS_MAX_ATTEMPTS": "1", "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"}

    def aws(*args: str, debug: bool = False) -> tuple[Any, str]:
        done = subprocess.run([str(Path(sys.executable).parent / "aws"), *args, "--endpoint-url", gateway.https,
                               "--ca-bundle", str(pki.ca), "--output", "json", *(["--debug"] if debug else [])],
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]
        return (json.loads(done.stdout) if done.stdout.strip() else {}), done.stderr

    bucket = "clitrl-" + uuid.uuid4().hex[:8]
    aws("s3api", "create-bucket", "--bucket", bucket)
    data = b"awscli puts this checksum in a trailer\n" * 5000
    upload = tmp_path / "up.bin"
    upload.write_bytes(data)
    put, log = aws("s3api", "put-object", "--bucket", bucket, "--key", "t.bin", "--body", str(upload),
                   "--checksum-algorithm", "SHA256", debug=True)
    sending = [line for line in log.splitlines() if "Sending http request" in line and "method=PUT" in line]
    assert len(sending) == 1 and re.search(r"'x-amz-trailer': b'x-amz-checksum-sha256'", sending[0], re.I), \
        "awscli did not send the checksum in a trailer"
    assert put["ChecksumSHA256"] == _sha256(data)
    attributes, _ = aws("s3api", "get-object-attributes", "--bucket", bucket, "--key", "t.bin",
                        "--object-attributes", "Checksum", "ObjectSize")
    assert attributes["Checksum"]["ChecksumSHA256"] == _sha256(data) and attributes["ObjectSize"] == len(data)


@pytest.mark.parametrize("signature_v2", [True, False], ids=["sigv2", "sigv4"])
def test_s3cmd_over_https_checks_the_certificate(gateway: GatewayServer, keys: Keys, pki: Pki, tmp_path: Path,
                                                 signature_v2: bool) -> None:
    port = gateway.running.ports["gateway_tls"]
    config = tmp_path / "s3cfg"
    config.write_text("[default]\n"
                      f"access_key = {keys.access_key}\nsecret_key = {keys.secret_key}\n"
                      f"host_base = localhost:{port}\nhost_bucket = localhost:{port}\n"
                      f"use_https = True\ncheck_ssl_certificate = True\nca_certs_file = {pki.ca}\n"
                      f"signature_v2 = {signature_v2}\nbucket_location = us-east-1\nprogress_meter = False\n")

    def s3cmd(*args: str) -> str:
        done = subprocess.run([str(Path(sys.executable).parent / "s3cmd"), "-c", str(config), *args],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr + done.stdout
        return done.stdout

    bucket = "s3cmd-" + uuid.uuid4().hex[:10]
    source = tmp_path / "file.txt"
    source.write_bytes(b"s3cmd over https\n" * 1000)
    s3cmd("mb", f"s3://{bucket}")
    s3cmd("put", str(source), f"s3://{bucket}/file.txt")
    assert f"s3://{bucket}/file.txt" in s3cmd("ls", f"s3://{bucket}")
    target = tmp_path / "back.txt"
    s3cmd("get", f"s3://{bucket}/file.txt", str(target))
    assert target.read_bytes() == source.read_bytes()


def test_wsdl_address_follows_the_scheme_and_zeep_calls_over_https(gateway: GatewayServer, keys: Keys, pki: Pki,
                                                                   in_reactor: Callable[..., Any],
                                                                   tmp_path: Path) -> None:
    import zeep
    from zeep.transports import Transport

    from tests.protocol.soap.conftest import make_certificate, signature

    port = gateway.running.ports["gateway_tls"]
    over_tls = requests.get(gateway.https + SOAP_PATH + "?wsdl", verify=str(pki.ca), timeout=60)
    assert _wsdl_address(over_tls.content) == f"https://localhost:{port}{SOAP_PATH}"
    plain = requests.get(gateway.url + SOAP_PATH + "?wsdl", timeout=60)
    assert _wsdl_address(plain.content) == gateway.url + SOAP_PATH
    key_file, cert_file, pem = make_certificate(tmp_path, keys.account)
    credentials = gateway.running.credentials
    in_reactor(credentials.register, keys.access_key, keys.secret_key)
    assert in_reactor(credentials.set_certificate, keys.access_key, pem)
    session = requests.Session()
    session.verify = str(pki.ca)
    session.trust_env = False  # else REQUESTS_CA_BUNDLE, if set, beats session.verify on every request
    client = zeep.Client(gateway.https + SOAP_PATH + "?wsdl", wsse=signature(key_file, cert_file),
                         transport=Transport(session=session, timeout=60, operation_timeout=60))
    # zeep posts to the address the WSDL names: it must be the HTTPS one for this to reach us at all.
    zones = client.service.DescribeAvailabilityZones(availabilityZoneSet={"item": []})
    assert zones.availabilityZoneInfo.item and zones.availabilityZoneInfo.item[0].zoneState == "available"
    name = "soap-" + uuid.uuid4().hex[:8]
    made = client.service.CreateKeyPair(keyName=name)
    assert made.keyName == name and made.keyMaterial.startswith("-----BEGIN")


# -- trusted proxies --------------------------------------------------------------------------------------------

FORWARDED = {"X-Forwarded-For": "10.255.1.1, 203.0.113.7", "X-Forwarded-Proto": "https",
             "X-Forwarded-Host": "ec2.example.com"}


def test_forwarded_headers_set_the_wsdl_address_only_from_a_trusted_proxy(gateway: GatewayServer) -> None:
    port = gateway.running.ports["gateway"]
    status, body = _raw(gateway.url, SOAP_PATH + "?wsdl", {"Host": f"127.0.0.1:{port}", **FORWARDED}, source=PROXY)
    assert status == 200 and _wsdl_address(body) == f"https://ec2.example.com{SOAP_PATH}"
    status, body = _raw(gateway.url, SOAP_PATH + "?wsdl", {"Host": f"127.0.0.1:{port}", **FORWARDED})
    assert status == 200 and _wsdl_address(body) == f"http://127.0.0.1:{port}{SOAP_PATH}"
    # RFC 7239 Forwarded says the same; quoted values and IPv6 brackets are understood.
    standard = {"Host": f"127.0.0.1:{port}",
                "Forwarded": 'for="[2001:db8::1]:4711";proto=https;host="soap.example.net:8443"'}
    status, body = _raw(gateway.url, SOAP_PATH + "?wsdl", standard, source=PROXY)
    assert _wsdl_address(body) == f"https://soap.example.net:8443{SOAP_PATH}"
    status, body = _raw(gateway.url, SOAP_PATH + "?wsdl", standard)
    assert _wsdl_address(body) == f"http://127.0.0.1:{port}{SOAP_PATH}"


def test_forwarded_host_chooses_the_s3_virtual_host_bucket_only_from_a_trusted_proxy(gateway: GatewayServer,
                                                                                   keys: Keys, pki: Pki) -> None:
    from botocore.exceptions import ClientError

    s3 = _boto3("s3", gateway.url, keys, pki.ca, addressing_style="path")
    bucket = "fwd-" + uuid.uuid4().hex[:10]
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="page.txt", Body=b"via the proxy", ACL="public-read")
    port = gateway.running.ports["gateway"]
    headers = {"Host": f"127.0.0.1:{port}", "X-Forwarded-Host": f"{bucket}.localhost"}
    assert _raw(gateway.url, "/page.txt", headers, source=PROXY) == (200, b"via the proxy")
    status, body = _raw(gateway.url, "/page.txt", headers)  # path style: a bucket named page.txt
    assert status == 404 and b"<Code>NoSuchBucket</Code>" in body
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket="page.txt")


def test_a_streamed_upload_finds_its_virtual_host_bucket_behind_a_trusted_proxy(gateway: GatewayServer, keys: Keys,
                                                                                pki: Pki) -> None:
    s3 = _boto3("s3", gateway.url, keys, pki.ca, addressing_style="path")
    bucket = "up-" + uuid.uuid4().hex[:10]
    s3.create_bucket(Bucket=bucket, ACL="public-read-write")
    port = gateway.running.ports["gateway"]
    body = b"streamed through the proxy " * 4000
    for source, expected in ((PROXY, 200), ("127.0.0.1", None)):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(source, 0))
        try:
            conn.request("PUT", "/drop.txt", body=body, headers={
                "Host": f"127.0.0.1:{port}", "X-Forwarded-Host": f"{bucket}.localhost",
                "Content-Type": "text/plain"})
            answer = conn.getresponse()
            status, text = answer.status, answer.read()
        finally:
            conn.close()
        if expected is not None:
            assert status == expected, text
        else:  # from anybody: path style, an anonymous request for a bucket named drop.txt
            assert status in (403, 400) and b"<Error>" in text, text
    # The anonymous writer owns the object (S3's rule), so the bucket owner sees it listed, with its size.
    assert [(o["Key"], o["Size"]) for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [("drop.txt",
                                                                                              len(body))]


def test_source_ip_of_policies_is_the_forwarded_client_only_behind_a_trusted_proxy(gateway: GatewayServer,
                                                                                   keys: Keys, pki: Pki) -> None:
    s3 = _boto3("s3", gateway.url, keys, pki.ca, addressing_style="path")
    bucket = "ip-" + uuid.uuid4().hex[:10]
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="office.txt", Body=b"office only")
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*",
        "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}]}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    port = gateway.running.ports["gateway"]
    office = {"Host": f"127.0.0.1:{port}", "X-Forwarded-For": "203.0.113.7"}
    assert _raw(gateway.url, f"/{bucket}/office.txt", office, source=PROXY) == (200, b"office only")
    # The same header from anybody else is their own claim: the request comes from 127.0.0.1.
    status, body = _raw(gateway.url, f"/{bucket}/office.txt", office)
    assert status == 403 and b"<Code>AccessDenied</Code>" in body
    # Behind the trusted proxy, a spoofed left-most hop does not help: the hop the proxy saw counts.
    spoofed = {"Host": f"127.0.0.1:{port}", "X-Forwarded-For": "203.0.113.7, 198.51.100.9"}
    assert _raw(gateway.url, f"/{bucket}/office.txt", spoofed, source=PROXY)[0] == 403
    # A chain of trusted proxies (10.255/16 is trusted too) is walked back to the first untrusted hop.
    chain = {"Host": f"127.0.0.1:{port}", "X-Forwarded-For": "203.0.113.7, 10.255.3.4"}
    assert _raw(gateway.url, f"/{bucket}/office.txt", chain, source=PROXY) == (200, b"office only")


@pytest.mark.parametrize("source", [PROXY, "127.0.0.1"])
def test_header_bytes_that_are_not_utf8_or_ascii_are_answered_not_failed(gateway: GatewayServer,
                                                                        source: str) -> None:
    port = gateway.running.ports["gateway"]
    odd = {"Host": b"\xc3x.localhost", "X-Forwarded-Host": b"b\xe9\xff.example",
           "X-Forwarded-For": b"\xc3\x28, 10.255.0.1", "X-Forwarded-Proto": b"\xff", "Forwarded": b'for="\xc3";host=\xe9'}
    for path in ("/some-bucket/key", "/?Action=DescribeRegions", SOAP_PATH + "?wsdl"):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(source, 0))
        try:
            conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
            for name, value in odd.items():
                conn.putheader(name, value)
            conn.endheaders()
            answer = conn.getresponse()
            status, body = answer.status, answer.read()
        finally:
            conn.close()
        assert status < 500, body[:2000]
        etree.fromstring(body)  # S3's, EC2's own error document or the WSDL: XML either way


def test_the_access_log_names_the_client_behind_a_trusted_proxy(gateway: GatewayServer) -> None:
    from ec2soap.origin import access_log_line

    lines: list[str] = []
    port = gateway.running.ports["gateway"]

    class Capture:
        def write(self, line: str) -> None:
            lines.append(line)

        def flush(self) -> None:
            pass

    sites = [listener.factory for listener in gateway.running.listeners
             if getattr(listener, "factory", None) is not None and hasattr(listener.factory, "origin_policy")]
    assert sites and sites[0]._logFormatter is access_log_line
    site = sites[0]
    saved = site._logFile
    site._logFile = Capture()
    try:
        _raw(gateway.url, "/health", {"Host": f"127.0.0.1:{port}", "X-Forwarded-For": "198.51.100.23"},
             source=PROXY)
        _raw(gateway.url, "/health", {"Host": f"127.0.0.1:{port}", "X-Forwarded-For": "198.51.100.24"})
    finally:
        site._logFile = saved
    assert any(line.startswith('"198.51.100.23"') and f'via="{PROXY}"' in line for line in lines), lines
    assert any(line.startswith('"127.0.0.1"') for line in lines) and not any("198.51.100.24" in l for l in lines)


def test_the_request_log_lines_name_the_client_behind_a_trusted_proxy(gateway: GatewayServer, caplog: Any) -> None:
    port = gateway.running.ports["gateway"]
    with caplog.at_level(logging.INFO, logger="ec2soap"):
        for source, client in ((PROXY, "198.51.100.31"), ("127.0.0.1", "127.0.0.1")):
            headers = {"Host": f"127.0.0.1:{port}", "X-Forwarded-For": "198.51.100.31"}
            _raw(gateway.url, "/?Action=DescribeRegions&Version=2016-11-15", headers, source=source)
            _raw(gateway.url, "/no-such-bucket-" + uuid.uuid4().hex[:8], headers, source=source)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(source, 0))
            conn.request("POST", SOAP_PATH, body=b"<not-soap/>", headers={**headers, "Content-Type": "text/xml"})
            conn.getresponse().read()
            conn.close()
            text = "\n".join(r.getMessage() for r in caplog.records)
            assert re.search(rf"service=ec2-query .*action=DescribeRegions .* client={re.escape(client)}$", text,
                             re.M), text
            assert re.search(rf"^S3 GET .* client {re.escape(client)}\]$", text, re.M), text
            assert re.search(rf"^ec2-soap .* client={re.escape(client)}$", text, re.M), text
            caplog.clear()


# -- /health ----------------------------------------------------------------------------------------------------

def test_health_tells_anybody_only_ok_or_error(gateway: GatewayServer, pki: Pki) -> None:
    for url, verify in ((gateway.url, True), (gateway.https, str(pki.ca))):
        answer = requests.get(url + "/health", verify=verify, timeout=60)
        assert answer.status_code == 200
        doc = answer.json()
        assert doc["status"] == "ok"
        assert doc["database"] == {"status": "ok"} and doc["cloudstack"] == {"status": "ok"}
        assert "version" not in doc and "seconds" not in answer.text
    detailed = requests.get(gateway.url + "/health", headers={"X-Health-Token": TOKEN}, timeout=60).json()
    assert detailed["version"] and "seconds" in detailed["database"]
    wrong = requests.get(gateway.url + "/health", headers={"X-Health-Token": TOKEN + "x"}, timeout=60).json()
    assert "version" not in wrong
    for odd in (b"\xc3\x28", b"\xff" * 40):  # bytes that are no UTF-8: still the short report, not a failure
        for header in ("X-Health-Token", "Authorization"):
            answer = requests.get(gateway.url + "/health", headers={header: odd}, timeout=60)
            assert answer.status_code < 500 and "\"version\"" not in answer.text, (header, answer.text[:300])


def test_health_of_an_unreachable_cloudstack_discloses_nothing(tmp_path_factory: Any, reactor: Any,
                                                               in_reactor: Callable[..., Any], caplog: Any) -> None:
    from ec2soap import server

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    cloudstack = f"http://127.0.0.1:{dead}/client/api"
    settings = Settings(host="127.0.0.1", port=0, simulator_port=-1, integration_port=-1, cloudstack_url=cloudstack,
                        cloudstack_admin_api_key="AK", cloudstack_admin_secret_key="admin-secret-" + uuid.uuid4().hex,
                        cloudstack_timeout=2.0, health_token=TOKEN, data_dir=str(tmp_path_factory.mktemp("dead")),
                        db_threads=2)
    running = in_reactor(server.start, settings, reactor)
    url = f"http://127.0.0.1:{running.ports['gateway']}/health"
    try:
        with caplog.at_level(logging.INFO, logger="ec2soap.ops"):
            answer = requests.get(url, timeout=60)
            again = requests.get(url, timeout=60)
        assert answer.status_code == 503 and again.status_code == 503
        assert answer.json() == {"status": "error", "database": {"status": "ok"}, "cloudstack": {"status": "error"},
                                 "services": answer.json()["services"]}
        for leak in (str(dead), "127.0.0.1", "client/api", "Error", "Exception", "refused", "CloudStack"):
            assert leak not in answer.text, leak
        # The operator reads the reason in the log, once (not on every probe), and never a secret.
        failing = [r.getMessage() for r in caplog.records if "health: cloudstack is failing" in r.getMessage()]
        assert len(failing) == 1 and failing[0].split("failing: ", 1)[1]
        assert settings.cloudstack_admin_secret_key not in caplog.text
        detailed = requests.get(url, headers={"X-Health-Token": TOKEN}, timeout=60).json()
        assert detailed["cloudstack"]["status"] == "error" and detailed["cloudstack"]["error"]
        assert settings.cloudstack_admin_secret_key not in json.dumps(detailed)
    finally:
        in_reactor(running.stop)
        running.store.close()


# -- start-up checks --------------------------------------------------------------------------------------------

def test_a_bad_certificate_stops_the_start_and_config_check_names_it(tmp_path: Path, reactor: Any,
                                                                     in_reactor: Callable[..., Any],
                                                                     pki: Pki) -> None:
    from ec2soap import server

    expired = make_pki(tmp_path / "old", days=-1, start_days_ago=30)
    cases = [(pki.cert, pki.other_key, "is not the private key of the certificate"),
             (tmp_path / "missing.pem", pki.key, "cannot read tls_cert"),
             (pki.key, pki.key, "holds no PEM certificate"),
             (pki.cert, pki.cert, "holds no PEM private key"),
             (expired.cert, expired.key, "expired on")]
    for cert, key, message in cases:
        settings = Settings(host="127.0.0.1", port=0, tls_port=0, tls_cert=str(cert), tls_key=str(key),
                            simulator_port=-1, integration_port=-1, data_dir=str(tmp_path / "data"), db_threads=1)
        with pytest.raises(server.StartupError, match=message):
            in_reactor(server.start, settings, reactor)
    config = tmp_path / "ec2soap.toml"
    config.write_text(f'tls_port = 8443\ntls_cert = "{pki.cert}"\ntls_key = "{pki.other_key}"\n'
                      f'data_dir = "{tmp_path / "data"}"\n')
    done = subprocess.run([sys.executable, "-m", "ec2soap", "config", "check", "--config", str(config)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert re.search(r"^PROBLEM  tls_key .* is not the private key of the certificate", done.stdout, re.M), done.stdout
    config.write_text(f'tls_port = 8443\ntls_cert = "{pki.cert}"\ntls_key = "{pki.key}"\n'
                      f'data_dir = "{tmp_path / "data"}"\ntrusted_proxies = ["10.0.0.0/8", "::1"]\n')
    done = subprocess.run([sys.executable, "-m", "ec2soap", "config", "check", "--config", str(config)],
                          capture_output=True, text=True, timeout=120)
    assert re.search(r"^ok       tls_cert .*CN=localhost, valid until", done.stdout, re.M), done.stdout
    assert "10.0.0.0/8, ::1" in done.stdout and "tls_key" not in done.stdout
    # Usable, but to be fixed: a key others can read, a certificate about to expire.
    soon = make_pki(tmp_path / "soon", days=3)
    soon.key.chmod(0o644)
    config.write_text(f'tls_port = 8443\ntls_cert = "{soon.cert}"\ntls_key = "{soon.key}"\n'
                      f'data_dir = "{tmp_path / "data"}"\n')
    done = subprocess.run([sys.executable, "-m", "ec2soap", "config", "check", "--config", str(config)],
                          capture_output=True, text=True, timeout=120)
    assert re.search(r"^note     tls_key .* is readable by other users", done.stdout, re.M), done.stdout
    assert re.search(r"^note     tls_cert .* expires in [23] day\(s\)", done.stdout, re.M), done.stdout


def test_https_only_with_port_minus_one(tmp_path: Path, reactor: Any, in_reactor: Callable[..., Any],
                                        pki: Pki) -> None:
    from ec2soap import server

    settings = Settings(host="127.0.0.1", port=-1, tls_port=0, tls_cert=str(pki.cert), tls_key=str(pki.key),
                        simulator_port=0, integration_port=-1, data_dir=str(tmp_path), db_threads=2)
    running = in_reactor(server.start, settings, reactor)
    try:
        assert set(running.ports) == {"simulator", "gateway_tls"}
        context = ssl.create_default_context(cafile=str(pki.ca))
        with socket.create_connection(("127.0.0.1", running.ports["gateway_tls"]), timeout=30) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                assert tls.version() in ("TLSv1.2", "TLSv1.3")
                tls.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                answer = b""
                while chunk := tls.recv(65536):
                    answer += chunk
        assert answer.startswith(b"HTTP/1.1 200")
    finally:
        in_reactor(running.stop)
        running.store.close()
