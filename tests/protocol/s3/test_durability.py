"""`ec2soap serve` as a subprocess: a 64 MiB upload and download in constant server memory (VmHWM), and a
kill -9 in the middle of an upload followed by a restart (no partial object, no orphan files)."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.protocol.conftest import GatewayServer, Keys
from tests.protocol.s3.conftest import boto3_client

MiB = 1024 * 1024
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/<pid>/status")


class Served:
    """One `ec2soap serve` process on DATA_DIR; keys are the demo user's, read from its banner."""

    def __init__(self, data_dir: Path):
        exe = Path(sys.executable).parent / "ec2soap"
        # --port 0: the server binds a free port itself and its banner names it (no probe to lose a race with).
        self.process = subprocess.Popen(
            [str(exe), "serve", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--simulator-port", "-1",
             "--integration-port", "-1", "--log-level", "WARNING", "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        fields = {}
        deadline = time.monotonic() + 60
        while "secret key" not in fields:
            line = self.process.stdout.readline()
            if not line or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("ec2soap serve did not start: " + line)
            name, _, value = line.strip().partition("  ")
            fields[name.strip()] = value.strip()
        self.port = int(re.match(r"http://127\.0\.0\.1:(\d+)/", fields["S3"]).group(1))
        self.keys = Keys(fields["access key"], fields["secret key"], "demo")
        self.url = f"http://127.0.0.1:{self.port}"

    def client(self):
        return boto3_client(GatewayServer(None, self.url, ""), self.keys)

    def peak_rss(self) -> int:
        """The process's high-water resident set (VmHWM), in bytes."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmHWM")

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process.stdout.close()


def wait_for_temp_file(tmp_dir: Path, size: int, what: str, deadline: float = 60.0) -> None:
    """Poll TMP_DIR until some temp file there holds SIZE bytes (a condition, not a sleep: the deadline only
    bounds a hang, so it is generous for a loaded 2-core CI machine). A temp file may vanish between the
    listing and its stat (an upload finishing or aborting): that one is skipped, not an error."""
    def sizes() -> Iterator[int]:
        for entry in tmp_dir.iterdir():
            try:
                yield entry.stat().st_size
            except FileNotFoundError:
                continue
    end = time.monotonic() + deadline
    while not any(n >= size for n in sizes()):
        assert time.monotonic() < end, f"{what} never reached the disk ({sorted(sizes())} bytes in temp files)"
        time.sleep(0.05)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = Served(tmp_path / "data")
    yield server
    server.stop()


class Pattern:
    """SIZE bytes of a repeating pattern, as a read-only file object (no copy held by the test)."""

    def __init__(self, size: int):
        self.size, self.pos = size, 0
        self.block = bytes(range(256)) * 4096

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.pos if n is None or n < 0 else min(n, self.size - self.pos)
        start = self.pos % len(self.block)
        out = (self.block[start:] + self.block)[:n] if n <= len(self.block) else \
            (self.block * (n // len(self.block) + 2))[start:start + n]
        self.pos += n
        return out

    def seek(self, pos: int, whence: int = 0) -> int:
        self.pos = pos if whence == 0 else (self.pos + pos if whence == 1 else self.size + pos)
        return self.pos

    def tell(self) -> int:
        return self.pos


def test_large_upload_and_download_in_constant_memory(served: Served) -> None:
    s3 = served.client()
    s3.create_bucket(Bucket="big")
    s3.put_object(Bucket="big", Key="warm-up", Body=b"x" * MiB)
    s3.get_object(Bucket="big", Key="warm-up")["Body"].read()
    before = served.peak_rss()
    size = 64 * MiB
    s3.put_object(Bucket="big", Key="blob", Body=Pattern(size))
    after_put = served.peak_rss()
    body = s3.get_object(Bucket="big", Key="blob")["Body"]
    received = 0
    for chunk in body.iter_chunks(1024 * 1024):
        received += len(chunk)
    after_get = served.peak_rss()
    print(f"\nserver peak RSS: {before / MiB:.1f} MiB before, {after_put / MiB:.1f} MiB after a 64 MiB PUT, "
          f"{after_get / MiB:.1f} MiB after the GET")
    assert received == size
    assert after_put - before < 16 * MiB
    assert after_get - before < 16 * MiB


def _signed_put_headers(served: Served, bucket: str, key: str, length: int) -> dict:
    request = AWSRequest(method="PUT", url=f"{served.url}/{bucket}/{key}",
                         headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD", "Content-Length": str(length)})
    SigV4Auth(Credentials(served.keys.access_key, served.keys.secret_key), "s3", "us-east-1").add_auth(request)
    return dict(request.prepare().headers)


def test_kill_9_mid_upload_then_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = Served(data)
    try:
        s3 = first.client()
        s3.create_bucket(Bucket="crash")
        s3.put_object(Bucket="crash", Key="victim", Body=b"the old version")
        size = 32 * MiB
        headers = _signed_put_headers(first, "crash", "victim", size)
        sock = socket.create_connection(("127.0.0.1", first.port))
        head = f"PUT /crash/victim HTTP/1.1\r\nHost: 127.0.0.1:{first.port}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items() if k.lower() != "host") + "\r\n"
        sock.sendall(head.encode())
        block = b"n" * MiB
        for _ in range(size // MiB // 2):
            sock.sendall(block)
        tmp_dir = data / "objects" / "tmp"
        wait_for_temp_file(tmp_dir, 8 * MiB, "the upload")
        first.kill()
        sock.close()
    finally:
        first.stop()
    assert list(tmp_dir.iterdir()), "the crash should have left a temp file behind"
    second = Served(data)
    try:
        s3 = second.client()
        assert s3.get_object(Bucket="crash", Key="victim")["Body"].read() == b"the old version"
        assert [o["Key"] for o in s3.list_objects_v2(Bucket="crash")["Contents"]] == ["victim"]
        assert list(tmp_dir.iterdir()) == []
        blobs = [p for p in (data / "objects" / "blobs").rglob("*") if p.is_file()]
        assert len(blobs) == 1  # the old version's, and nothing else
        assert requests.get(f"{second.url}/crash/victim").status_code == 403
    finally:
        second.stop()
