"""A streamed upload refused while its body is still arriving, without `Expect: 100-continue`, is answered at
once (S3's error document, `Connection: close`); the rest of its body is read and dropped, up to
DRAIN_BYTES, and the connection then closes without serving another request (ec2soap.s3.streaming._Linger).
"""
from __future__ import annotations

import logging
import socket
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError

from ec2soap.s3.streaming import DRAIN_BYTES, DRAIN_SECONDS
from tests.protocol.conftest import GatewayServer, Keys
from tests.protocol.s3.conftest import boto3_client
from tests.protocol.s3.test_durability import Pattern, _signed_put_headers

MiB = 1024 * 1024


@pytest.fixture
def owner_and_intruder(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> tuple[str, Keys, Keys]:
    """A bucket of one user, and a second user who may not write to it."""
    owner, intruder = new_user(), new_user()
    bucket = f"early-{owner.account}"
    boto3_client(gateway_server, owner).create_bucket(Bucket=bucket)
    return bucket, owner, intruder


def _tmp_dir(gateway_server: GatewayServer) -> Path:
    return Path(gateway_server.running.settings.data_dir) / "objects" / "tmp"


def _no_temp_files(gateway_server: GatewayServer) -> None:
    """The store's temp directory empties (an aborted body is removed on the thread pool, just after)."""
    tmp = _tmp_dir(gateway_server)
    end = time.monotonic() + 10
    while tmp.exists() and list(tmp.iterdir()):
        assert time.monotonic() < end, f"temp files left behind: {list(tmp.iterdir())}"
        time.sleep(0.05)


def _connect(gateway_server: GatewayServer, path: str, headers: dict) -> socket.socket:
    """A raw connection with the request line and HEADERS of a PUT sent; no body byte yet."""
    port = int(gateway_server.url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items() if k.lower() != "host") + "\r\n"
    sock.sendall(head.encode())
    return sock


def _read_response(sock: socket.socket) -> tuple[int, dict, bytes]:
    """One whole response (status, lower-case headers, body by its Content-Length) as the client reads it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed before a whole response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers["content-length"])
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "the connection closed inside the response body"
        body += chunk
    assert len(body) == length, f"more than one response: {body[length:]!r}"
    return status, headers, body


def _rest_until_closed(sock: socket.socket) -> bytes:
    """Everything the server still sends until it closes (a reset after its close counts as closed)."""
    got = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return got
            got += chunk
    except ConnectionResetError:
        return got


@pytest.mark.parametrize("origin", [None, "https://app.example.com"], ids=["plain", "browser-origin"])
def test_refused_from_the_headers_is_answered_before_the_body_ends(gateway_server, owner_and_intruder, caplog,
                                                                   origin) -> None:
    """With an Origin the answer waits for the bucket's CORS rules (S3Resource.respond_early), still before the
    body's end."""
    caplog.set_level(logging.INFO, logger="ec2soap.s3.resource")
    bucket, owner, intruder = owner_and_intruder
    size = 32 * MiB
    headers = _signed_put_headers(SimpleNamespace(url=gateway_server.url, keys=intruder), bucket, "big", size)
    if origin:
        headers["Origin"] = origin
    assert not any(k.lower() == "expect" for k in headers)
    sock = _connect(gateway_server, f"/{bucket}/big", headers)
    try:
        sock.sendall(b"a" * MiB)
        started = time.monotonic()
        status, answer, body = _read_response(sock)  # with 31 MiB of the body still unsent
        assert time.monotonic() - started < 10
        assert status == 403
        assert b"<Code>AccessDenied</Code>" in body
        assert answer["connection"] == "close"
        assert answer["content-type"] == "application/xml"
        # Logged as every S3 request is (the front door never serves this one: its body is not read).
        assert any(f"S3 PUT /{bucket}/big → 403" in r.getMessage() for r in caplog.records)
        # The rest of the body is read (no reset while it is sent), and what follows it is never served.
        for _ in range(size // MiB - 1):
            sock.sendall(b"a" * MiB)
        sock.sendall(f"GET /{bucket} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert _rest_until_closed(sock) == b""
    finally:
        sock.close()
    owner_s3 = boto3_client(gateway_server, owner)
    assert "Contents" not in owner_s3.list_objects_v2(Bucket=bucket)
    _no_temp_files(gateway_server)


def test_a_body_past_the_budget_is_cut_after_the_answer(gateway_server, owner_and_intruder) -> None:
    """A client that goes on sending a huge body after the answer is cut off after about DRAIN_BYTES more."""
    bucket, _, intruder = owner_and_intruder
    size = 64 * 1024 * MiB  # never sent: the server closes long before
    headers = _signed_put_headers(SimpleNamespace(url=gateway_server.url, keys=intruder), bucket, "huge", size)
    sock = _connect(gateway_server, f"/{bucket}/huge", headers)
    try:
        sock.sendall(b"b" * MiB)
        status, _, body = _read_response(sock)
        assert status == 403 and b"<Code>AccessDenied</Code>" in body
        started, sent = time.monotonic(), MiB
        block = b"b" * MiB
        with pytest.raises((BrokenPipeError, ConnectionResetError, socket.timeout)):
            while sent < size:
                sock.sendall(block)
                sent += len(block)
        elapsed = time.monotonic() - started
    finally:
        sock.close()
    print(f"\ncut after {sent / MiB:.0f} MiB more, {elapsed:.2f} s after the answer")
    assert sent < DRAIN_BYTES + 64 * MiB  # the budget, and what the two sockets' buffers hold
    assert elapsed < DRAIN_SECONDS + 5


def _without_expect(client: Any, seen: dict) -> None:
    """boto3 sends `Expect: 100-continue` with every PutObject body; take it out, as clients without it send."""
    def before_send(request: Any, **kwargs: Any) -> None:
        del request.headers["Expect"]
        seen["headers"] = dict(request.headers)
    client.meta.events.register("before-send.s3.PutObject", before_send)


def test_boto3_without_expect_reads_access_denied(gateway_server, owner_and_intruder) -> None:
    bucket, owner, intruder = owner_and_intruder
    s3 = boto3_client(gateway_server, intruder, request_checksum_calculation="when_required")
    seen: dict = {}
    _without_expect(s3, seen)
    started = time.monotonic()
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=bucket, Key="several-mb", Body=b"c" * (8 * MiB))
    elapsed = time.monotonic() - started
    assert "expect" not in {k.lower() for k in seen["headers"]}
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert elapsed < 10
    assert "Contents" not in boto3_client(gateway_server, owner).list_objects_v2(Bucket=bucket)
    _no_temp_files(gateway_server)


def test_boto3_body_past_the_budget_still_reads_access_denied(gateway_server, owner_and_intruder) -> None:
    """urllib3 reads the answer only once its send ends: past the budget the server closes, urllib3 takes the
    broken pipe (or reset) as the end of its send and reads the answer the server wrote before."""
    bucket, _, intruder = owner_and_intruder
    s3 = boto3_client(gateway_server, intruder, request_checksum_calculation="when_required")
    _without_expect(s3, {})
    size = DRAIN_BYTES + 192 * MiB
    body = Pattern(size)
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=bucket, Key="past-budget", Body=body)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    print(f"\nboto3 read {body.pos / MiB:.0f} MiB of the {size / MiB:.0f} MiB body before the cut")
    assert body.pos < size  # it stopped sending: the server did not read it all


def _chunked_headers(gateway_server: GatewayServer, keys: Keys, bucket: str, key: str, length: int,
                     decoded: int) -> dict:
    """A signed aws-chunked PUT (STREAMING-UNSIGNED-PAYLOAD-TRAILER) that declares DECODED payload bytes."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="PUT", url=f"{gateway_server.url}/{bucket}/{key}",
                         headers={"X-Amz-Content-SHA256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                                  "Content-Encoding": "aws-chunked", "Content-Length": str(length),
                                  "X-Amz-Decoded-Content-Length": str(decoded)})
    SigV4Auth(Credentials(keys.access_key, keys.secret_key), "s3", "us-east-1").add_auth(request)
    return dict(request.prepare().headers)


def test_a_failure_mid_body_is_answered_at_once_and_leaves_nothing(gateway_server, owner_and_intruder) -> None:
    """The body carries more payload than its x-amz-decoded-content-length: decided at the first chunk, with
    most of the body unsent; no object, no temp file, and the old version stays."""
    bucket, owner, _ = owner_and_intruder
    owner_s3 = boto3_client(gateway_server, owner)
    owner_s3.put_object(Bucket=bucket, Key="kept", Body=b"the old version")
    chunk = b"d" * MiB
    framed = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    length = 24 * len(framed)
    headers = _chunked_headers(gateway_server, owner, bucket, "kept", length, decoded=1000)
    sock = _connect(gateway_server, f"/{bucket}/kept", headers)
    try:
        sock.sendall(framed * 2)
        status, answer, body = _read_response(sock)  # 22 of the 24 chunks unsent
        assert status == 400
        assert b"<Code>InvalidArgument</Code>" in body and b"x-amz-decoded-content-length" in body
        assert answer["connection"] == "close"
        _no_temp_files(gateway_server)  # dropped while the body still arrives
        for _ in range(22):
            sock.sendall(framed)
        assert _rest_until_closed(sock) == b""
    finally:
        sock.close()
    assert owner_s3.get_object(Bucket=bucket, Key="kept")["Body"].read() == b"the old version"
    assert [o["Key"] for o in owner_s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["kept"]
    _no_temp_files(gateway_server)


def test_the_whole_body_in_before_the_refusal_keeps_the_connection(gateway_server, owner_and_intruder) -> None:
    """A small body sent with its headers (one write, one read on the server) is all in before the refusal
    is decided: answered in order, as before, and the connection serves the next request."""
    bucket, _, intruder = owner_and_intruder
    headers = _signed_put_headers(SimpleNamespace(url=gateway_server.url, keys=intruder), bucket, "small", 5)
    port = int(gateway_server.url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        head = f"PUT /{bucket}/small HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items() if k.lower() != "host") + "\r\n"
        sock.sendall(head.encode() + b"hello")
        status, answer, body = _read_response(sock)
        assert status == 403 and b"<Code>AccessDenied</Code>" in body
        assert answer.get("connection") != "close"
        sock.sendall(f"GET /{bucket}/small HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        status, _, body = _read_response(sock)
        assert status == 403 and b"<Code>AccessDenied</Code>" in body  # anonymous, on the same connection
    finally:
        sock.close()


def test_a_slow_body_is_cut_after_the_time_budget(gateway_server, owner_and_intruder) -> None:
    """A client trickling its body after the answer is read from for DRAIN_SECONDS, then cut."""
    bucket, _, intruder = owner_and_intruder
    headers = _signed_put_headers(SimpleNamespace(url=gateway_server.url, keys=intruder), bucket, "slow", 1024 * MiB)
    sock = _connect(gateway_server, f"/{bucket}/slow", headers)
    try:
        sock.sendall(b"e" * 65536)
        status, _, body = _read_response(sock)
        assert status == 403 and b"<Code>AccessDenied</Code>" in body
        answered = time.monotonic()
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            while time.monotonic() - answered < DRAIN_SECONDS + 10:
                sock.sendall(b"e" * 4096)
                time.sleep(0.05)
        elapsed = time.monotonic() - answered
    finally:
        sock.close()
    print(f"\ncut {elapsed:.2f} s after the answer")
    assert DRAIN_SECONDS - 1 < elapsed < DRAIN_SECONDS + 5
