"""Issue 14's benchmark in one command: EC2 Query, SOAP and S3, ec2soap against moto and nginx in one run.

    python bench/run.py [--quick] [--seconds 10] [--only ec2 workers cpu s3] [--json rows.json]
    python -m bench ...            (the same, from the repository root)

Sections (each starts its own servers on free ports, with temp data dirs, and stops them):
  ec2      the embedded default (`ec2soap serve`, simulator in the process) and moto: DescribeInstances over
           20 and 50 instances at concurrency 1 and 16; SOAP (WS-Security signed) against Query over the 50;
           the RunInstances + TerminateInstances cycle at 1 and 16
  workers  `serve --workers 2` against one process, DescribeInstances over 50 instances at concurrency 16
  cpu      the gateway alone (`serve --cloudstack-url` with `ec2soap simulator` in another process): its own
           CPU milliseconds per request for each action family (from /proc/<pid>/stat before and after), then
           DescribeInstances at each --scale size (time per call, per instance, and the gateway's peak RSS)
  s3       200 x 1 MiB PUT/GET at concurrency 8 (ours, moto; nginx GET), 1 GiB PUT (ours, moto), 1 GiB GET
           (ours, moto, nginx), 16 concurrent 1 GiB GETs (ours, nginx), peak server RSS (bench/s3_bench.py)
Every figure is printed as a JSON row as it is measured, then one table with the issue's ratios and targets.
The machine's load average is printed with each section: client and servers share its cores, so the
ratios to the peers measured in the same run are what count, never the absolute numbers. Not a test.
Needs moto's server (`pip install 'moto[server]==5.2.5'`, for benchmarking only) and nginx
(`apt-get install nginx-light`).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s3_bench  # noqa: E402
import soap_bench  # noqa: E402
from common import LATENCIES, RssSampler, alternating, load_average, machine_speed  # noqa: E402
from ec2_bench import Client, Target, cycle, describe, launch, measure, start_moto, start_ours  # noqa: E402

SECTIONS = ("ec2", "workers", "cpu", "s3")
# The action families whose gateway CPU per request the cpu section reports: (label, action, parameters).
FAMILIES = [
    ("DescribeInstances (50)", "DescribeInstances", {}),
    ("DescribeInstanceStatus", "DescribeInstanceStatus", {}),
    ("DescribeImages", "DescribeImages", {}),
    ("DescribeVolumes", "DescribeVolumes", {}),
    ("DescribeSnapshots", "DescribeSnapshots", {}),
    ("DescribeSecurityGroups", "DescribeSecurityGroups", {}),
    ("DescribeKeyPairs", "DescribeKeyPairs", {}),
    ("DescribeAddresses", "DescribeAddresses", {}),
    ("DescribeAvailabilityZones", "DescribeAvailabilityZones", {}),
    ("DescribeTags", "DescribeTags", {}),
]


class Report:
    """The rows measured so far, each printed as JSON when it comes."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, **row: Any) -> dict:
        row.pop(LATENCIES, None)
        self.rows.append(row)
        print(json.dumps(row, default=str), flush=True)
        return row

    def find(self, **match: Any) -> Optional[dict]:
        return next((r for r in self.rows if all(r.get(k) == v for k, v in match.items())), None)

    def section(self, name: str, when: str) -> None:
        self.add(section=name, at=when, load=load_average(), time=time.strftime("%H:%M:%S"),
                 speed_ms=machine_speed())


def _launch_to(target: Target, have: list[int], count: int, batch: int = 10) -> None:
    """Launch until TARGET has COUNT instances (HAVE[0]: how many it has now)."""
    if count > have[0]:
        launch(target, count - have[0], batch)
        have[0] = count


def section_ec2(args: argparse.Namespace, report: Report, workdir: str) -> None:
    targets: list[Target] = []
    try:
        ours = start_ours(workdir)
        targets.append(ours)
        moto = start_moto()
        targets.append(moto)
        counts = {ours.name: [0], moto.name: [0]}
        for instances in (20, 50):
            for target in targets:
                _launch_to(target, counts[target.name], instances)
            for concurrency in (1, 16):
                for name, row in _paired(targets, ours, describe, concurrency, args).items():
                    report.add(workload="describe", instances=instances, concurrency=concurrency, server=name,
                               **row)
        soap_rows(args, report, ours, workdir)
        if "workers" in args.only:
            try:
                section_workers(args, report, workdir, ours)
            except Exception as exc:  # reported, and the cycle rows still come
                report.add(section="workers", failed=f"{type(exc).__name__}: {str(exc)[:300]}",
                           errors=[f"section workers failed: {type(exc).__name__}: {str(exc)[:300]}"])
        # Last: every cycle leaves a terminated instance that DescribeInstances shows for an hour.
        for concurrency in (1, 16):
            for name, row in _paired(targets, ours, cycle, concurrency, args).items():
                report.add(workload="cycle", concurrency=concurrency, server=name, **row)
    finally:
        for target in targets:
            target.stop()


def _paired(targets: list[Target], ours: Target, work: Callable[[Client], None], concurrency: int,
            args: argparse.Namespace) -> dict[str, dict]:
    """WORK against every target in alternating rounds (common.alternating): server name → merged row, with
    ours's CPU and RSS."""
    def run(target: Target) -> Callable[[float], dict]:
        pid = target.process.pid if target is ours else None
        return lambda seconds: measure(target, work, concurrency, seconds, pid)
    return alternating({target.name: run(target) for target in targets}, args.seconds, args.rounds)


def soap_rows(args: argparse.Namespace, report: Report, ours: Target, workdir: str) -> None:
    """SOAP (signed per request, as soap_bench.py) against Query, DescribeInstances over the same instances."""
    key_file, cert_file, pem = soap_bench.make_identity(Path(workdir))
    Client(ours).call("SetCertificate", cert=pem)
    template = soap_bench.SoapTemplate(ours)

    def query_client() -> Callable[[], object]:
        client = Client(ours)
        return lambda: client.call("DescribeInstances")

    def soap_client() -> Callable[[], object]:
        return soap_bench.SoapClient(ours, soap_bench.SoapSigner(template, key_file, cert_file)).call

    for concurrency in (1, 16):
        rows = alternating({door: (lambda seconds, f=factory, c=concurrency: soap_bench.measure(
            f, c, seconds, ours.process.pid)) for door, factory in (("query", query_client), ("soap", soap_client))},
            args.seconds, args.rounds)
        for door, row in rows.items():
            report.add(workload="door", door=door, instances=50, concurrency=concurrency, **row)


def section_workers(args: argparse.Namespace, report: Report, workdir: str, single: Target) -> None:
    """`serve --workers 2` against SINGLE (one process, already holding 50 instances), measured back to back."""
    report.section("workers", "start")
    workers = start_ours(workdir, workers=2, name="workers")
    try:
        launch(workers, 50)
        rows = alternating({name: (lambda seconds, t=target: measure(t, describe, 16, seconds))
                            for name, target in (("1 process", single), ("--workers 2", workers))},
                           args.seconds, args.rounds)
        for name, row in rows.items():
            report.add(workload="workers", setup=name, instances=50, concurrency=16, **row)
    finally:
        workers.stop()
    report.section("workers", "end")


def section_cpu(args: argparse.Namespace, report: Report, workdir: str) -> None:
    ours = start_ours(workdir, separate_simulator=True, name="split")
    pid = ours.process.pid
    try:
        have = [0]
        sizes = sorted(set(args.scale))
        # The sizes up to 50 first, then the families over 50 instances, then the larger sizes.
        for size in [s for s in sizes if s < 50] + [50] + [s for s in sizes if s >= 50]:
            try:
                _launch_to(ours, have, size, batch=50)
            except RuntimeError as exc:
                if "InsufficientInstanceCapacity" not in str(exc):
                    raise
                # A capacity refusal (CloudStack out of addresses or cores) ends the growth. Said, never hidden.
                report.add(workload="scale-capacity", wanted=size, errors=[
                    f"the simulator ran out of guest addresses before {size} instances: {str(exc)[:120]}"])
                break
            if size == 50 and not any(r.get("workload") == "cpu" for r in report.rows):
                family_rows(args, report, ours)
                # Each cycle leaves a terminated instance (shown for an hour): `described` counts them too.
                report.add(workload="cpu", family="RunInstances+TerminateInstances",
                           **measure(ours, cycle, 1, args.seconds / 2, pid))
            if size not in sizes:
                continue
            client = Client(ours)
            client.call("DescribeInstances")  # one warm-up call
            times = []
            with RssSampler(pid) as rss:
                for _ in range(args.scale_calls):
                    started = time.perf_counter()
                    answer = client.call("DescribeInstances")
                    times.append(time.perf_counter() - started)
            described = answer.count("<instanceId>")
            median = statistics.median(times) * 1000
            report.add(workload="scale", instances=size, described=described, calls=len(times),
                       median_ms=median, ms_per_instance=median / max(described, 1),
                       cpu_ms_per_call=rss.cpu * 1000 / len(times), rss_peak_mb=rss.peak_mb,
                       response_bytes=len(answer.encode()))
    finally:
        ours.stop()


def family_rows(args: argparse.Namespace, report: Report, ours: Target) -> None:
    client = Client(ours)
    client.call("CreateKeyPair", KeyName="bench")
    client.call("CreateVolume", AvailabilityZone=_zone(client), Size="1")
    for label, action, params in FAMILIES:
        row = measure(ours, lambda c, a=action, p=params: c.call(a, **p), 1, args.seconds / 2, ours.process.pid)
        report.add(workload="cpu", family=label, **row)


def _zone(client: Client) -> str:
    answer = client.call("DescribeAvailabilityZones")
    return answer.split("<zoneName>", 1)[1].split("<", 1)[0]


def section_s3(args: argparse.Namespace, report: Report) -> None:
    quick = args.quick
    s3_args = argparse.Namespace(objects=40 if quick else 200, object_mib=1.0, concurrency=8,
                                 big_mib=128 if quick else 1024, timeout=600.0,
                                 servers=["ec2soap", "moto", "nginx"], skip_moto_big=False, nginx_workers="1",
                                 tmp_dir=args.tmp_dir, many=4 if quick else 16)
    for row in s3_bench.run_s3(s3_args):
        report.rows.append({"section": "s3", **row})
    report.s3_args = s3_args  # type: ignore[attr-defined]


# -- the table ----------------------------------------------------------------------------------------------------

def _ratio(a: Optional[dict], b: Optional[dict], key: str) -> float:
    if not a or not b or a.get("errors") or b.get("errors") or not b.get(key):
        return float("nan")
    return a[key] / b[key]


def _verdict(value: float, ok: bool) -> str:
    return "n/a" if value != value else ("met" if ok else "MISSED")


def print_table(report: Report) -> None:
    if any(r.get("workload") in ("describe", "cycle", "door", "workers") for r in report.rows):
        print_ec2(report)
    print_cpu_and_s3(report)


def print_ec2(report: Report) -> None:
    find = report.find
    print("\n== EC2 (embedded default vs moto; req/s, p50/p99 ms) ==")
    print(f"{'workload':28} {'conc':>4} | {'ours rps':>9} {'p50':>7} {'p99':>7} | {'moto rps':>9} {'p50':>7} "
          f"{'p99':>7} | {'ratio':>6}  target")
    for instances in (20, 50):
        for concurrency in (1, 16):
            ours = find(workload="describe", instances=instances, concurrency=concurrency, server="ec2soap")
            moto = find(workload="describe", instances=instances, concurrency=concurrency, server="moto")
            if not ours or not moto:
                continue
            ratio = _ratio(ours, moto, "rps")
            if concurrency == 16:
                goal = f">=10x & p99<100: {_verdict(ratio, ratio >= 10 and ours['p99_ms'] < 100)}"
            else:
                goal = f"p50<5ms: {_verdict(ours['p50_ms'], ours['p50_ms'] < 5)}"
            print(f"{'DescribeInstances ' + str(instances):28} {concurrency:4} | {ours['rps']:9.1f} "
                  f"{ours['p50_ms']:7.1f} {ours['p99_ms']:7.1f} | {moto['rps']:9.1f} {moto['p50_ms']:7.1f} "
                  f"{moto['p99_ms']:7.1f} | {ratio:5.2f}x  {goal}")
    for concurrency in (1, 16):
        ours = find(workload="cycle", concurrency=concurrency, server="ec2soap")
        moto = find(workload="cycle", concurrency=concurrency, server="moto")
        if ours and moto:
            ratio = _ratio(ours, moto, "rps")
            print(f"{'Run+Terminate cycle':28} {concurrency:4} | {ours['rps']:9.1f} {ours['p50_ms']:7.1f} "
                  f"{ours['p99_ms']:7.1f} | {moto['rps']:9.1f} {moto['p50_ms']:7.1f} {moto['p99_ms']:7.1f} | "
                  f"{ratio:5.2f}x  >=1x: {_verdict(ratio, ratio >= 1)}")
    for concurrency in (1, 16):
        query = find(workload="door", door="query", concurrency=concurrency)
        soap = find(workload="door", door="soap", concurrency=concurrency)
        if query and soap:
            ratio = _ratio(soap, query, "rps")
            print(f"{'SOAP/Query DescribeInst. 50':28} {concurrency:4} | SOAP {soap['rps']:.1f} req/s "
                  f"(p99 {soap['p99_ms']:.1f}) vs Query {query['rps']:.1f} (p99 {query['p99_ms']:.1f}) | "
                  f"{ratio:5.2f}x  >=0.8x: {_verdict(ratio, ratio >= 0.8)}")
    single = find(workload="workers", setup="1 process")
    many = find(workload="workers", setup="--workers 2")
    if single and many:
        ratio = _ratio(many, single, "rps")
        print(f"{'serve --workers 2 / 1 proc.':28} {16:4} | {many['rps']:.1f} vs {single['rps']:.1f} req/s "
              f"(p99 {many['p99_ms']:.1f} vs {single['p99_ms']:.1f}) | {ratio:5.2f}x  >=1.7x: "
              f"{_verdict(ratio, ratio >= 1.7)}")


def print_cpu_and_s3(report: Report) -> None:
    cpu_rows = [r for r in report.rows if r.get("workload") == "cpu"]
    if cpu_rows:
        print("\n== Gateway CPU per request (simulator in another process; concurrency 1) ==")
        for row in cpu_rows:
            goal = ""
            if row["family"].startswith("DescribeInstances (50)"):
                value = row["server_cpu_ms_per_req"]
                goal = f"  <=2 ms: {_verdict(value, value <= 2)}"
            errors = f"  errors: {row['errors']}" if row["errors"] else ""
            print(f"  {row['family']:34} {row['server_cpu_ms_per_req']:7.2f} ms CPU  ({row['rps']:.1f} req/s, p50 "
                  f"{row['p50_ms']:.1f} ms){goal}{errors}")
    scale = [r for r in report.rows if r.get("workload") == "scale"]
    if scale:
        print("\n== DescribeInstances as the instances grow (gateway alone) ==")
        for row in scale:
            print(f"  {row['instances']:6} instances ({row['described']} described): {row['median_ms']:8.1f} ms per "
                  f"call, {row['ms_per_instance']:.3f} ms per instance, {row['cpu_ms_per_call']:.1f} ms CPU, "
                  f"peak RSS {row['rss_peak_mb']:.0f} MB, {row['response_bytes'] / 1e6:.2f} MB answer")
        first, last = scale[0], scale[-1]
        if last["instances"] > first["instances"]:
            growth = last["ms_per_instance"] / first["ms_per_instance"] if first["ms_per_instance"] else float("nan")
            print(f"  per-instance time {last['instances']} vs {first['instances']}: {growth:.2f}x (linear: ~1x or "
                  f"less); RSS {first['rss_peak_mb']:.0f} → {last['rss_peak_mb']:.0f} MB")

    s3_rows = [r for r in report.rows if r.get("section") == "s3" and "workload" in r]
    if s3_rows:
        def s3(workload: str, op: str, server: str) -> Optional[dict]:
            return next((r for r in s3_rows if r["workload"] == workload and r["op"] == op and r["server"] == server),
                        None)
        a = report.s3_args  # type: ignore[attr-defined]
        print(f"\n== S3 (MB/s = 10^6 bytes/s; {a.objects} x {a.object_mib:g} MiB at c{a.concurrency}, 1 x "
              f"{a.big_mib} MiB, {a.many} concurrent GETs of it) ==")
        checks = [("small", "PUT", "moto", 1.0), ("small", "GET", "moto", 3.0), ("big", "PUT", "moto", 1.5),
                  ("big", "GET", "nginx", 0.5), ("many", "GET", "nginx", None), ("small", "GET", "nginx", None),
                  ("big", "GET", "moto", None)]
        for workload, op, peer, goal in checks:
            ours, other = s3(workload, op, "ec2soap"), s3(workload, op, peer)
            if not ours:
                continue
            ratio = _ratio(ours, other, "mb_s")
            target = f">={goal}x: {_verdict(ratio, ratio >= goal)}" if goal else ""
            other_text = f"{other['mb_s']:8.1f}" if other and not other["errors"] else "  FAILED" if other else "       -"
            ours_text = f"{ours['mb_s']:8.1f}" if not ours["errors"] else "  FAILED"
            print(f"  {workload:5} {op:3} ours {ours_text} MB/s (p99 {ours['p99_ms']:.0f} ms, peak RSS "
                  f"{max(ours.get('rss_peak_mb', 0), ours.get('vmhwm_mb', 0)):.0f} MB) | {peer} {other_text} | "
                  f"{ratio:5.2f}x  {target}")
            for row in (ours, other):
                if row and row["errors"]:
                    print(f"      {row['server']}: {'; '.join(row['errors'])}")

    peaks = [r.get("server_rss_peak_mb", 0) for r in report.rows if r.get("server") == "ec2soap"]
    peaks += [max(r.get("rss_peak_mb", 0), r.get("vmhwm_mb", 0)) for r in s3_rows if r["server"] == "ec2soap"]
    peaks += [r["rss_peak_mb"] for r in scale]
    if peaks:
        peak = max(peaks)
        print(f"\npeak ec2soap server RSS over every measurement: {peak:.0f} MB  (< 200 MB: "
              f"{_verdict(peak, peak < 200)})")
    loads = [r for r in report.rows if "load" in r]
    print("load averages (1, 5, 15 min): " + "; ".join(f"{r['section']} {r['at']} {r['time']}: {r['load']}"
                                                        for r in loads))
    speeds = [r for r in report.rows if "speed_ms" in r]
    if speeds:
        print("machine speed (common.machine_speed, ms, lower is faster): " + "; ".join(
            f"{r['section']} {r['at']}: {r['speed_ms']:.0f}" for r in speeds))
    errors = [r for r in report.rows if r.get("errors")]
    for row in errors:
        what = row.get("workload") or row.get("section")
        print(f"  ERRORS in {what} {row.get('server', row.get('door', ''))}: {row['errors']}")


def run_section(name: str, args: argparse.Namespace, report: Report, workdir: str) -> None:
    if name == "ec2":
        section_ec2(args, report, workdir)
    elif name == "workers":
        single = start_ours(workdir, name="single")
        try:
            launch(single, 50)
            section_workers(args, report, workdir, single)
        finally:
            single.stop()
    elif name == "cpu":
        section_cpu(args, report, workdir)
    else:
        section_s3(args, report)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="2 s per measurement, smaller sizes: for iterating")
    p.add_argument("--seconds", type=float, default=None, help="seconds per measurement (default 10, quick 2)")
    p.add_argument("--rounds", type=int, default=None, help="a server and its peer are measured in this many "
                   "alternating rounds of seconds/rounds each (common.alternating; default 4, quick 2)")
    p.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    p.add_argument("--scale", type=int, nargs="+", default=None,
                   help="DescribeInstances sizes of the cpu section (default 20 200 2000, quick 20 200)")
    p.add_argument("--scale-calls", type=int, default=None, help="DescribeInstances calls per size (5, quick 2)")
    p.add_argument("--tmp-dir", default=None, help="where data dirs and the S3 files go")
    p.add_argument("--json", default=None, help="also write every row to this file")
    return p


def main(argv: Optional[list[str]] = None) -> int:
    args = parser().parse_args(argv)
    args.seconds = args.seconds or (2.0 if args.quick else 10.0)
    args.rounds = args.rounds or (2 if args.quick else 4)
    args.scale = args.scale or ([20, 200] if args.quick else [20, 200, 2000])
    args.scale_calls = args.scale_calls or (2 if args.quick else 5)
    report = Report()
    workdir = tempfile.mkdtemp(prefix="ec2soap-bench-", dir=args.tmp_dir)
    try:
        for name in SECTIONS:
            if name not in args.only or (name == "workers" and "ec2" in args.only):
                continue  # the workers section runs inside ec2's, next to its single process
            report.section(name, "start")
            try:
                run_section(name, args, report, workdir)
            except Exception as exc:  # reported, and the other sections still run
                report.add(section=name, failed=f"{type(exc).__name__}: {str(exc)[:300]}",
                           errors=[f"section {name} failed: {type(exc).__name__}: {str(exc)[:300]}"])
            report.section(name, "end")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if args.json:
            Path(args.json).write_text(json.dumps(report.rows, indent=1, default=str))
        print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
