"""`ec2soap serve --workers N` with HTTPS: the supervisor opens the HTTP and the HTTPS socket, every worker adopts
both (TLS on the second), and the access log of whichever worker answers names the client behind a trusted
proxy. A bad certificate stops the supervisor before any worker starts."""
from __future__ import annotations

import http.client
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.system.certs import make_pki
from tests.system.gateways import Process, wait_until


def test_workers_serve_https_and_http_on_one_certificate(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    service = Process(["serve", "--workers", "2", "--data-dir", str(tmp_path / "data"), "--host", "127.0.0.1",
                       "--port", "0", "--tls-port", "0", "--tls-cert", str(pki.cert), "--tls-key", str(pki.key),
                       "--trusted-proxies", "127.0.0.2", "--simulator-port", "0", "--integration-port", "0"],
                      tmp_path / "serve.log")
    try:
        assert len(service.worker_pids) == 2
        https_port = int(re.search(r"EC2 Query\s+https://[^:]+:(\d+)/", service.banner).group(1))
        https = f"https://localhost:{https_port}"

        def fresh(kind: str, endpoint: str = https) -> Any:  # a new connection: the kernel picks the worker
            import boto3
            from botocore.config import Config

            return boto3.client(kind, endpoint_url=endpoint, verify=str(pki.ca), region_name="cloudstack",
                                aws_access_key_id=service.access_key, aws_secret_access_key=service.secret_key,
                                config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))

        for _ in range(4):
            zones = fresh("ec2").describe_availability_zones()["AvailabilityZones"]
            assert zones and zones[0]["State"] == "available"
        s3 = fresh("s3")
        s3.create_bucket(Bucket="tls-workers")
        for i in range(4):
            body = f"object {i} ".encode() * 5000
            fresh("s3").put_object(Bucket="tls-workers", Key=f"k{i}", Body=body)
            # Written over HTTPS by one worker, read over plain HTTP by whichever answers.
            got = fresh("s3", service.gateway).get_object(Bucket="tls-workers", Key=f"k{i}")
            assert got["Body"].read() == body

        conn = http.client.HTTPConnection("127.0.0.1", service.ports["EC2 Query"], timeout=60,
                                          source_address=("127.0.0.2", 0))
        conn.request("GET", "/health", headers={"X-Forwarded-For": "198.51.100.77"})
        assert conn.getresponse().status == 200
        conn.close()
        wait_until(lambda: re.search(r'"198\.51\.100\.77" - - .*"GET /health HTTP/1\.1" 200 .* via="127\.0\.0\.2"',
                                     service.output()), timeout=30, what="the access log line")
        assert service.stop() == 0, service.output()
        assert "Traceback" not in service.output()
    finally:
        service.kill()


def test_workers_refuse_a_key_that_is_not_the_certificates(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    done = subprocess.run([sys.executable, "-m", "ec2soap", "serve", "--workers", "2", "--data-dir",
                           str(tmp_path / "data"), "--host", "127.0.0.1", "--port", "0", "--tls-port", "0",
                           "--tls-cert", str(pki.cert), "--tls-key", str(pki.other_key), "--simulator-port", "0",
                           "--integration-port", "0"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "cannot serve HTTPS: tls_key" in done.stderr and "is not the private key" in done.stderr
    assert "worker 1 started" not in done.stdout + done.stderr
