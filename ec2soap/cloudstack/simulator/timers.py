"""When the families' time-driven changes (advance(ctx): expunging destroyed VMs, finishing template downloads)
must be looked at again, so a request scans for them only when one can be due.

A family with advance() declares TIMERS: kind → timer(doc), the time the doc's own time-driven change is due
(None: it has none). A write of a doc with a timer brings the next look forward to that time; advance()'s
scan sets it to the earliest change still waiting. A family with advance() and no TIMERS makes every write
bring it forward to now (the scan on the next request, as before timers).

Profiled (Run+Terminate with 50 VMs standing, the simulator's own CPU): every write made the next request scan
and decode every VM, about 15 % of the simulator's time; with timers a cycle scans about once.

A scan runs in a transaction that may not see a write committed meanwhile: a writer notes its timers once it
has committed (`collect`/`flush` around each request), and a scan's result is only taken as is when no timer
was noted since its request began (its epoch); otherwise the earlier of the two is kept. Bringing a look
forward more than needed only costs a scan.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Iterable

__all__ = ["Timers"]


class Timers:
    def __init__(self, families: Iterable[Any]):
        self.timers: dict[str, Callable[[dict], float | None]] = {}
        self.untimed = False  # a family with advance() but no TIMERS: every write may start a change
        for family in families:
            if hasattr(family, "advance"):
                timers = getattr(family, "TIMERS", None)
                if timers is None:
                    self.untimed = True
                else:
                    self.timers.update(timers)
        self.next_look = 0.0  # a fresh process looks at once
        self._epoch = 0
        self._lock = threading.Lock()
        self._local = threading.local()

    def begin(self) -> None:
        """A request starts, before its transaction reads anything: its scans are judged by this epoch."""
        self._local.epoch = self._epoch
        self._local.noted = []

    def end(self) -> None:
        """The request's transaction is over (committed or not): its timers count from now on."""
        noted, self._local.noted = getattr(self._local, "noted", None), None
        for due in noted or ():
            self.note(due)

    def wrote(self, kind: str, doc: dict | None) -> None:
        """DOC of KIND was inserted or saved (None: a row was removed)."""
        if self.untimed:
            due: float | None = 0.0
        else:
            timer = self.timers.get(kind)
            due = timer(doc) if timer is not None and doc is not None else None
        if due is not None:
            self.due(due)

    def due(self, when: float) -> None:
        """A time-driven change may be due at WHEN (noted when the current request ends)."""
        noted = getattr(self._local, "noted", None)
        if noted is None:
            self.note(when)
        else:
            noted.append(when)

    def note(self, when: float) -> None:
        with self._lock:
            self._epoch += 1
            if when < self.next_look:
                self.next_look = when

    def scanned(self, upcoming: float) -> None:
        """advance() found UPCOMING (inf: nothing) as the earliest change still waiting."""
        epoch = getattr(self._local, "epoch", None)
        with self._lock:
            if epoch == self._epoch:
                self.next_look = upcoming
            else:
                self.next_look = min(self.next_look, upcoming)
