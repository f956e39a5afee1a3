"""PUT throughput of one large object, with and without S3's default CRC64NVME (issue 13), in the same run.

    python bench/put_checksum_bench.py --before DIR [--mib 256] [--rounds 5] [--tmp-dir DIR]

DIR holds an `ec2soap` package to compare against (e.g. a copy of the tree before a change); the "after"
gateway is the one this checkout imports. Each round starts both gateways fresh (real `ec2soap serve`, SQLite,
no simulator) and PUTs the same file of random bytes to each, alternating which goes first, over one
connection with UNSIGNED-PAYLOAD and no checksum header (so the gateway hashes MD5, plus CRC64NVME when it
adds S3's default), as s3_bench's big workload does. Also times the hashers alone over the same bytes in
1 MiB pieces. Reports MB/s (10^6 bytes) per round, the medians and the after/before ratio. Not a test.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import MB  # noqa: E402
from s3_bench import BUCKET, Client, start_ours  # noqa: E402


def hashers_alone(path: Path) -> dict:
    """MB/s of MD5 and of awscrt's CRC64NVME over PATH's bytes in memory, in 1 MiB pieces (as the blob writer
    feeds them), best of three."""
    from awscrt import checksums as crt
    with open(path, "rb") as f:
        chunks = list(iter(lambda: f.read(1 << 20), b""))
    out = {}
    for name in ("md5", "crc64nvme"):
        best = float("inf")
        for _ in range(3):
            began, value, md5 = time.perf_counter(), 0, hashlib.md5()
            for chunk in chunks:
                if name == "md5":
                    md5.update(chunk)
                else:
                    value = crt.crc64nvme(chunk, value)
            best = min(best, time.perf_counter() - began)
        out[name] = path.stat().st_size / best / MB
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process PID so far (/proc/PID/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def put_once(tree: str | None, workdir: Path, source: Path) -> tuple[float, float, str | None]:
    """→ (MB/s of the PUT, the gateway's CPU seconds per 100 MB received, the x-amz-checksum-crc64nvme it
    answered: None before the default)."""
    saved = os.environ.get("PYTHONPATH")
    if tree is not None:
        os.environ["PYTHONPATH"] = tree
    else:
        os.environ.pop("PYTHONPATH", None)
    try:
        target = start_ours(workdir)
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
    try:
        client = Client(target, timeout=600)
        client.put(f"/{BUCKET}", None)
        path, size = f"/{BUCKET}/big", source.stat().st_size
        headers = {**client._headers("PUT", path), "Content-Length": str(size)}
        began, cpu = time.perf_counter(), cpu_seconds(target.process.pid)
        with open(source, "rb") as body:
            client.conn.request("PUT", path, body=body, headers=headers)
        response = client.conn.getresponse()
        response.read()
        elapsed, cpu = time.perf_counter() - began, cpu_seconds(target.process.pid) - cpu
        client.close()
        if response.status != 200:
            raise RuntimeError(f"PUT {path}: {response.status}")
        return size / elapsed / MB, cpu / (size / MB) * 100, response.getheader("x-amz-checksum-crc64nvme")
    finally:
        target.stop()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", required=True, help="a directory holding the ec2soap package to compare")
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tmp-dir", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.tmp_dir) as tmp:
        root = Path(tmp)
        source = root / "object"
        with open(source, "wb") as f:
            for _ in range(args.mib):
                f.write(os.urandom(1 << 20))
        alone = hashers_alone(source)
        print(f"hashers alone over {args.mib} MiB: md5 {alone['md5']:.0f} MB/s, crc64nvme "
              f"{alone['crc64nvme']:.0f} MB/s")
        rows: dict[str, list[float]] = {"before": [], "after": []}
        cpu: dict[str, list[float]] = {"before": [], "after": []}
        answered: dict[str, str | None] = {}
        for n in range(args.rounds):
            order = ("before", "after") if n % 2 == 0 else ("after", "before")
            for label in order:
                workdir = root / f"{label}-{n}"
                workdir.mkdir()
                rate, seconds, crc = put_once(args.before if label == "before" else None, workdir, source)
                rows[label].append(rate)
                cpu[label].append(seconds)
                answered[label] = crc
                shutil.rmtree(workdir)  # each round on an emptied disk area
            print(f"round {n + 1}: before {rows['before'][-1]:.1f} MB/s ({cpu['before'][-1]:.3f} CPU s/100 MB, "
                  f"crc64nvme {answered['before']}), after {rows['after'][-1]:.1f} MB/s ({cpu['after'][-1]:.3f}, "
                  f"crc64nvme {answered['after']}), load {os.getloadavg()[0]:.2f}", flush=True)
        before, after = statistics.median(rows["before"]), statistics.median(rows["after"])
        cpu_before, cpu_after = statistics.median(cpu["before"]), statistics.median(cpu["after"])
        print(f"median PUT of {args.mib} MiB: before {before:.1f} MB/s, after {after:.1f} MB/s, "
              f"after/before {after / before:.3f}; gateway CPU per 100 MB: before {cpu_before:.3f} s, "
              f"after {cpu_after:.3f} s, after/before {cpu_after / cpu_before:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
