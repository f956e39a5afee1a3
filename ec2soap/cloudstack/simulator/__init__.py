"""A CloudStack management server held to ../shared/reference/cloudstack-api: state in the store, served over
HTTP (signed /client/api and the unauthenticated integration port) and in-process.

Each family module exports COMMANDS, optionally JOB_ACTIONS, ADMIN_ONLY and seed(ctx).
"""
from ec2soap.cloudstack.simulator import accounts, jobs
from ec2soap.cloudstack.simulator.engine import Simulator, SimulatorConfig

FAMILIES = [accounts, jobs]

__all__ = ["Simulator", "SimulatorConfig", "FAMILIES"]
