"""The simulator's read cache: the stored text of the rows Ctx.find and Ctx.get read, kept between requests.

Every list command used to read and decode every row of its kind from the database (DescribeInstances over 50
instances: all VMs, then all volumes, then each VM's template, offering and zone), which was half the CPU of
the embedded default. The rows only change through Ctx.insert/save/remove, so the text read by one read-only
request is good for the next until something is written.

Correctness rests on a generation number, bumped at every write and again after every writing request has
committed (or rolled back). A read-only request takes the generation before its first read; what it reads is
stored only if the generation is still the same afterwards, so nothing read from a snapshot older than a
committed write is kept, and an entry written before the latest write is never served. Writing requests
bypass the cache (they must see their own uncommitted rows). A write made outside Engine.handle (a test
writing the database through a Ctx of its own) cannot be followed to its commit: once requests are being
served, it switches the cache off for good for that Simulator (seeding, before the first request, is fine). Another process writing the same database is not supported by the simulator
anyway (its state belongs to the process that serves it); Simulators in one process on one Store share one
cache (ReadCache.of), so a job one queues is seen by the other.

Each entry belongs to a kind (the row kind a Ctx.get or Ctx.find read, "job" for the engine's next due job):
a write of one kind drops that kind's entries only, so a deploy (VMs, volumes, NICs, addresses, jobs) leaves
the users, accounts, settings, templates, offerings and zones every request reads in place. A change whose
kind is not named (changed() without one) drops everything, as does the end of a writing request that made
one. A reader still takes the one generation, so nothing it read races any write, and keeps nothing of a kind
a writing request under way has written (its commit comes before its end). So what the cache holds of a kind
is what is committed of it, and a writing request reads the entries of kinds it has not written itself while
no other writing request has either; it stores none.
"""
from __future__ import annotations

import threading
import weakref
from contextlib import contextmanager
from typing import Any, Callable, Hashable, Iterator

__all__ = ["ReadCache"]

# Enough for every (kind, account, name) listing and uuid row of a busy simulator; a kind's go at its writes,
# and all of them when there are more.
_MAX_ENTRIES = 20000


_BY_STORE: "weakref.WeakKeyDictionary[Any, ReadCache]" = weakref.WeakKeyDictionary()
_BY_STORE_LOCK = threading.Lock()


class ReadCache:
    @classmethod
    def of(cls, store: Any) -> "ReadCache":
        """The one cache of every Simulator on STORE in this process."""
        with _BY_STORE_LOCK:
            cache = _BY_STORE.get(store)
            if cache is None:
                cache = _BY_STORE[store] = cls()
            return cache

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()
        self._generation = 0
        # kind → {key: value}; the kind None holds what any write may change.
        self._entries: dict[Hashable, dict[Hashable, Any]] = {}
        self._count = 0
        # Kinds written by writing requests still under way (None: any kind) → how many such requests.
        self._dirty: dict[Hashable, int] = {}
        self.enabled = True
        self._serving = False

    @contextmanager
    def reading(self) -> Iterator[None]:
        """A read-only request on this thread: it may use and fill the cache."""
        with self._lock:
            self._serving = True
            self._local.token = self._generation if self.enabled else None
        try:
            yield
        finally:
            self._local.token = None

    @contextmanager
    def writing(self) -> Iterator[None]:
        """A writing request on this thread: it reads the entries of kinds no write under way has touched (its
        own included) and stores none; the generation moves once it has ended."""
        self._serving = True
        self._local.writing = True
        self._local.touched = set()
        try:
            yield
        finally:
            self._local.writing = False
            touched, self._local.touched = self._local.touched, set()
            self._bump(touched, ended=True)

    def changed(self, kind: Hashable = None) -> None:
        """A row of KIND was written (Ctx.insert/save/remove; None: of any kind)."""
        if self._serving and not getattr(self._local, "writing", False):
            with self._lock:
                self.enabled = False
        touched = getattr(self._local, "touched", None)
        first = touched is not None and getattr(self._local, "writing", False) and kind not in touched
        if first:
            touched.add(kind)
        self._bump({kind}, started=first)

    def _bump(self, kinds: set, *, started: bool = False, ended: bool = False) -> None:
        """A new generation; the entries of KINDS go, and those any write may change (all when None is one).
        STARTED: a writing request's first write of KINDS (dirty until it ENDED)."""
        with self._lock:
            self._generation += 1
            for kind in kinds if started or ended else ():
                count = self._dirty.get(kind, 0) + (1 if started else -1)
                if count > 0:
                    self._dirty[kind] = count
                else:
                    self._dirty.pop(kind, None)
            if None in kinds:
                self._entries.clear()
                self._count = 0
                return
            for kind in (*kinds, None):
                self._count -= len(self._entries.pop(kind, ()))

    def fetch(self, key: Hashable, read: Callable[[], Any], kind: Hashable = None) -> Any:
        """The cached value of KEY (rows of KIND; None: changed by any write), or READ()'s (stored when still
        valid)."""
        token = getattr(self._local, "token", None)
        if token is None:
            if kind is not None and getattr(self._local, "writing", False) and self.enabled:
                touched = self._local.touched
                # What the cache holds of a kind no write under way touches is the committed state, which
                # the writer (holding the write lock) would read.
                if None not in touched and kind not in touched:
                    with self._lock:
                        group = self._entries.get(kind)
                        if group is not None and key in group and not self._dirty.get(kind) \
                                and not self._dirty.get(None):
                            return group[key]
            return read()
        with self._lock:
            if token == self._generation:
                group = self._entries.get(kind)
                if group is not None and key in group:
                    return group[key]
        value = read()
        with self._lock:
            # Not a kind a writing request under way has written: its commit could come before its end. What any
            # write may change (KIND None) is kept only while no writing request under way has written at all.
            dirty = bool(self._dirty) if kind is None else self._dirty.get(kind) or self._dirty.get(None)
            if token == self._generation and self.enabled and not dirty:
                if self._count >= _MAX_ENTRIES:  # full: start again rather than grow
                    self._entries.clear()
                    self._count = 0
                group = self._entries.setdefault(kind, {})
                if key not in group:
                    self._count += 1
                group[key] = value
        return value
