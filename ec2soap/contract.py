"""`ec2soap cloudstack check`: hold a real CloudStack to what the gateway needs of it, and say what is missing.

Read-only unless asked: listCapabilities (it answers, which version), listApis against every command the gateway
calls (ec2soap/cloudstack/api.py COMMANDS), the zones (a Basic zone serves EC2-Classic, the first Advanced zone
EC2-VPC), in the Advanced zone what EC2-VPC needs (an enabled VPC offering, an enabled non-conserve-mode
Isolated offering for VPC tiers, the default_allow and default_deny network ACL lists; an Isolated offering
outside VPCs is shown but not required, as no EC2 action makes such a network), and the global settings that
change what users see. With `may_create` it also makes a VPC, a network
ACL list and a tier in it, then deletes all three, so the VPC router and the offerings are known to work.

Each finding is one line, `ok`, `note` or `MISSING`; the exit status is 1 when anything required is missing.
Runs outside the reactor with admin.BlockingCloudStack (or anything with its `call`/`list`). Never prints a
secret.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from ec2soap.cloudstack.admin import is_root_admin, own_account
from ec2soap.cloudstack.api import COMMANDS
from ec2soap.cloudstack.client import DEFAULT_PAGE_SIZE
from ec2soap.cloudstack.errors import CloudStackApiError, CloudStackAuthError, CloudStackError
from ec2soap.core.vpc_cloud import pick_tier_offering, pick_vpc_offering, services_of, TIER_SERVICES, VPC_SERVICES

__all__ = ["ContractReport", "check_cloudstack", "ADMIN_COMMANDS", "VPC_OFFERING", "TIER_OFFERING",
           "ISOLATED_OFFERING", "ACL_LISTS"]

# Called only with the gateway's admin keys (the users' own keys need not reach them).
ADMIN_COMMANDS = frozenset({"getUser", "listUsers", "listConfigurations"})
# CloudStack's default names (a fresh 4.18 install has them); others are accepted, and named in the report.
VPC_OFFERING = "Default VPC offering"
TIER_OFFERING = "DefaultIsolatedNetworkOfferingForVpcNetworks"
ISOLATED_OFFERING = "DefaultIsolatedNetworkOfferingWithSourceNatService"
ACL_LISTS = ("default_allow", "default_deny")
# A throwaway VPC for --may-create (RFC 1918, unlikely to be in use; CloudStack only needs it inside 10/8 etc.).
_PROBE_CIDR, _PROBE_TIER = "10.254.252.0/22", "10.254.252.0/24"
_PROBE_NAME = "ec2soap-contract-check"


class ContractReport:
    """The findings, printed as they come (SAY, default print); `missing` counts the required ones absent."""

    def __init__(self, say: Callable[[str], None] = print):
        self.say = say
        self.missing = 0
        self.lines: list[str] = []

    def _line(self, text: str) -> None:
        self.lines.append(text)
        self.say(text)

    def ok(self, text: str) -> None:
        self._line(f"ok       {text}")

    def note(self, text: str) -> None:
        self._line(f"note     {text}")

    def lack(self, text: str, *, required: bool = True) -> None:
        if required:
            self.missing += 1
            self._line(f"MISSING  {text}")
        else:
            self.note(text)


def _wait(cloud: Any, started: dict, command: str, timeout: float) -> dict:
    """Poll queryAsyncJobResult for STARTED's job → its jobresult; CloudStackApiError when the job fails."""
    jobid = started.get("jobid")
    if not jobid:
        return started
    deadline = time.monotonic() + timeout
    while True:
        job = cloud.call("queryAsyncJobResult", jobid=jobid)
        status = int(job.get("jobstatus", 0))
        if status == 1:
            return job.get("jobresult") or {}
        if status == 2:
            result = job.get("jobresult") or {}
            raise CloudStackApiError(int(result.get("errorcode", 530)), str(result.get("errortext", "job failed")),
                                     command=command)
        if time.monotonic() > deadline:
            raise CloudStackError(f"{command}: job {jobid} still running after {timeout:.0f} s", command=command)
        time.sleep(0.2)


def check_cloudstack(cloud: Any, api_key: str, *, where: str, may_create: bool = False, need_vpc: bool = True,
                     job_wait: float = 120.0, say: Callable[[str], None] = print) -> ContractReport:
    """Every check against CLOUD (keys API_KEY…, at WHERE for the messages). NEED_VPC False: the Advanced-zone
    items are notes, not requirements (a cloud that serves only EC2-Classic)."""
    report = ContractReport(say)
    try:
        caps = cloud.call("listCapabilities").get("capability") or {}
    except CloudStackAuthError:
        report.lack(f"CloudStack at {where} refuses these keys (wrong key or secret, or a disabled user)")
        return report
    except CloudStackError as exc:
        report.lack(f"CloudStack at {where} cannot be reached: {exc}")
        return report
    report.ok(f"CloudStack at {where} answers (version {caps.get('cloudstackversion', 'unknown')})")
    admin = _who(cloud, api_key, report)
    _check_apis(cloud, admin, report)
    zone = _check_zones(cloud, report, need_vpc)
    if zone is not None:
        found = _check_advanced_zone(cloud, zone, report)
        if may_create:
            if found is None:
                report.lack("--may-create: not tried, the Advanced zone lacks what a VPC needs")
            else:
                _probe_vpc(cloud, zone, found, report, job_wait)
    elif may_create:
        report.lack("--may-create: not tried, there is no Advanced zone", required=need_vpc)
    _check_affinity_types(cloud, report)
    _check_settings(cloud, admin, report)
    _check_limits(cloud, admin, report, need_vpc)
    return report


def _who(cloud: Any, api_key: str, report: ContractReport) -> bool:
    try:
        accounts = cloud.list("listAccounts")
    except CloudStackError as exc:
        report.lack(f"listAccounts failed: {exc}")
        return False
    if is_root_admin(accounts, api_key):
        report.ok("the keys belong to a root admin: every command and setting can be checked")
        return True
    account = own_account(accounts, api_key) or {}
    report.note(f"the keys belong to account {account.get('name', '?')!r} (type {account.get('accounttype', '?')}), "
                f"not a root admin: the commands are checked as that user's role allows them; the admin-only "
                f"commands and the global settings need the gateway's admin keys")
    return False


def _check_apis(cloud: Any, admin: bool, report: ContractReport) -> None:
    try:
        offered = {api.get("name") for api in cloud.list("listApis")}
    except CloudStackError as exc:
        report.lack(f"listApis failed ({exc}): the commands the gateway calls cannot be checked (is the API "
                    f"discovery plugin enabled?)")
        return
    wanted = set(COMMANDS) if admin else set(COMMANDS) - ADMIN_COMMANDS
    absent = sorted(wanted - offered)
    if absent:
        report.lack(f"commands the gateway calls that these keys may not: {', '.join(absent)} (check the "
                    f"account's role permissions)")
    else:
        report.ok(f"all {len(wanted)} commands the gateway calls{'' if admin else ' as a user'} are offered")


def _check_zones(cloud: Any, report: ContractReport, need_vpc: bool) -> dict | None:
    """The zones; → the Advanced zone EC2-VPC uses (the first one listed), or None."""
    try:
        zones = cloud.list("listZones", available="true")
    except CloudStackError as exc:
        report.lack(f"listZones failed: {exc}")
        return None
    if not zones:
        report.lack("no zone is available to these keys: nothing can run")
        return None
    basic = [z for z in zones if str(z.get("networktype", "")).lower() == "basic"]
    advanced = [z for z in zones if str(z.get("networktype", "")).lower() == "advanced"]
    for zone in basic:
        report.ok(f"zone {zone.get('name')} is Basic (security groups "
                  f"{'on' if zone.get('securitygroupsenabled') else 'off'}): EC2-Classic instances run there")
    if not basic:
        report.note("no Basic zone: EC2-Classic launches and security groups by name are not served")
    if not advanced:
        report.lack("no Advanced zone: EC2-VPC actions (CreateVpc, CreateSubnet, ...) answer UnsupportedOperation "
                    "and the VPC offerings below cannot be there", required=need_vpc)
        for item in (f"an enabled VPC offering ({VPC_OFFERING})",
                     f"an enabled network offering for VPC tiers ({TIER_OFFERING})",
                     *(f"the {name} network ACL list" for name in ACL_LISTS)):
            report.lack(f"{item}: needs an Advanced zone", required=need_vpc)
        return None
    zone = advanced[0]
    others = f" ({', '.join(z.get('name', '?') for z in advanced[1:])} not used)" if len(advanced) > 1 else ""
    report.ok(f"zone {zone.get('name')} is Advanced: EC2-VPC lives there{others}")
    return zone


def _check_advanced_zone(cloud: Any, zone: dict, report: ContractReport) -> dict | None:
    """The offerings and ACL lists of the Advanced zone → {vpc_offering, tier_offering} when a VPC can be made."""
    found: dict[str, Any] = {}
    try:
        vpc_offerings = cloud.list("listVPCOfferings", zoneid=zone["id"], state="Enabled")
        tier = [o for o in cloud.list("listNetworkOfferings", forvpc="true", state="Enabled",
                                      guestiptype="Isolated", zoneid=zone["id"]) if not o.get("conservemode")]
        isolated = cloud.list("listNetworkOfferings", forvpc="false", state="Enabled", guestiptype="Isolated",
                              zoneid=zone["id"])
        acls = {a.get("name") for name in ACL_LISTS for a in cloud.list("listNetworkACLLists", name=name)}
    except CloudStackError as exc:
        report.lack(f"the Advanced zone's offerings cannot be read: {exc}")
        return None
    for key, chosen, what, uses, absent, needed, optional, without in (
            ("vpc_offering", pick_vpc_offering(vpc_offerings), "VPC offering", "CreateVpc",
             f"no enabled VPC offering in {zone.get('name')} (CloudStack's is {VPC_OFFERING!r}): CreateVpc answers "
             f"InternalError 'No enabled VPC offering'", VPC_SERVICES, "Gateway",
             "no private gateways, so a route to one cannot be made (CreateRoute to anything but the internet "
             "gateway)"),
            ("tier_offering", pick_tier_offering(tier), "VPC tier offering", "CreateSubnet",
             f"no enabled Isolated network offering for VPC tiers without conserve mode (CloudStack's is "
             f"{TIER_OFFERING!r}): CreateSubnet answers InternalError", TIER_SERVICES, "UserData",
             "CloudStack refuses RunInstances with UserData into a subnet")):
        if chosen is None:
            report.lack(absent)
            continue
        found[key] = chosen
        report.ok(f"{what} {chosen.get('name')!r} ({uses} uses it)")
        _check_services(chosen, needed, what, report)
        if optional not in services_of(chosen):
            report.note(f"{what} {chosen.get('name')!r} has no {optional} service: {without}")
    if not isolated:
        # A standard Advanced zone has one; no EC2 action makes a network outside a VPC, so it is not required.
        report.note(f"no enabled Isolated network offering outside VPCs (CloudStack's is {ISOLATED_OFFERING!r}); "
                    f"no EC2 action uses one")
    else:
        report.ok(f"Isolated network offering {isolated[0].get('name')!r}")
    for name in ACL_LISTS:
        if name in acls:
            report.ok(f"network ACL list {name}")
        else:
            report.lack(f"network ACL list {name} (CloudStack creates it at install; CreateSubnet gives new "
                        f"subnets default_allow and answers InternalError without it)")
    return found if len(found) == 2 and all(n in acls for n in ACL_LISTS) else None


# What each service does for EC2-VPC, for the report's MISSING lines.
_SERVICE_USE = {"SourceNat": "CloudStack makes no VPC router without it (CreateVpc fails)",
                "StaticNat": "Elastic IPs in a VPC are static NAT (AssociateAddress fails)",
                "NetworkACL": "network ACLs are CloudStack ACL lists (CreateNetworkAcl and the tiers' ACLs fail)",
                "Dhcp": "instances in a subnet get their addresses from it"}


def _check_services(offering: dict, needed: tuple[str, ...], what: str, report: ContractReport) -> None:
    have = services_of(offering)
    for name in needed:
        if name not in have:
            report.lack(f"{what} {offering.get('name')!r} lacks the {name} service: {_SERVICE_USE[name]}")
    if set(needed) <= have:
        report.ok(f"{what} {offering.get('name')!r} has {', '.join(needed)}")


# Placement group strategy → the CloudStack affinity group type it is made of.
_AFFINITY_TYPES = {"spread": "host anti-affinity", "cluster": "host affinity"}


def _check_affinity_types(cloud: Any, report: ContractReport) -> None:
    try:
        offered = {str(t.get("type")) for t in cloud.list("listAffinityGroupTypes")}
    except CloudStackError as exc:
        report.lack(f"listAffinityGroupTypes failed: {exc}", required=False)
        return
    for strategy, kind in _AFFINITY_TYPES.items():
        if kind in offered:
            report.ok(f"affinity group type {kind!r} (placement groups with strategy {strategy})")
        else:
            report.note(f"no affinity group type {kind!r}: CreatePlacementGroup --strategy {strategy} is refused")


# The account limits EC2 users hit first: resource type name (listResourceLimits) → (setting, what it stops).
_LIMITS = {"user_vm": ("max.account.user.vms", "RunInstances", False),
           "public_ip": ("max.account.public.ips", "AllocateAddress, and each VPC's source NAT address", False),
           "network": ("max.account.networks", "CreateSubnet (each subnet is a CloudStack network)", True),
           "vpc": ("max.account.vpcs", "CreateVpc, and the default VPC", True)}


def _check_limits(cloud: Any, admin: bool, report: ContractReport, need_vpc: bool) -> None:
    """With admin keys the max.account.* settings every account without its own limit has; with a user's keys
    that account's own limits. A limit of 0 stops the actions named."""
    try:
        if admin:
            values = {name: _setting(cloud, setting) for name, (setting, _, _) in _LIMITS.items()}
        else:
            rows = {str(r.get("resourcetypename")): r.get("max") for r in cloud.list("listResourceLimits")}
            values = {name: None if rows.get(name) is None else str(rows[name]) for name in _LIMITS}
    except CloudStackError as exc:
        report.lack(f"the account limits cannot be read: {exc}", required=False)
        return
    for name, (setting, stops, vpc_only) in _LIMITS.items():
        label = setting if admin else f"this account's {name} limit"
        value = values[name]
        if value is not None and value.lstrip("-").isdigit() and int(value) == 0:
            report.lack(f"{label} = 0: {stops} always fails (CloudStack's resource limit)",
                        required=need_vpc or not vpc_only)
        else:
            shown = "not set" if value is None else "unlimited" if value.startswith("-") else value
            report.ok(f"{label} = {shown}")


def _probe_vpc(cloud: Any, zone: dict, found: dict, report: ContractReport, job_wait: float) -> None:
    """--may-create: a VPC, an ACL list in it and a tier, each deleted again (in reverse order, whatever failed)."""
    made: list[tuple[str, str]] = []
    try:
        vpc = _wait(cloud, cloud.call("createVPC", name=_PROBE_NAME, displaytext=_PROBE_NAME, cidr=_PROBE_CIDR,
                                      vpcofferingid=found["vpc_offering"]["id"], zoneid=zone["id"]),
                    "createVPC", job_wait).get("vpc") or {}
        made.append(("deleteVPC", vpc["id"]))
        report.ok(f"created VPC {vpc['id']} ({_PROBE_CIDR}) in {zone.get('name')}")
        acl = _wait(cloud, cloud.call("createNetworkACLList", name=_PROBE_NAME, vpcid=vpc["id"],
                                      description="ec2soap contract check"),
                    "createNetworkACLList", job_wait).get("networkacllist") or {}
        made.append(("deleteNetworkACLList", acl["id"]))
        report.ok(f"created network ACL list {acl['id']} in it")
        tier = cloud.call("createNetwork", name=_PROBE_NAME, displaytext=_PROBE_NAME, zoneid=zone["id"],
                          networkofferingid=found["tier_offering"]["id"], vpcid=vpc["id"],
                          gateway="10.254.252.1", netmask="255.255.255.0", aclid=acl["id"])
        tier = tier.get("network") or tier
        made.append(("deleteNetwork", tier["id"]))
        report.ok(f"created tier {tier['id']} ({_PROBE_TIER}) with that ACL list")
    except (CloudStackError, KeyError) as exc:
        report.lack(f"--may-create failed: {exc}")
    for command, cs_id in reversed(made):
        try:
            _wait(cloud, cloud.call(command, id=cs_id), command, job_wait)
            report.ok(f"{command} {cs_id}")
        except CloudStackError as exc:
            report.lack(f"{command} {cs_id} failed, delete it by hand: {exc}")


def _setting(cloud: Any, name: str) -> str | None:
    rows = [r for r in cloud.list("listConfigurations", name=name) if r.get("name") == name]
    return str(rows[0].get("value")) if rows else None


def _check_settings(cloud: Any, admin: bool, report: ContractReport) -> None:
    if not admin:
        report.note("global settings not checked: listConfigurations needs admin keys")
        return
    try:
        page = _setting(cloud, "default.page.size")
        ec2, s3 = _setting(cloud, "enable.ec2.api"), _setting(cloud, "enable.s3.api")
        tiers, delay = _setting(cloud, "vpc.max.networks"), _setting(cloud, "expunge.delay")
    except CloudStackError as exc:
        report.lack(f"the global settings cannot be read: {exc}")
        return
    if page is not None and page.isdigit() and int(page) < DEFAULT_PAGE_SIZE:
        report.lack(f"default.page.size = {page}: the gateway asks for pages of {DEFAULT_PAGE_SIZE} and CloudStack "
                    f"refuses a larger page than this setting; raise it to {DEFAULT_PAGE_SIZE} or more")
    else:
        report.ok(f"default.page.size = {page if page is not None else 'not set (500)'}")
    for name, value in (("enable.ec2.api", ec2), ("enable.s3.api", s3)):
        if value is not None and value.lower() == "false":
            report.note(f"{name} = false: that service answers Unavailable unless the gateway's enable_ec2 / "
                        f"enable_s3 overrides it")
        else:
            report.ok(f"{name} = {value if value is not None else 'not set (the service stays on)'}")
    report.note(f"vpc.max.networks = {tiers if tiers is not None else 'not set'}: subnets per VPC (EC2 allows 200; "
                f"CloudStack's default is 3, and CreateSubnet beyond it fails)")
    report.note(f"expunge.delay = {delay if delay is not None else 'not set'} s: how long terminated instances "
                f"stay listed")
