"""Where the gateway's own CPU goes: cProfile inside `ec2soap serve --cloudstack-url` (the simulator in another
process, as bench/run.py's cpu section), over a window of back-to-back Query requests only.

    python bench/profile_gateway.py [--instances 50] [--calls 300] [--actions DescribeInstances ...] [--top 40]
    python bench/profile_gateway.py --actions RunInstances+TerminateInstances   # the Run+Terminate cycle
    python bench/profile_gateway.py --compare-only   # CPU per request without the profiler (its overhead off)
    python bench/profile_gateway.py --time-render DIR [--before TREE]   # the renderer alone on --capture's inputs

The gateway runs under a small wrapper (this file with `--serve`): SIGUSR1 starts cProfile, SIGUSR2 stops it and
writes the stats to the file named by EC2SOAP_BENCH_PROFILE. Each action's window prints the gateway's CPU per
request measured without the profiler first (/proc/<pid>/stat), then the profile's top entries by own time and
by cumulative time. Not a test: run by hand.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import cpu_seconds, load_average  # noqa: E402
import ec2_bench  # noqa: E402
from ec2_bench import Client, action_work, launch  # noqa: E402


def serve(argv: list[str]) -> int:
    """The gateway's process: `ec2soap serve ARGV`, with cProfile switched by SIGUSR1 / SIGUSR2."""
    profiler = cProfile.Profile()
    out = os.environ["EC2SOAP_BENCH_PROFILE"]

    def start(*_: object) -> None:
        profiler.enable()

    def stop(*_: object) -> None:
        profiler.disable()
        profiler.dump_stats(out)
        profiler.clear()

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    capture = os.environ.get("EC2SOAP_BENCH_CAPTURE")
    if capture:
        _capture_renders(capture)
    from ec2soap.cli import main as cli_main
    return cli_main(["serve", *argv])


def thread_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of PID's main thread alone: the reactor's. The rest of the process's CPU is
    its other threads' (the store's thread pool: SQL, file I/O), which cProfile in the main thread never sees."""
    try:
        with open(f"/proc/{pid}/task/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def print_by_module(stats: pstats.Stats) -> None:
    """Own time summed per module (ec2soap's by module, libraries by package), the poll's idle time apart."""
    totals: dict[str, float] = {}
    for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        if name == "<method 'poll' of 'select.epoll' objects>":
            key = "(idle: epoll)"
        elif "/ec2soap/" in filename:
            key = "ec2soap/" + filename.rsplit("/ec2soap/", 1)[1]
        elif "site-packages/" in filename:
            key = filename.split("site-packages/", 1)[1].split("/", 1)[0]
        elif filename == "~":
            key = "(builtins)"
        else:
            key = "stdlib/" + os.path.basename(filename)
        totals[key] = totals.get(key, 0.0) + tottime
    busy = sum(v for k, v in totals.items() if k != "(idle: epoll)")
    print(f"own time by module (busy {busy:.3f} s):")
    for key, value in sorted(totals.items(), key=lambda kv: -kv[1])[:30]:
        print(f"  {value:7.3f} s  {value * 100 / busy:5.1f}%  {key}")


def _capture_renders(directory: str) -> None:
    """Pickles the arguments of the first Query answer of each action to DIRECTORY/<Action>.pickle: the inputs
    of wire.shapes' renderer, for timing it alone (and comparing two renderers) outside the server."""
    import pickle
    from ec2soap.query import resource

    original = resource.render_document
    seen: set[str] = set()

    def render_document(action, result, request_id, version):
        if action not in seen:
            seen.add(action)
            with open(os.path.join(directory, f"{action}.pickle"), "wb") as out:
                pickle.dump((action, result, request_id, version), out)
        return original(action, result, request_id, version)

    resource.render_document = render_document

    # And the largest CloudStack answers DescribeInstances converted (listVirtualMachines, listVolumes), for
    # timing core.instance_model.to_instances alone: DIR/to_instances.pickle holds (vms, volumes).
    from ec2soap.core import terminations

    convert = terminations.to_instances
    largest = [0]

    async def to_instances(ctx, vms, *, volumes=None):
        if volumes is not None and len(vms) > largest[0]:
            largest[0] = len(vms)
            with open(os.path.join(directory, "to_instances.pickle"), "wb") as out:
                pickle.dump((list(vms), list(volumes or ())), out)
        return await convert(ctx, vms, volumes=volumes)

    terminations.to_instances = to_instances


def time_renders(directory: str, before: str | None, rounds: int = 15, calls: int = 40) -> None:
    """wire.shapes.render_document alone on each pickle --capture saved in DIRECTORY (process time, the best of
    ROUNDS rounds of CALLS calls), at the captured Version and at 2010-11-15 (the SOAP door's). With BEFORE (a
    source tree, e.g. an exported commit), that tree's ec2soap/wire/shapes.py is loaded beside ours, given our
    shapes' declarations, and timed in alternation with ours; the two outputs must be the same bytes."""
    import glob
    import importlib.util
    import pickle
    from ec2soap.wire import shapes
    importlib.import_module("ec2soap.wire.types")  # registers the shapes

    renderers = {"ours": shapes.render_document}
    if before:
        spec = importlib.util.spec_from_file_location("before_shapes",
                                                      os.path.join(before, "ec2soap", "wire", "shapes.py"))
        old = importlib.util.module_from_spec(spec)
        sys.modules["before_shapes"] = old  # its dataclasses look their module up
        spec.loader.exec_module(old)
        old.Struct, old.ListOf, old.RESPONSES = shapes.Struct, shapes.ListOf, shapes.RESPONSES
        renderers = {"before": old.render_document, **renderers}
    print(f"load average at start: {load_average()}")
    for path in sorted(glob.glob(os.path.join(directory, "*.pickle"))):
        if os.path.basename(path) == "to_instances.pickle":
            continue
        with open(path, "rb") as data:
            action, result, request_id, version = pickle.load(data)
        for each in dict.fromkeys([version, shapes.BASE_VERSION]):
            outputs = {name: render(action, result, request_id, each) for name, render in renderers.items()}
            if len(set(outputs.values())) != 1:
                raise SystemExit(f"{action} {each}: the two renderers' documents differ")
            best = dict.fromkeys(renderers, float("inf"))
            for _ in range(rounds):
                for name, render in renderers.items():
                    started = time.process_time()
                    for _ in range(calls):
                        render(action, result, request_id, each)
                    best[name] = min(best[name], (time.process_time() - started) / calls)
            line = "  ".join(f"{name} {seconds * 1000:.3f} ms" for name, seconds in best.items())
            ratio = f"  ({best['ours'] / best['before']:.2f}x)" if before else ""
            print(f"{action:28} {each}  {len(outputs['ours']):7d} B  {line}{ratio}")
    print(f"load average at end: {load_average()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.add_argument("--instances", type=int, default=50)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--actions", nargs="+", default=["DescribeInstances", "DescribeSecurityGroups"])
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--compare-only", action="store_true", help="only the CPU per request, no profile")
    parser.add_argument("--save", metavar="PREFIX", help="keep each action's stats as PREFIX<Action>.prof")
    parser.add_argument("--capture", metavar="DIR", help="pickle each action's first render inputs into DIR")
    parser.add_argument("--time-render", metavar="DIR", help="time the renderer alone on --capture's pickles")
    parser.add_argument("--before", metavar="TREE", help="with --time-render: also TREE's renderer, alternated")
    args = parser.parse_args()
    if args.serve is not None:
        return serve(args.serve)
    if args.time_render:
        time_renders(args.time_render, args.before)
        return 0
    workdir = tempfile.mkdtemp(prefix="ec2soap-profile-")
    stats_file = os.path.join(workdir, "gateway.prof")
    os.environ["EC2SOAP_BENCH_PROFILE"] = stats_file
    if args.capture:
        os.makedirs(args.capture, exist_ok=True)
        os.environ["EC2SOAP_BENCH_CAPTURE"] = os.path.abspath(args.capture)
    # start_ours runs `sys.executable -m ec2soap serve ...`: run this file's --serve wrapper instead.
    real_popen = ec2_bench.subprocess.Popen

    def popen(command, *a, **kw):
        if command[1:4] == ["-m", "ec2soap", "serve"]:
            command = [command[0], os.path.abspath(__file__), "--serve", *command[4:]]
        return real_popen(command, *a, **kw)

    ec2_bench.subprocess.Popen = popen
    try:
        target = ec2_bench.start_ours(workdir, separate_simulator=True, name="profiled")
    finally:
        ec2_bench.subprocess.Popen = real_popen
    pid = target.process.pid
    try:
        launch(target, args.instances, batch=50)
        client = Client(target)
        print(f"load average at start: {load_average()}")
        for action in args.actions:
            work = action_work(client, action)
            for _ in range(20):
                work()
            before, main_before, started = cpu_seconds(pid), thread_cpu_seconds(pid), time.perf_counter()
            for _ in range(args.calls):
                work()
            elapsed = time.perf_counter() - started
            cpu = (cpu_seconds(pid) - before) * 1000 / args.calls
            main_cpu = (thread_cpu_seconds(pid) - main_before) * 1000 / args.calls
            print(f"\n== {action} over {args.instances} instances: gateway CPU {cpu:.2f} ms per request "
                  f"(reactor thread {main_cpu:.2f}, other threads {cpu - main_cpu:.2f}), "
                  f"{elapsed * 1000 / args.calls:.2f} ms per call (no profiler; load {load_average()}) ==")
            if args.compare_only:
                continue
            os.kill(pid, signal.SIGUSR1)
            time.sleep(0.2)
            for _ in range(args.calls):
                work()
            os.kill(pid, signal.SIGUSR2)
            deadline = time.monotonic() + 10
            while not os.path.exists(stats_file) and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.5)
            stats = pstats.Stats(stats_file)
            print_by_module(stats)
            stats.sort_stats("tottime").print_stats(args.top)
            stats.sort_stats("cumulative").print_stats(args.top)
            if args.save:
                shutil.copy(stats_file, f"{args.save}{action}.prof")
            os.remove(stats_file)
        print(f"load average at end: {load_average()}")
    finally:
        target.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
