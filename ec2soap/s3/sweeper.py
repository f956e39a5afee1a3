"""The S3 lifecycle sweeper of one gateway process: S3Operations.sweep_lifecycle (s3.lifecycle_sweep) every
`s3_lifecycle_interval` seconds on the store's thread pool, never on the reactor. Every process of a
deployment runs one; the sweep is safe that way (see s3.lifecycle_sweep). Stopping (Running.stop, or the
graceful shutdown in ec2soap.shutdown) asks a sweep in progress to end at its next key and waits for it."""
from __future__ import annotations

import logging
import random
from typing import Any, Callable, Optional

from twisted.internet.defer import Deferred, succeed

__all__ = ["Sweeper"]

log = logging.getLogger(__name__)


class Sweeper:
    """OPS.sweep_lifecycle every INTERVAL seconds through RUN (the store's defer); INTERVAL 0: never."""

    def __init__(self, ops: Any, run: Callable[..., Deferred], interval: float, reactor: Any):
        self.ops, self.run, self.interval, self.reactor = ops, run, interval, reactor
        self._stopping = False
        self._call: Any = None
        self._sweep: Optional[Deferred] = None

    def start(self) -> None:
        if self.interval > 0:
            # Processes started together spread their first sweeps over the interval.
            self._call = self.reactor.callLater(self.interval * random.uniform(0.5, 1.0), self._tick)

    def _tick(self) -> None:
        self._call = None
        if self._stopping:
            return
        self._sweep = self.run(self.ops.sweep_lifecycle, stop=lambda: self._stopping)
        self._sweep.addErrback(lambda f: log.warning("S3 lifecycle sweep failed: %s", f.getErrorMessage()))
        self._sweep.addBoth(self._swept)

    def _swept(self, _: Any) -> None:
        self._sweep = None
        if not self._stopping:
            self._call = self.reactor.callLater(self.interval, self._tick)

    def stop(self) -> Deferred:
        """No further sweeps; → fires once the one in progress (if any) has ended."""
        self._stopping = True
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
        if self._sweep is None:
            return succeed(None)
        done: Deferred = Deferred()
        self._sweep.addBoth(lambda result: (done.callback(None), result)[1])
        return done
