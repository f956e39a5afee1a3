"""S3 object throughput benchmark: ec2soap against moto's server and (GET only) nginx, measured in the same run.

    python bench/s3_bench.py [--objects 200] [--object-mib 1] [--concurrency 8] [--big-mib 1024]

Workloads (bucket "bench", path-style URLs, the same paths on every server):
  small  PUT then GET of N objects of M MiB each, at the given concurrency (one keep-alive connection per thread)
  big    PUT then GET of one large object over one connection
The client is raw http.client: each request is signed with botocore's S3SigV4Auth with UNSIGNED-PAYLOAD,
PUT bodies stream from files on disk (the big one in 1 MiB chunks, never whole in memory) and GET bodies are
discarded as they arrive. nginx (Debian's, `nginx -c CONF -g 'daemon off;'`) serves the very files the PUTs
read, from the same disk. While each transfer runs, the server's VmRSS is sampled from /proc/<pid>/status
and its VmHWM is read afterwards (reset first through /proc/<pid>/clear_refs when allowed).
Reports MB/s (MB = 10^6 bytes), p50/p99 per-request latency, peak RSS, ratios and the issue's targets.
Not a test: run by hand. Needs moto's server (`pip install 'moto[server]'`) and nginx on PATH.
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import MB, RssSampler, free_port, moto_command, wait_port  # noqa: E402  (shared with the others)

BUCKET = "bench"
CHUNK = 1024 * 1024
# botocore signs payloads over plain http unless told not to; this is the documented switch.
UNSIGNED = Config(s3={"payload_signing_enabled": False})


@dataclass
class Target:
    name: str
    port: int
    process: subprocess.Popen
    access_key: str = ""
    secret_key: str = ""
    region: str = "us-east-1"
    signed: bool = True

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Client:
    """One keep-alive connection. PUT streams a file; GET reads into one reused buffer and drops the bytes."""

    def __init__(self, target: Target, timeout: float):
        self.target = target
        self.conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=timeout, blocksize=CHUNK)
        self.creds = Credentials(target.access_key, target.secret_key)
        self.buffer = bytearray(CHUNK)

    def _headers(self, method: str, path: str) -> dict[str, str]:
        if not self.target.signed:
            return {}
        request = AWSRequest(method=method, url=f"http://127.0.0.1:{self.target.port}{path}")
        request.context["client_config"] = UNSIGNED
        S3SigV4Auth(self.creds, "s3", self.target.region).add_auth(request)
        return dict(request.headers.items())

    def _fail(self, method: str, path: str, response: http.client.HTTPResponse) -> None:
        detail = response.read()[:300]
        raise RuntimeError(f"{self.target.name} {method} {path}: {response.status} {detail!r}")

    def put(self, path: str, source: Optional[Path]) -> int:
        headers = self._headers("PUT", path)
        size = source.stat().st_size if source else 0
        headers["Content-Length"] = str(size)
        if source is None:
            self.conn.request("PUT", path, body=b"", headers=headers)
        else:
            with open(source, "rb") as body:
                self.conn.request("PUT", path, body=body, headers=headers)
        response = self.conn.getresponse()
        if response.status != 200:
            self._fail("PUT", path, response)
        response.read()
        return size

    def get(self, path: str) -> int:
        self.conn.request("GET", path, headers=self._headers("GET", path))
        response = self.conn.getresponse()
        if response.status != 200:
            self._fail("GET", path, response)
        view, total = memoryview(self.buffer), 0
        while True:
            n = response.readinto(view)
            if not n:
                break
            total += n
        return total

    def get_digest(self, path: str) -> str:
        self.conn.request("GET", path, headers=self._headers("GET", path))
        response = self.conn.getresponse()
        if response.status != 200:
            self._fail("GET", path, response)
        return hashlib.md5(response.read()).hexdigest()

    def close(self) -> None:
        self.conn.close()


def start_ours(workdir: Path) -> Target:
    port = free_port()
    data = workdir / "ec2soap-data"
    env = {**os.environ, "EC2SOAP_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([sys.executable, "-m", "ec2soap", "serve", "--data-dir", str(data), "--host",
                                "127.0.0.1", "--port", str(port), "--simulator-port", "-1",
                                "--integration-port", "-1"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    wait_port(port)
    # The demo user's keys, as the banner prints them, also land in DATA_DIR/demo-credentials.
    keys = {}
    deadline = time.monotonic() + 30
    while len(keys) < 2 and time.monotonic() < deadline:
        try:
            for line in (data / "demo-credentials").read_text().splitlines():
                if "=" in line:
                    name, value = (part.strip() for part in line.split("=", 1))
                    keys[name] = value
        except OSError:
            time.sleep(0.1)
    config = (data / "demo-config").read_text()
    region = next(line.split("=", 1)[1].strip() for line in config.splitlines() if line.startswith("region"))
    return Target("ec2soap", port, process, keys["aws_access_key_id"], keys["aws_secret_access_key"], region)


def start_moto() -> Target:
    port = free_port()
    process = subprocess.Popen(moto_command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, process=process)
    return Target("moto", port, process, "AKIDEXAMPLE", "secret", "us-east-1")


def start_nginx(workdir: Path, root: Path, workers: str) -> Target:
    port = free_port()
    home = workdir / "nginx"
    home.mkdir()
    conf = home / "nginx.conf"
    conf.write_text(f"""
worker_processes {workers};
pid {home}/nginx.pid;
error_log {home}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    default_type application/octet-stream;
    client_body_temp_path {home}/body;
    proxy_temp_path {home}/proxy;
    fastcgi_temp_path {home}/fastcgi;
    uwsgi_temp_path {home}/uwsgi;
    scgi_temp_path {home}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
""")
    process = subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(conf), "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return Target("nginx", port, process, signed=False)


def make_files(root: Path, objects: int, object_size: int, big_size: int) -> tuple[list[Path], Path]:
    """Random bytes on disk under ROOT/bench/, named as the objects' keys (so nginx serves the same paths)."""
    folder = root / BUCKET
    folder.mkdir(parents=True)
    smalls = []
    for i in range(objects):
        path = folder / f"small-{i:04d}"
        path.write_bytes(os.urandom(object_size))
        smalls.append(path)
    big = folder / "big"
    with open(big, "wb") as out:
        left = big_size
        while left:
            step = min(8 * CHUNK, left)
            out.write(os.urandom(step))
            left -= step
    # mkdtemp makes 0700 directories; nginx's workers drop root and must be able to read the files.
    for directory in (root.parent, root, folder):
        directory.chmod(0o755)
    return smalls, big


def run_small(target: Target, op: str, files: list[Path], concurrency: int, timeout: float) -> dict:
    work: "queue.Queue[Path]" = queue.Queue()
    for path in files:
        work.put(path)
    latencies: list[float] = []
    errors: list[str] = []
    moved = [0]
    lock = threading.Lock()

    def worker() -> None:
        client = Client(target, timeout)
        mine, sent = [], 0
        try:
            while True:
                try:
                    path = work.get_nowait()
                except queue.Empty:
                    break
                key = f"/{BUCKET}/{path.name}"
                started = time.perf_counter()
                sent += client.put(key, path) if op == "PUT" else client.get(key)
                mine.append(time.perf_counter() - started)
        except Exception as exc:  # reported, not hidden
            with lock:
                errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
        finally:
            client.close()
            with lock:
                latencies.extend(mine)
                moved[0] += sent

    with RssSampler(target.process.pid if target.name != "nginx" else None) as rss:
        began = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - began
    latencies.sort()

    def pick(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else float("nan")

    expected = sum(p.stat().st_size for p in files)
    if moved[0] != expected and not errors:
        errors.append(f"moved {moved[0]} bytes, expected {expected}")
    return {"requests": len(latencies), "bytes": moved[0], "seconds": elapsed,
            "mb_s": moved[0] / elapsed / MB if not errors else float("nan"), "p50_ms": pick(0.50),
            "p99_ms": pick(0.99), "errors": errors[:3], **rss.row()}


def run_big(target: Target, op: str, path: Path, timeout: float) -> dict:
    client = Client(target, timeout)
    errors: list[str] = []
    moved = 0
    with RssSampler(target.process.pid if target.name != "nginx" else None) as rss:
        began = time.perf_counter()
        try:
            key = f"/{BUCKET}/{path.name}"
            moved = client.put(key, path) if op == "PUT" else client.get(key)
        except Exception as exc:  # reported, not hidden
            errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
        elapsed = time.perf_counter() - began
    client.close()
    if moved != path.stat().st_size and not errors:
        errors.append(f"moved {moved} bytes, expected {path.stat().st_size}")
    return {"requests": 1, "bytes": moved, "seconds": elapsed,
            "mb_s": moved / elapsed / MB if not errors else float("nan"), "p50_ms": elapsed * 1000,
            "p99_ms": elapsed * 1000, "errors": errors, **rss.row()}


def server_alive(target: Target) -> bool:
    return target.process.poll() is None


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=200)
    parser.add_argument("--object-mib", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--big-mib", type=int, default=1024)
    parser.add_argument("--small-only", action="store_true",
                        help="only the small workload (no big object written, put or got)")
    parser.add_argument("--timeout", type=float, default=300.0, help="socket timeout of each request, seconds")
    parser.add_argument("--servers", nargs="+", default=["ec2soap", "moto", "nginx"])
    parser.add_argument("--skip-moto-big", action="store_true", help="leave the big object out for moto")
    parser.add_argument("--nginx-workers", default="1", help="worker_processes (ec2soap is one process)")
    parser.add_argument("--tmp-dir", default=None, help="where the files and data dirs go (one disk for all)")
    parser.add_argument("--many", type=int, default=0,
                        help="also GET the big object on this many connections at once (ec2soap and nginx)")
    return parser


def run_s3(args: argparse.Namespace) -> list[dict]:
    """Every S3 workload ARGS asks for, one JSON row printed per measurement; the rows."""
    workdir = Path(tempfile.mkdtemp(prefix="ec2soap-s3-bench-", dir=args.tmp_dir))
    small_only = getattr(args, "small_only", False)  # bench/run.py builds its own Namespace
    targets: list[Target] = []
    results: list[dict] = []
    try:
        big_mib = 0 if small_only else args.big_mib
        print(f"writing {args.objects} x {args.object_mib} MiB and 1 x {big_mib} MiB of random bytes "
              f"under {workdir}", file=sys.stderr, flush=True)
        smalls, big = make_files(workdir / "files", args.objects, int(args.object_mib * CHUNK),
                                 0 if small_only else args.big_mib * CHUNK)
        starters = {"ec2soap": lambda: start_ours(workdir), "moto": start_moto,
                    "nginx": lambda: start_nginx(workdir, workdir / "files", args.nginx_workers)}
        targets = [starters[name]() for name in args.servers]
        warmup = workdir / "files" / BUCKET / "warmup"
        warmup.write_bytes(os.urandom(64 * 1024))
        warmup.chmod(0o644)
        for target in targets:  # the bucket, then a few requests so no first-request cost lands in a figure
            client = Client(target, args.timeout)
            if target.signed:
                client.put(f"/{BUCKET}", None)
            for _ in range(5):
                if target.signed:
                    client.put(f"/{BUCKET}/warmup", warmup)
                client.get(f"/{BUCKET}/warmup")
            client.close()

        def record(workload: str, op: str, target: Target, row: dict) -> None:
            row = {"workload": workload, "op": op, "server": target.name, **row}
            if not server_alive(target):
                row["errors"] = row["errors"] + [f"server exited with {target.process.returncode}"]
            results.append(row)
            print(json.dumps(row), flush=True)

        for op in ("PUT", "GET"):
            for target in targets:
                if op == "PUT" and not target.signed:
                    continue
                if server_alive(target):
                    record("small", op, target, run_small(target, op, smalls, args.concurrency, args.timeout))
        for target in targets:  # the bytes the servers send back are the bytes the PUTs sent
            if target.signed and server_alive(target):
                client = Client(target, args.timeout)
                got = client.get_digest(f"/{BUCKET}/{smalls[0].name}")
                client.close()
                if got != hashlib.md5(smalls[0].read_bytes()).hexdigest():
                    print(f"{target.name}: {smalls[0].name} came back different", file=sys.stderr)
        for op in ("PUT", "GET") if not small_only else ():
            for target in targets:
                if op == "PUT" and not target.signed:
                    continue
                if target.name == "moto" and args.skip_moto_big:
                    continue
                if server_alive(target):
                    record("big", op, target, run_big(target, op, big, args.timeout))
        if args.many and not small_only:
            for target in targets:
                if target.name != "moto" and server_alive(target):
                    record("many", "GET", target, run_small(target, "GET", [big] * args.many, args.many,
                                                            args.timeout))
    finally:
        for target in targets:
            target.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def main() -> int:
    args = parser().parse_args()
    print_table(run_s3(args), args)
    return 0


def print_table(results: list[dict], args: argparse.Namespace) -> None:
    def find(workload: str, op: str, server: str) -> Optional[dict]:
        return next((r for r in results if r["workload"] == workload and r["op"] == op and r["server"] == server),
                    None)

    def cell(row: Optional[dict], name: str, width: int, digits: int = 1) -> str:
        if row is None:
            return "-".rjust(width)
        if row["errors"] and name == "mb_s":
            return "FAILED".rjust(width)
        value = row.get(name)
        return (f"{value:{width}.{digits}f}" if isinstance(value, float) else "-".rjust(width))

    def ratio(a: Optional[dict], b: Optional[dict]) -> float:
        if not a or not b or a["errors"] or b["errors"] or not b["mb_s"]:
            return float("nan")
        return a["mb_s"] / b["mb_s"]

    def shown(value: float) -> str:
        return "     -" if value != value else f"{value:5.2f}x"

    labels = {"small": f"{args.objects}x{args.object_mib:g}MiB c{args.concurrency}", "big": f"1x{args.big_mib}MiB c1"}
    print("\nMB/s (10^6 bytes/s); p50/p99 per request in ms; RSS in MB (peak of samples / VmHWM); CPU = server"
          " CPU seconds used during the transfer")
    print(f"{'workload':18} {'op':3} | {'ec2soap MB/s':>12} {'p50':>7} {'p99':>7} {'RSS':>6} {'HWM':>6} {'CPU':>5} |"
          f" {'moto MB/s':>9} {'p50':>7} {'p99':>7} {'RSS':>6} {'HWM':>6} {'CPU':>5} | {'nginx MB/s':>10} |"
          f" {'/moto':>6} {'/nginx':>6}")
    for workload in ("small", "big"):
        for op in ("PUT", "GET"):
            ours, moto, nginx = (find(workload, op, s) for s in ("ec2soap", "moto", "nginx"))
            columns = [f"{labels[workload]:18} {op:3} |"]
            for row, width in ((ours, 12), (moto, 9)):
                columns += [cell(row, "mb_s", width), cell(row, "p50_ms", 7), cell(row, "p99_ms", 7),
                            cell(row, "rss_peak_mb", 6, 0), cell(row, "vmhwm_mb", 6, 0),
                            cell(row, "server_cpu_s", 5) + " |"]
            columns += [cell(nginx, "mb_s", 10) + " |", shown(ratio(ours, moto)), shown(ratio(ours, nginx))]
            print(" ".join(columns))
    failures = [r for r in results if r["errors"]]
    for row in failures:
        print(f"  {row['server']} {row['workload']} {row['op']}: {'; '.join(row['errors'])}")

    many = find("many", "GET", "ec2soap")
    if many is not None:
        r = ratio(many, find("many", "GET", "nginx"))
        print(f"  {args.many} concurrent GETs of the big object: ours {cell(many, 'mb_s', 8)} MB/s, "
              f"{shown(r).strip()} nginx, server CPU {cell(many, 'server_cpu_s', 5).strip()} s, "
              f"VmHWM {cell(many, 'vmhwm_mb', 4, 0).strip()} MB")

    print("\ntargets (issue 14)")
    for workload, op, peer, target in (("small", "PUT", "moto", 1.0), ("small", "GET", "moto", 3.0),
                                       ("big", "PUT", "moto", 1.5), ("big", "GET", "nginx", 0.5)):
        r = ratio(find(workload, op, "ec2soap"), find(workload, op, peer))
        verdict = "n/a" if r != r else ("met" if r >= target else "MISSED")
        wanted = f"(>= {target:g}x)"
        print(f"  {labels[workload]:18} {op}  ours/{peer:5} {r:5.2f}x  {wanted:11} {verdict}")
    for workload, op in (("small", "PUT"), ("small", "GET"), ("big", "PUT"), ("big", "GET"), ("many", "GET")):
        row = find(workload, op, "ec2soap")
        if row:
            peak = max(row.get("rss_peak_mb", 0), row.get("vmhwm_mb", 0))
            label = labels.get(workload, f"{args.many}x big c{args.many}")
            print(f"  {label:18} {op}  ec2soap peak RSS {peak:6.0f} MB  (< 200 MB)"
                  f"  {'met' if peak < 200 else 'MISSED'}")

if __name__ == "__main__":
    sys.exit(main())
