"""Compatibility shim for Spyne 2.14 on current Twisted. Imports only the standard library and `constantly`.

Spyne's Twisted support imports `twisted.python.constants`, which Twisted removed in favour of the `constantly`
package it was extracted into (same classes). `install()` maps the old module name to `constantly`; call it
before anything imports `spyne.server.twisted`.
"""
from __future__ import annotations

import sys

__all__ = ["install"]


def install() -> None:
    if "twisted.python.constants" not in sys.modules:
        import constantly

        sys.modules["twisted.python.constants"] = constantly


install()
