"""Calls raced against each other from threads, for the tests of concurrent writers (unit, protocol, system)."""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterable


def race(calls: Iterable[Callable[[], Any]], *, raise_first: bool = False, timeout: float = 180.0) -> list[Any]:
    """Run CALLS at once, one thread each, released together by one barrier → each call's result, or the
    exception it raised, in the order of CALLS (RAISE_FIRST: raise the first exception instead). A call still
    running after TIMEOUT seconds fails the test rather than leaving a None among the results."""
    calls = list(calls)
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[i] = calls[i]()
        except Exception as exc:  # handed back (or raised below) in the test's thread
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,), name=f"race-{i}", daemon=True) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    hung = [i for i, thread in enumerate(threads) if thread.is_alive()]
    assert not hung, f"raced calls {hung} still running after {timeout:g} s"
    if raise_first:
        for result in results:
            if isinstance(result, Exception):
                raise result
    return results
