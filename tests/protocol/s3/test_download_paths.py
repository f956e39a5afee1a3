"""GetObject's byte paths (s3.downloads.BlobProducer) through boto3 and a raw socket against the real gateway:
the prefix read with the lookup (BlobReader.prefetch), sendfile(2) from the pool over plain TCP (in budgets of
bytes per pool hop), the chunked path through the transport (SENDFILE off), and a client that stops reading
for longer than send_to's stall limit. Every body is compared with what was PUT."""
from __future__ import annotations

import hashlib
import os
import socket
import time
from typing import Any, Iterator

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from ec2soap.s3 import downloads, object_store
from tests.protocol.conftest import GatewayServer, Keys, make_user
from tests.protocol.s3.conftest import boto3_client

MiB = 1024 * 1024
PREFETCH = object_store.PREFETCH_SIZE
SIZES = [0, 1, PREFETCH - 1, PREFETCH, PREFETCH + 1, 3 * MiB + 17, 40 * MiB + 3]  # 40 MiB: over a hop's budget


@pytest.fixture(scope="module")
def bucket(gateway_server: GatewayServer) -> Iterator[tuple[Any, Keys, dict]]:
    keys = make_user(gateway_server, "dl")
    client = boto3_client(gateway_server, keys)
    client.create_bucket(Bucket="downloads")
    bodies = {}
    for size in SIZES:
        body = os.urandom(size)
        client.put_object(Bucket="downloads", Key=f"o{size}", Body=body)
        bodies[size] = body
    yield client, keys, bodies


SENT: list[int] = []  # bytes each send_to call sent, in the test running


@pytest.fixture(params=["sendfile", "chunked"])
def path(request: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr(downloads, "SENDFILE", request.param == "sendfile")
    real = object_store.BlobReader.send_to

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = real(self, *args, **kwargs)
        SENT.append(result[0])
        return result
    monkeypatch.setattr(object_store.BlobReader, "send_to", counted)
    SENT.clear()
    yield request.param
    SENT.clear()


@pytest.mark.parametrize("size", SIZES)
def test_whole_object_comes_back_as_put(bucket: tuple[Any, Keys, dict], path: str, size: int) -> None:
    client, _, bodies = bucket
    got = client.get_object(Bucket="downloads", Key=f"o{size}")
    data = got["Body"].read()
    assert got["ContentLength"] == size and len(data) == size
    assert hashlib.sha256(data).digest() == hashlib.sha256(bodies[size]).digest()
    if path == "chunked" or size <= PREFETCH:
        assert SENT == []  # all of it read with the lookup, or through the transport
    else:
        assert sum(SENT) == size - PREFETCH  # the prefix went with the headers, the rest by sendfile
        assert len(SENT) == (1 if size < 32 * MiB else 2)  # a hop's budget is 32 MiB


@pytest.mark.parametrize("first,last", [(0, 0), (PREFETCH - 5, PREFETCH + 5), (MiB, 3 * MiB + 16),
                                        (5, 40 * MiB + 2)])
def test_ranges(bucket: tuple[Any, Keys, dict], path: str, first: int, last: int) -> None:
    client, _, bodies = bucket
    size = 40 * MiB + 3 if last >= 3 * MiB + 17 else 3 * MiB + 17
    got = client.get_object(Bucket="downloads", Key=f"o{size}", Range=f"bytes={first}-{last}")
    assert got["ContentRange"] == f"bytes {first}-{last}/{size}"
    assert got["Body"].read() == bodies[size][first:last + 1]


def test_multipart_object_with_a_small_first_part(bucket: tuple[Any, Keys, dict], path: str) -> None:
    """Parts are separate blobs: the prefix read stops at the first part's end (smaller than the prefix),
    the rest crosses from blob to blob."""
    client, _, _ = bucket
    if not hasattr(test_multipart_object_with_a_small_first_part, "parts"):
        upload = client.create_multipart_upload(Bucket="downloads", Key="mp")["UploadId"]
        parts = [os.urandom(5 * MiB), os.urandom(5 * MiB + 11), os.urandom(1000)]
        done = [{"PartNumber": i + 1, "ETag": client.upload_part(Bucket="downloads", Key="mp", UploadId=upload,
                                                                 PartNumber=i + 1, Body=p)["ETag"]}
                for i, p in enumerate(parts)]
        client.complete_multipart_upload(Bucket="downloads", Key="mp", UploadId=upload,
                                         MultipartUpload={"Parts": done})
        test_multipart_object_with_a_small_first_part.parts = parts  # type: ignore[attr-defined]
    whole = b"".join(test_multipart_object_with_a_small_first_part.parts)  # type: ignore[attr-defined]
    assert client.get_object(Bucket="downloads", Key="mp")["Body"].read() == whole
    # From 1000 bytes before the first part's end: a prefix of 1000 bytes, then two more blobs.
    first = 5 * MiB - 1000
    got = client.get_object(Bucket="downloads", Key="mp", Range=f"bytes={first}-")
    assert got["Body"].read() == whole[first:]


def _signed_get(server: GatewayServer, keys: Keys, key: str) -> bytes:
    port = int(server.url.rsplit(":", 1)[1])
    request = AWSRequest(method="GET", url=f"http://127.0.0.1:{port}/downloads/{key}")
    request.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    S3SigV4Auth(Credentials(keys.access_key, keys.secret_key), "s3", "us-east-1").add_auth(request)
    lines = [f"GET /downloads/{key} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{name}: {value}" for name, value in request.headers.items() if name.lower() != "host"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _read_response(sock: socket.socket, pause_after: int = -1, pause: float = 0.0) -> tuple[bytes, bytes]:
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before the headers"
        buffer += chunk
    head, _, body = buffer.partition(b"\r\n\r\n")
    length = int([line.split(b":", 1)[1] for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:")][0])
    paused = False
    while len(body) < length:
        if not paused and pause_after >= 0 and len(body) >= pause_after:
            time.sleep(pause)  # the socket's buffers fill up and the server waits for us
            paused = True
        chunk = sock.recv(min(1 << 20, length - len(body)))
        assert chunk, f"connection closed after {len(body)} of {length} bytes"
        body += chunk
    return head, body


def test_client_that_stops_reading_gets_every_byte_on_the_same_connection(
        gateway_server: GatewayServer, bucket: tuple[Any, Keys, dict], path: str) -> None:
    """A pause longer than send_to's stall limit (0.5 s): the download goes on through the transport, then
    the connection serves a second request."""
    _, keys, bodies = bucket
    size = 40 * MiB + 3
    with socket.create_connection(("127.0.0.1", int(gateway_server.url.rsplit(":", 1)[1]))) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(_signed_get(gateway_server, keys, f"o{size}"))
        head, body = _read_response(sock, pause_after=2 * MiB, pause=1.5)
        assert head.startswith(b"HTTP/1.1 200") and body == bodies[size]
        if path == "sendfile":  # sendfile gave up while the socket stayed full; a chunk went the other way
            assert 0 < sum(SENT) <= size - PREFETCH - object_store.CHUNK_SIZE
        sock.sendall(_signed_get(gateway_server, keys, f"o{PREFETCH + 1}"))
        head, body = _read_response(sock)
        assert head.startswith(b"HTTP/1.1 200") and body == bodies[PREFETCH + 1]


def test_client_gone_mid_download_leaves_the_server_serving(
        gateway_server: GatewayServer, bucket: tuple[Any, Keys, dict], path: str) -> None:
    """Eight connections (the pool's threads) closed in the middle of 40 MiB downloads: no pool thread stays
    stuck on them, the next GETs are answered whole."""
    client, keys, bodies = bucket
    size = 40 * MiB + 3
    port = int(gateway_server.url.rsplit(":", 1)[1])
    for _ in range(8):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(_signed_get(gateway_server, keys, f"o{size}"))
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        sock.close()
    for _ in range(3):
        assert client.get_object(Bucket="downloads", Key=f"o{size}")["Body"].read() == bodies[size]
