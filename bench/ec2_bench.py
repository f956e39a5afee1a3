"""EC2 Query benchmark: ec2soap (embedded default) against moto's server, measured in the same run.

    python bench/ec2_bench.py [--seconds 10] [--instances 50] [--concurrency 1 16]

Workloads, each at every concurrency level, with a raw SigV4-signed HTTP client (botocore's signer, plain
http.client keep-alive connections, one per thread):
  describe  DescribeInstances over N running instances
  cycle     RunInstances (1 instance) followed by TerminateInstances of it
Reports req/s, p50 and p99 latency for both servers and the ratio ours/moto, and the CloudStack calls ec2soap
made per iteration (its /metrics counters before and after). Not a test: run by hand.
Needs moto's server (`pip install 'moto[server]'`). bench/run.py runs this with everything else in one go;
its pieces (start_ours, start_simulator, start_moto, launch, measure) are importable.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Callable, Optional

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import alternating, closed_loop, free_port, moto_command, wait_port  # noqa: E402

__all__ = ["REGION", "VERSION", "Target", "Client", "start_ours", "start_simulator", "start_moto", "launch",
           "measure", "describe", "cycle", "free_port", "wait_port"]

REGION = "us-east-1"
VERSION = "2016-11-15"
# Short simulated jobs and polls: the benchmark measures the gateway, not CloudStack's job durations.
FAST_JOBS = {"EC2SOAP_SIMULATOR_JOB_SECONDS": "0.05", "EC2SOAP_JOB_POLL_INTERVAL": "0.02",
             "EC2SOAP_LOG_LEVEL": "WARNING"}


@dataclass
class Target:
    name: str
    port: int
    access_key: str
    secret_key: str
    image_id: str
    instance_type: str
    process: subprocess.Popen
    # Processes that serve this target besides `process` (a separate simulator), stopped with it.
    helpers: list = field(default_factory=list)

    def stop(self) -> None:
        for process in [self.process, *self.helpers]:
            if process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class Client:
    """One keep-alive connection; each call signs a form POST with SigV4 and reads the whole answer."""

    def __init__(self, target: Target):
        self.target = target
        self.conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=300)
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


def _admin_keys(integration: int) -> tuple[str, str]:
    """The simulator's admin keys (no instance limit), read from its unauthenticated integration port."""
    base = f"http://127.0.0.1:{integration}/client/api?response=json&"
    users = json.load(urllib.request.urlopen(base + "command=listUsers&listall=true"))["listusersresponse"]["user"]
    apikey = next(u["apikey"] for u in users if u["username"] == "admin")
    secret = json.load(urllib.request.urlopen(base + "command=getUser&userapikey=" + urllib.parse.quote(apikey)))[
        "getuserresponse"]["user"]["secretkey"]
    return apikey, secret


def _first_image(target: Target) -> Target:
    images = Client(target).call("DescribeImages")
    target.image_id = re.findall(r"<imageId>([^<]+)</imageId>", images)[0]
    return target


def start_simulator(workdir: str) -> tuple[subprocess.Popen, str, tuple[str, str]]:
    """`ec2soap simulator` alone, in its own process and data dir → (process, its API URL, admin keys)."""
    port, integration = free_port(), free_port()
    process = subprocess.Popen([sys.executable, "-m", "ec2soap", "simulator", "--data-dir",
                                os.path.join(workdir, "simulator"), "--host", "127.0.0.1", "--simulator-port",
                                str(port), "--integration-port", str(integration)],
                               env={**os.environ, **FAST_JOBS}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(integration, process=process)
    wait_port(port, process=process)
    return process, f"http://127.0.0.1:{port}/client/api", _admin_keys(integration)


def start_ours(workdir: str, *, workers: Optional[int] = None, separate_simulator: bool = False,
               name: str = "ec2soap") -> Target:
    """`ec2soap serve` on a free port: the embedded default (its simulator in the same process), or with
    SEPARATE_SIMULATOR the simulator in its own process (`serve --cloudstack-url`), so the gateway process's
    CPU and memory are its own; WORKERS runs `serve --workers N`."""
    port = free_port()
    command = [sys.executable, "-m", "ec2soap", "serve", "--data-dir", os.path.join(workdir, name), "--host",
               "127.0.0.1", "--port", str(port)]
    helpers = []
    env = {**os.environ, **FAST_JOBS}
    if separate_simulator:
        simulator, url, keys = start_simulator(workdir)
        helpers.append(simulator)
        command += ["--cloudstack-url", url]
        # The gateway finds callers' secrets with CloudStack admin keys (getUser), as against a real cloud.
        env.update(EC2SOAP_CLOUDSTACK_ADMIN_API_KEY=keys[0], EC2SOAP_CLOUDSTACK_ADMIN_SECRET_KEY=keys[1])
    else:
        integration = free_port()
        command += ["--simulator-port", str(free_port()), "--integration-port", str(integration)]
    if workers:
        command += ["--workers", str(workers)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, text=True)
    try:
        wait_port(port, process=process)
        if not separate_simulator:
            # With --workers the supervisor listens for the gateway before its simulator is up.
            wait_port(integration, process=process)
            keys = _admin_keys(integration)
    except Exception:
        Target(name, port, "", "", "", "", process, helpers).stop()
        raise
    return _first_image(Target(name, port, keys[0], keys[1], "", "m1.small", process, helpers))


def start_moto() -> Target:
    port = free_port()
    process = subprocess.Popen(moto_command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, process=process)
    return _first_image(Target("moto", port, "AKIDEXAMPLE", "secret", "", "m1.small", process))


def launch(target: Target, count: int, batch: int = 10) -> list[str]:
    """COUNT more instances, then wait until every instance is running, so servers describe the same state."""
    client = Client(target)
    ids: list[str] = []
    while len(ids) < count:
        step = min(batch, count - len(ids))
        answer = client.call("RunInstances", ImageId=target.image_id, MinCount=str(step), MaxCount=str(step),
                             InstanceType=target.instance_type)
        ids += re.findall(r"<instanceId>([^<]+)</instanceId>", answer)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        states = re.findall(r"<instanceState>\s*<code>(\d+)</code>", client.call("DescribeInstances"))
        if len(states) >= count and all(s == "16" for s in states):
            break
        time.sleep(0.2)
    return ids


def describe(client: Client) -> None:
    client.call("DescribeInstances")


def cycle(client: Client) -> None:
    answer = client.call("RunInstances", ImageId=client.target.image_id, MinCount="1", MaxCount="1",
                         InstanceType=client.target.instance_type)
    instance = re.findall(r"<instanceId>([^<]+)</instanceId>", answer)[0]
    client.call("TerminateInstances", **{"InstanceId.1": instance})


# The name profile_gateway.py and compare_trees.py take for the cycle among Query action names.
CYCLE = "RunInstances+TerminateInstances"


def action_work(client: Client, action: str) -> Callable[[], None]:
    """One iteration of ACTION on CLIENT: the Run+Terminate cycle for CYCLE, else the Query action alone."""
    return (lambda: cycle(client)) if action == CYCLE else (lambda: client.call(action))


def measure(target: Target, work: Callable[[Client], None], concurrency: int, seconds: float,
            pid: Optional[int] = None) -> dict:
    """WORK(client) back to back on CONCURRENCY connections for SECONDS (common.closed_loop). For ec2soap the
    row also says how many CloudStack calls each iteration made (cloudstack_calls, by command, from /metrics)."""
    def new_call() -> Callable[[], None]:
        client = Client(target)
        return lambda: work(client)
    before = cloudstack_calls(target)
    row = closed_loop(new_call, concurrency, seconds, pid)
    if before is not None and row.get("requests"):
        after = cloudstack_calls(target) or {}
        per = {c: round((n - before.get(c, 0)) / row["requests"], 2) for c, n in sorted(after.items())
               if n > before.get(c, 0)}
        row["cloudstack_calls"] = {"total": round(sum(per.values()), 2), **per}
    return row


def cloudstack_calls(target: Target) -> Optional[dict[str, float]]:
    """CloudStack requests the gateway made so far, by command (ec2soap's /metrics); None for moto."""
    if target.name == "moto":
        return None
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{target.port}/metrics", timeout=10).read().decode()
    except OSError:
        return None
    calls: dict[str, float] = {}
    for match in re.finditer(r'^ec2soap_cloudstack_calls_total\{command="([^"]+)",[^}]*\} ([0-9.e+]+)$', text,
                             re.MULTILINE):
        calls[match[1]] = calls.get(match[1], 0.0) + float(match[2])
    return calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--instances", type=int, default=50)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--workloads", nargs="+", default=["describe", "cycle"])
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per measurement")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="ec2soap-bench-")
    targets = []
    results = []
    try:
        targets = [start_ours(workdir), start_moto()]
        for target in targets:
            launch(target, args.instances)
        for workload in args.workloads:
            for concurrency in args.concurrency:
                fn = describe if workload == "describe" else cycle
                # Alternating rounds (common.alternating): ours and moto see the same drift of the machine.
                measured = alternating({target.name: (lambda seconds, t=target: measure(t, fn, concurrency, seconds))
                                        for target in targets}, args.seconds, args.rounds)
                for target in targets:
                    row = {"workload": workload, "concurrency": concurrency, "server": target.name,
                           **measured[target.name]}
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
            calls = (ours.get("cloudstack_calls") or {}).get("total")
            print(f"{workload:9} {concurrency:5} {ours['rps']:13.1f} {ours['p50_ms']:7.1f} {ours['p99_ms']:7.1f} |"
                  f" {moto['rps']:11.1f} {moto['p50_ms']:7.1f} {moto['p99_ms']:7.1f} | {ratio:5.2f}x"
                  + (f"  ({calls:g} CloudStack calls each)" if calls is not None else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
