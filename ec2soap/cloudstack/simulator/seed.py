"""First-start seeding, owned above the engine: accounts.seed makes the SYSTEM account, then every other family's
`seed(ctx)` runs once, in the simulator's family order, as that account."""
from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from ec2soap.cloudstack.simulator import accounts
from ec2soap.cloudstack.simulator.context import Caller, Ctx

__all__ = ["seed"]


def seed(conn: Connection, sim: Any) -> dict:
    """SIM's families seeded on CONN (idempotent: each family seeds only what is missing).
    Returns {"admin": user, "demo": user}."""
    bootstrap = Caller(user={"id": "system"}, account={"id": "system", "accounttype": 1, "name": "system"})
    ctx = Ctx(sim, conn, bootstrap, "seed", sim.clock())
    accounts.seed(ctx)
    system_user = ctx.find("user", name="system")[0]
    system_account = ctx.find("account", name="system")[0]
    ctx.caller = Caller(user=system_user, account=system_account)
    for family in sim.families:
        if family is not accounts and hasattr(family, "seed"):
            family.seed(ctx)
    return {name: ctx.find("user", name=name)[0] for name in ("admin", "demo")}
