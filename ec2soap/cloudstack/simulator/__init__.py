"""A CloudStack management server held to ../shared/reference/cloudstack-api: state in the store, served over
HTTP (signed /client/api and the unauthenticated integration port) and in-process.

Each family module exports COMMANDS, and optionally JOB_ACTIONS, ADMIN_ONLY, seed(ctx) and advance(ctx).
Seeding runs in this order.
"""
from ec2soap.cloudstack.simulator import (accounts, addresses, jobs, key_pairs, security_groups, tags, templates,
                                          vms, volumes, zones)
from ec2soap.cloudstack.simulator.engine import Simulator, SimulatorConfig

FAMILIES = [accounts, zones, templates, security_groups, key_pairs, vms, volumes, addresses, tags, jobs]

__all__ = ["Simulator", "SimulatorConfig", "FAMILIES"]
