"""What every benchmark shares: free ports, waiting for a listener, moto's server, a process's CPU time and
RSS from /proc, the closed-loop load generator and its percentiles, and the machine's load average.

Not a test and not part of ec2soap: the scripts in bench/ import it (they put bench/ on sys.path).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from typing import Callable, Optional

__all__ = ["free_port", "wait_port", "cpu_seconds", "proc_status", "RssSampler", "closed_loop", "percentile",
           "load_average", "moto_command", "MB", "alternating", "merge_rows", "LATENCIES", "machine_speed"]

MB = 1_000_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, seconds: float = 60, process: Optional[subprocess.Popen] = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server meant for port {port} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def moto_command(port: int) -> list[str]:
    executable = shutil.which("moto_server") or os.path.join(os.path.dirname(sys.executable), "moto_server")
    return [executable, "-H", "127.0.0.1", "-p", str(port)]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time PID has used so far (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of PID in bytes (empty once the process is gone)."""
    values = {}
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    name, amount, _unit = line.split()
                    values[name[:-1]] = int(amount) * 1024
    except OSError:
        pass
    return values


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as `uptime` shows them."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def machine_speed(rounds: int = 3) -> float:
    """Milliseconds this machine's Python takes for a fixed pure-Python workload (dict, str and list work, one
    core), the best of ROUNDS: the same tree measured on the same kind of machine can run 3x apart from one hour
    to the next (2026-12-03: DescribeInstances of 50 took 3.1 ms of gateway CPU at 17:04 and 9.8 ms at 17:37), so
    every run prints it beside the load and absolute figures of two runs compare only at a like speed."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        table: dict[str, int] = {}
        parts = []
        for i in range(200_000):
            key = "k" + str(i % 1000)
            table[key] = table.get(key, 0) + i
            parts.append(key)
        "".join(parts).count("k9")
        best = min(best, time.perf_counter() - started)
    return best * 1000


class RssSampler:
    """Samples a process's VmRSS every `interval` seconds while a measurement runs; `peak` is the largest sample,
    `hwm` the kernel's VmHWM afterwards (since the reset, if the reset was allowed), `cpu` the CPU seconds
    the process used meanwhile. PID None samples nothing (a peer whose memory we do not report)."""

    def __init__(self, pid: Optional[int], interval: float = 0.02):
        self.pid, self.interval = pid, interval
        self.start = self.peak = self.hwm = 0
        self.hwm_reset = False
        self.cpu = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "RssSampler":
        if self.pid is not None:
            try:  # "5" resets the peak RSS (VmHWM) to the current RSS (Linux >= 4.0)
                with open(f"/proc/{self.pid}/clear_refs", "w") as refs:
                    refs.write("5")
                self.hwm_reset = True
            except OSError:
                pass
            self.start = self.peak = proc_status(self.pid).get("VmRSS", 0)
            self.cpu = -cpu_seconds(self.pid)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, proc_status(self.pid).get("VmRSS", 0))

    def __exit__(self, *exc: object) -> None:
        if self.pid is None:
            return
        self._stop.set()
        self._thread.join()
        status = proc_status(self.pid)
        self.peak = max(self.peak, status.get("VmRSS", 0))
        self.hwm = status.get("VmHWM", 0)
        self.cpu += cpu_seconds(self.pid)

    @property
    def peak_mb(self) -> float:
        return max(self.peak, self.hwm) / MB

    def row(self) -> dict:
        if self.pid is None:
            return {}
        return {"rss_start_mb": self.start / MB, "rss_peak_mb": self.peak / MB, "vmhwm_mb": self.hwm / MB,
                "vmhwm_reset": self.hwm_reset, "server_cpu_s": self.cpu}


def percentile(ordered: list[float], q: float) -> float:
    """The q-quantile of sorted seconds, in milliseconds (NaN for no samples)."""
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def closed_loop(new_call: Callable[[], Callable[[], object]], concurrency: int, seconds: float,
                pid: Optional[int] = None) -> dict:
    """CONCURRENCY threads, each with its own call (new_call() → a callable doing one request on its own
    connection), issuing requests back to back for SECONDS. The first error of a thread stops that thread and
    is reported, never hidden. With PID, the server process's CPU milliseconds per request and peak RSS."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker() -> None:
        try:
            call = new_call()
        except Exception as exc:  # reported, not hidden
            with lock:
                errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
            return
        mine: list[float] = []
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                call()
            except Exception as exc:  # reported, not hidden
                with lock:
                    errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
                break
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    with RssSampler(pid) as rss:
        began = time.monotonic()
        threads = [threading.Thread(target=worker) for _ in range(concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - began
    latencies.sort()
    row = {"requests": len(latencies), "rps": len(latencies) / elapsed, "p50_ms": percentile(latencies, 0.50),
           "p99_ms": percentile(latencies, 0.99), "errors": errors[:3], "elapsed_s": elapsed,
           LATENCIES: latencies}
    if pid is not None:
        row["server_cpu_ms_per_req"] = rss.cpu * 1000 / len(latencies) if latencies else float("nan")
        row["server_rss_peak_mb"] = rss.peak_mb
    return row


# closed_loop's row keeps its sorted latencies under this key for merge_rows; Report-style writers drop it.
LATENCIES = "_latencies"


def alternating(runs: dict[str, Callable[[float], dict]], seconds: float, rounds: int = 4) -> dict[str, dict]:
    """Each of RUNS (name → run(seconds) → a closed_loop row) ROUNDS times for SECONDS / ROUNDS, the order
    reversed every round (a b, b a, a b, b a), each name's rows then merged (merge_rows). A ratio of two servers
    measured one after the other moved with this machine's speed, which drifts by up to 3x within an hour
    (2026-12-03/04; common.machine_speed): alternated, both sides see the same drift."""
    names = list(runs)
    rows: dict[str, list[dict]] = {name: [] for name in names}
    for round_ in range(rounds):
        for name in (names if round_ % 2 == 0 else names[::-1]):
            rows[name].append(runs[name](seconds / rounds))
    merged = {name: merge_rows(rows[name]) for name in names}
    for row in merged.values():
        row.pop(LATENCIES)  # the caller gets rows to print; the latencies were for merging
    return merged


def merge_rows(rows: list[dict]) -> dict:
    """closed_loop rows of one workload into one: requests over the summed time, percentiles over every
    latency, CPU per request over all requests, the peak RSS of all, every round's errors; a dict of per-request
    averages (ec2_bench's cloudstack_calls) weighted by each round's requests."""
    latencies = sorted(x for row in rows for x in row[LATENCIES])
    requests = len(latencies)
    elapsed = sum(row["elapsed_s"] for row in rows)
    merged: dict = {"requests": requests, "rps": requests / elapsed if elapsed else float("nan"),
                    "p50_ms": percentile(latencies, 0.50), "p99_ms": percentile(latencies, 0.99),
                    "errors": [e for row in rows for e in row["errors"]][:3], "elapsed_s": elapsed,
                    "rounds": len(rows), LATENCIES: latencies}
    if all("server_cpu_ms_per_req" in row for row in rows):
        merged["server_cpu_ms_per_req"] = (sum(row["server_cpu_ms_per_req"] * row["requests"] for row in rows
                                               if row["requests"]) / requests) if requests else float("nan")
        merged["server_rss_peak_mb"] = max(row["server_rss_peak_mb"] for row in rows)
    for key in {k for row in rows for k, v in row.items() if isinstance(v, dict)}:
        parts = [row for row in rows if isinstance(row.get(key), dict) and row["requests"]]
        names = {name for row in parts for name in row[key]}
        merged[key] = {name: round(sum(row[key].get(name, 0) * row["requests"] for row in parts) /
                                   max(1, sum(row["requests"] for row in parts)), 2) for name in sorted(names)}
    return merged
