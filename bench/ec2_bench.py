"""EC2 Query benchmark: ec2soap (embedded default) against moto's server, measured in the same run.

    python bench/ec2_bench.py [--seconds 10] [--instances 50] [--concurrency 1 16]

Workloads, each at every concurrency level, with a raw SigV4-signed HTTP client (botocore's signer, plain
http.client keep-alive connections, one per thread):
  describe  DescribeInstances over N running instances
  cycle     RunInstances (1 instance) followed by TerminateInstances of it
Reports req/s, p50 and p99 latency for both servers and the ratio ours/moto. Not a test: run by hand.
Needs moto's server (`pip install 'moto[server]'`).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Callable

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REGION = "us-east-1"
VERSION = "2016-11-15"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


@dataclass
class Target:
    name: str
    port: int
    access_key: str
    secret_key: str
    image_id: str
    instance_type: str
    process: subprocess.Popen

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Client:
    """One keep-alive connection; each call signs a form POST with SigV4 and reads the whole answer."""

    def __init__(self, target: Target):
        self.target = target
        self.conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=120)
        self.creds = Credentials(target.access_key, target.secret_key)

    def call(self, action: str, **params: str) -> str:
        body = urllib.parse.urlencode({"Action": action, "Version": VERSION, **params})
        request = AWSRequest(method="POST", url=f"http://127.0.0.1:{self.target.port}/", data=body,
                             headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        SigV4Auth(self.creds, "ec2", REGION).add_auth(request)
        self.conn.request("POST", "/", body=body, headers=dict(request.headers.items()))
        response = self.conn.getresponse()
        data = response.read().decode()
        if response.status != 200:
            raise RuntimeError(f"{self.target.name} {action}: {response.status} {data[:300]}")
        return data


def start_ours(workdir: str) -> Target:
    port, sim_port, integration = free_port(), free_port(), free_port()
    env = {**os.environ, "EC2SOAP_SIMULATOR_JOB_SECONDS": "0.05", "EC2SOAP_JOB_POLL_INTERVAL": "0.02",
           "EC2SOAP_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([sys.executable, "-m", "ec2soap", "serve", "--data-dir", workdir, "--host",
                                "127.0.0.1", "--port", str(port), "--simulator-port", str(sim_port),
                                "--integration-port", str(integration)], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    wait_port(port)
    # The admin account has no instance limit; its keys come from the integration port.
    base = f"http://127.0.0.1:{integration}/client/api?response=json&"
    users = json.load(urllib.request.urlopen(base + "command=listUsers&listall=true"))["listusersresponse"]["user"]
    apikey = next(u["apikey"] for u in users if u["username"] == "admin")
    secret = json.load(urllib.request.urlopen(base + "command=getUser&userapikey=" + urllib.parse.quote(apikey)))[
        "getuserresponse"]["user"]["secretkey"]
    target = Target("ec2soap", port, apikey, secret, "", "m1.small", process)
    images = Client(target).call("DescribeImages")
    target.image_id = re.findall(r"<imageId>([^<]+)</imageId>", images)[0]
    return target


def start_moto() -> Target:
    port = free_port()
    executable = shutil.which("moto_server") or os.path.join(os.path.dirname(sys.executable), "moto_server")
    process = subprocess.Popen([executable, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    wait_port(port)
    target = Target("moto", port, "AKIDEXAMPLE", "secret", "", "m1.small", process)
    images = Client(target).call("DescribeImages")
    target.image_id = re.findall(r"<imageId>([^<]+)</imageId>", images)[0]
    return target


def launch(target: Target, count: int) -> list[str]:
    client = Client(target)
    ids: list[str] = []
    while len(ids) < count:
        batch = min(10, count - len(ids))
        answer = client.call("RunInstances", ImageId=target.image_id, MinCount=str(batch), MaxCount=str(batch),
                             InstanceType=target.instance_type)
        ids += re.findall(r"<instanceId>([^<]+)</instanceId>", answer)
    # Wait until every instance is running, so both servers describe the same steady state.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        states = re.findall(r"<instanceState>\s*<code>(\d+)</code>", client.call("DescribeInstances"))
        if len(states) >= count and all(s == "16" for s in states):
            break
        time.sleep(0.2)
    return ids


def measure(target: Target, work: Callable[[Client], None], concurrency: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker() -> None:
        client = Client(target)
        mine: list[float] = []
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                work(client)
            except Exception as exc:  # reported, not hidden
                with lock:
                    errors.append(str(exc)[:200])
                return
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    began = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    latencies.sort()
    pick = (lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000) if latencies else (
        lambda q: float("nan"))
    return {"requests": len(latencies), "rps": len(latencies) / elapsed, "p50_ms": pick(0.50),
            "p99_ms": pick(0.99), "errors": errors[:3]}


def describe(client: Client) -> None:
    client.call("DescribeInstances")


def cycle(client: Client) -> None:
    answer = client.call("RunInstances", ImageId=client.target.image_id, MinCount="1", MaxCount="1",
                         InstanceType=client.target.instance_type)
    instance = re.findall(r"<instanceId>([^<]+)</instanceId>", answer)[0]
    client.call("TerminateInstances", **{"InstanceId.1": instance})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--instances", type=int, default=50)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--workloads", nargs="+", default=["describe", "cycle"])
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="ec2soap-bench-")
    targets = [start_ours(workdir), start_moto()]
    results = []
    try:
        for target in targets:
            launch(target, args.instances)
        for workload in args.workloads:
            for concurrency in args.concurrency:
                for target in targets:
                    fn = describe if workload == "describe" else cycle
                    row = {"workload": workload, "concurrency": concurrency, "server": target.name,
                           **measure(target, fn, concurrency, args.seconds)}
                    results.append(row)
                    print(json.dumps(row), flush=True)
    finally:
        for target in targets:
            target.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print("\nworkload   conc  ec2soap req/s  p50 ms  p99 ms |  moto req/s  p50 ms  p99 ms | ratio")
    for workload in args.workloads:
        for concurrency in args.concurrency:
            ours = next(r for r in results if r["workload"] == workload and r["concurrency"] == concurrency
                        and r["server"] == "ec2soap")
            moto = next(r for r in results if r["workload"] == workload and r["concurrency"] == concurrency
                        and r["server"] == "moto")
            ratio = ours["rps"] / moto["rps"] if moto["rps"] else float("nan")
            print(f"{workload:9} {concurrency:5} {ours['rps']:13.1f} {ours['p50_ms']:7.1f} {ours['p99_ms']:7.1f} |"
                  f" {moto['rps']:11.1f} {moto['p50_ms']:7.1f} {moto['p99_ms']:7.1f} | {ratio:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
