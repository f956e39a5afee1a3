"""Real `ec2soap` processes for system tests: started with their output in a log file (never a pipe that could
fill up), their banner parsed, stopped with SIGTERM; plus boto3 clients for them."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

EC2SOAP = [sys.executable, "-m", "ec2soap"]
START_TIMEOUT = 90.0


class Process:
    """A running `ec2soap serve` or `ec2soap simulator`, and what its banner said."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str] | None = None):
        self.args, self.log = args, log
        self._out = open(log, "ab")
        self.process = subprocess.Popen(EC2SOAP + args, stdout=self._out, stderr=subprocess.STDOUT,
                                        env={**os.environ, **(env or {})})
        self.banner = self._wait_for_banner()
        self.ports = {name: int(port) for name, port in
                      re.findall(r"(simulator|integration \(no auth\)|EC2 Query)\s+http://[^:]+:(\d+)", self.banner)}
        # The banner's own lines only: log lines printed beside it may speak of access keys too.
        keys = dict(re.findall(r"^\s+(access key|secret key)\s+(\S+)\s*$", self.banner, re.M))
        self.access_key, self.secret_key = keys.get("access key"), keys.get("secret key")
        self.worker_pids = [int(p) for p in re.findall(r"\d+", (re.findall(r"workers .*", self.banner) or [""])[0])[1:]]

    def _wait_for_banner(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            text = self.output()
            start = text.rfind("ec2soap ")
            banner = text[start:] if start >= 0 else ""
            if re.search(r"^  (export AWS_SHARED_CREDENTIALS_FILE|CloudStack  ).*\n", banner, re.M) and (
                    "--workers" not in self.args or re.search(r"^  workers .*\n", banner, re.M)):
                return banner
            if self.process.poll() is not None:
                raise AssertionError(f"ec2soap exited early ({self.process.returncode}):\n{text}")
            time.sleep(0.1)
        raise AssertionError("no banner:\n" + self.output())

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.ports['EC2 Query']}"

    @property
    def integration(self) -> str:
        return f"http://127.0.0.1:{self.ports['integration (no auth)']}/client/api"

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 90.0) -> int:
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self._out.close()

    def stop(self, timeout: float = 90.0) -> int:
        if self.process.poll() is None:
            self.terminate()
        return self.wait(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self._out.close()


def wait_until(predicate: Any, timeout: float = 60.0, interval: float = 0.2, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def integration_call(url: str, command: str, **params: Any) -> dict:
    reply = requests.get(url, params={"command": command, "response": "json", **params}, timeout=30)
    reply.raise_for_status()
    return next(iter(reply.json().values()))


def admin_keys(integration_url: str) -> tuple[str, str]:
    """The simulator's root admin keys, read as an operator would from the integration port: listUsers gives
    the api key, getUser the secret."""
    users = integration_call(integration_url, "listUsers", listall="true")["user"]
    admin = next(u for u in users if u.get("accounttype") == 1 and u.get("apikey"))
    secret = integration_call(integration_url, "getUser", userapikey=admin["apikey"])["user"]["secretkey"]
    return admin["apikey"], secret


def boto3_client(service: str, endpoint: str, access_key: str, secret_key: str, **config: Any) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(service, endpoint_url=endpoint, aws_access_key_id=access_key,
                        aws_secret_access_key=secret_key, region_name="cloudstack",
                        config=Config(retries={"max_attempts": 1}, connect_timeout=30, read_timeout=120,
                                      s3={"addressing_style": "path"}, **config))


def stored_blobs(objects_root: Path) -> set[str]:
    blobs = objects_root / "blobs"
    return {p.name for p in blobs.rglob("*") if p.is_file()} if blobs.exists() else set()


def temp_files(objects_root: Path) -> list[str]:
    tmp = objects_root / "tmp"
    return sorted(p.name for p in tmp.iterdir()) if tmp.exists() else []


def referenced_blobs(database_url: str) -> set[str]:
    from ec2soap.s3.metadata import MetadataStore
    from ec2soap.store import Store

    store = Store(database_url, 1)
    try:
        return store.run_sync(MetadataStore().referenced_blobs, readonly=True)
    finally:
        store.close()
