"""A CloudStack management server held to ../shared/reference/cloudstack-api: state in the store, served over
HTTP (signed /client/api and the unauthenticated integration port) and in-process.

This is the composition root: Simulator is the engine (engine.py) serving FAMILIES, seeded by seed.py. Each
family module registers what it serves by exporting COMMANDS, and optionally JOB_ACTIONS, ADMIN_ONLY,
TAG_RESOLVERS, seed(ctx) and advance(ctx). Seeding runs in FAMILIES order (accounts first).
"""
from __future__ import annotations

import time
from typing import Any, Callable, Iterable

from ec2soap.cloudstack.simulator import (accounts, addresses, affinity_groups, jobs, key_pairs, network_acls,
                                          networks, nics, security_groups, static_routes, tags, templates, vms,
                                          volumes, vpcs, zones)
from ec2soap.cloudstack.simulator import seed as seeding
from ec2soap.cloudstack.simulator.engine import Engine, SimulatorConfig

# vpcs seeds the advanced zone: after zones, before templates (which are made ready in every zone).
FAMILIES = [accounts, zones, vpcs, templates, security_groups, key_pairs, vms, volumes, addresses, networks,
            network_acls, static_routes, nics, affinity_groups, tags, jobs]

__all__ = ["Simulator", "SimulatorConfig", "FAMILIES"]


class Simulator(Engine):
    """The engine serving FAMILIES (or the FAMILIES given, e.g. a test's subset), with first-start seeding."""

    def __init__(self, store: Any, config: SimulatorConfig | None = None, *, clock: Callable[[], float] = time.time,
                 families: Iterable[Any] | None = None):
        super().__init__(store, config, clock=clock, families=FAMILIES if families is None else families)

    def seed(self) -> dict:
        """Create the zone, templates, offerings, admin and demo users on an empty database (idempotent).
        Returns {"admin": user, "demo": user}."""
        return self.store.run_sync(seeding.seed, self)
