"""Simulator: queryAsyncJobResult and listAsyncJobs (protocol.md §8)."""
from __future__ import annotations

from sqlalchemy import select

from ec2soap.cloudstack.simulator.engine import Ctx, Listing, invalid_value, permission_denied
from ec2soap.store.tables import cs_job

__all__ = ["COMMANDS"]


def _query_async_job_result(ctx: Ctx, p: dict) -> dict:
    job = ctx.conn.execute(select(cs_job).where(cs_job.c.uuid == p["jobid"])).first()
    if job is None:
        raise invalid_value(ctx.command, "jobid", p["jobid"])
    if not ctx.caller.is_admin and job.account_id != ctx.caller.account_id:
        raise permission_denied(f"Account {ctx.caller.account['name']} does not have permission to access "
                                f"job {p['jobid']}")
    return ctx.sim.job_response(ctx, job)


def _list_async_jobs(ctx: Ctx, p: dict) -> Listing:
    ctx.known(p, domainid="domain")
    query = select(cs_job).order_by(cs_job.c.id)
    scope = ctx.scope_accounts(p)
    if scope is not None:
        query = query.where(cs_job.c.account_id == scope)
    jobs = [ctx.sim.job_response(ctx, j) for j in ctx.conn.execute(query)]
    if p.get("keyword"):
        jobs = [j for j in jobs if p["keyword"].lower() in j["cmd"].lower()]
    return Listing(jobs)


COMMANDS = {
    "queryAsyncJobResult": _query_async_job_result,
    "listAsyncJobs": _list_async_jobs,
}
