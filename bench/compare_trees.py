"""The gateway's CPU per request and latency, two source trees back to back: `before` (an exported commit,
e.g. `git archive BASE | tar -x -C /tmp/base`) and the working tree, each as `serve --cloudstack-url` with its
own `ec2soap simulator` (bench/run.py's cpu setup), over the same instances, in alternating rounds so both see
the same machine load.

    python bench/compare_trees.py --before /tmp/base [--instances 50] [--calls 200] [--rounds 3]
        [--actions DescribeInstances DescribeSecurityGroups] [--embedded]
    python bench/compare_trees.py --before /tmp/base --embedded --actions RunInstances+TerminateInstances

`--embedded` runs each tree as the embedded default instead (`serve`, its simulator in the process): the CPU is
then the gateway's and its simulator's together, as bench/run.py's EC2 section serves. The action
RunInstances+TerminateInstances is the Run+Terminate cycle (ec2_bench.cycle), CPU and times per cycle.

Prints one line per action and round, then the medians: CPU ms per request (/proc/<pid>/stat), p50 and mean
ms per call at concurrency 1, and after/before. Not a test: run by hand.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import cpu_seconds, load_average  # noqa: E402
import ec2_bench  # noqa: E402
from ec2_bench import CYCLE, Client, action_work, launch  # noqa: E402

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start(tree: str, workdir: str, name: str, embedded: bool = False) -> ec2_bench.Target:
    """The gateway and its simulator run from TREE (PYTHONPATH first, cwd there)."""
    saved = os.environ.get("PYTHONPATH"), os.getcwd()
    os.environ["PYTHONPATH"] = tree
    os.chdir(tree)
    try:
        own = os.path.join(workdir, name)  # each its own simulator data dir
        os.makedirs(own)
        return ec2_bench.start_ours(own, separate_simulator=not embedded, name=name)
    finally:
        if saved[0] is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved[0]
        os.chdir(saved[1])


def window(target: ec2_bench.Target, action: str, calls: int) -> dict:
    client = Client(target)
    work = action_work(client, action)
    for _ in range(10):
        work()
    pid = target.process.pid
    before = cpu_seconds(pid)
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    cpu = (cpu_seconds(pid) - before) * 1000 / calls
    return {"cpu_ms": cpu, "p50_ms": statistics.median(times) * 1000, "mean_ms": statistics.mean(times) * 1000}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the source tree to compare the working tree with")
    parser.add_argument("--instances", type=int, default=50)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--actions", nargs="+", default=["DescribeInstances", "DescribeSecurityGroups"],
                        help=f"Query actions without parameters, or {CYCLE} (the cycle)")
    parser.add_argument("--embedded", action="store_true", help="each tree as the embedded default (serve with "
                        "its simulator in the process), CPU of both together")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="ec2soap-compare-")
    targets: dict[str, ec2_bench.Target] = {}
    try:
        targets["before"] = start(os.path.abspath(args.before), workdir, "before", args.embedded)
        targets["after"] = start(HERE, workdir, "after", args.embedded)
        for target in targets.values():
            launch(target, args.instances, batch=50)
        print(f"load average at start: {load_average()}", flush=True)
        rows: dict[tuple[str, str], list[dict]] = {}
        for round_ in range(args.rounds):
            for action in args.actions:
                for name in (("before", "after") if round_ % 2 == 0 else ("after", "before")):
                    row = window(targets[name], action, args.calls)
                    rows.setdefault((action, name), []).append(row)
                    print(f"round {round_ + 1} {action:26} {name:6} CPU {row['cpu_ms']:6.2f} ms/req  p50 "
                          f"{row['p50_ms']:6.2f} ms  mean {row['mean_ms']:6.2f} ms  (load {load_average()})",
                          flush=True)
        print(f"\nmedians over {args.rounds} rounds of {args.calls} calls, {args.instances} instances "
              f"(load at end {load_average()}):")
        for action in args.actions:
            b = {k: statistics.median(r[k] for r in rows[(action, "before")]) for k in ("cpu_ms", "p50_ms")}
            a = {k: statistics.median(r[k] for r in rows[(action, "after")]) for k in ("cpu_ms", "p50_ms")}
            print(f"  {action:26} CPU {b['cpu_ms']:6.2f} → {a['cpu_ms']:6.2f} ms/req ({a['cpu_ms'] / b['cpu_ms']:.2f}x)"
                  f"   p50 {b['p50_ms']:6.2f} → {a['p50_ms']:6.2f} ms ({a['p50_ms'] / b['p50_ms']:.2f}x)")
    finally:
        for target in targets.values():
            target.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
