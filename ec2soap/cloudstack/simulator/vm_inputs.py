"""Simulator: what deployVirtualMachine (and updateVirtualMachine) take in, checked as UserVmManagerImpl checks
it: the zone and template, security groups, key pairs, user data, the password (RSAHelper-style encryption) and
the guest NIC. vms.py serves the commands; this module holds no command of its own.
"""
from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import secrets

from ec2soap.cloudstack.simulator.context import Ctx
from ec2soap.cloudstack.simulator.errors import SimError, invalid_value, param_error, permission_denied
from ec2soap.cloudstack.simulator.key_pairs import find_key_pair
from ec2soap.cloudstack.simulator.security_groups import default_group

__all__ = ["USERDATA_MAX", "PASSWORD_LENGTH", "usable_zone", "usable_template", "zone_sg_enabled",
           "default_group_of", "security_groups_for", "key_pairs_for", "checked_userdata", "encrypt_password",
           "new_password", "set_password", "guest_nic"]

# UserVmManagerImpl's limit on user data (vm.userdata.max.length, default 32768), applied to the base64 text and
# to the decoded bytes.
USERDATA_MAX = 32768
PASSWORD_LENGTH = 6  # vm.password.length
_PASSWORD_CHARS = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_BASE64 = re.compile(r"^[A-Za-z0-9+/\r\n]*={0,2}\s*$")


# -- what a deploy names -------------------------------------------------------------------------------------------------------
def usable_zone(ctx: Ctx, zone_id: str) -> dict:
    zone = ctx.lookup("zone", zone_id, "zoneid")
    if zone.get("allocationstate") == "Disabled" and not ctx.caller.is_admin:
        raise permission_denied(f"Cannot perform this operation, Zone is currently disabled: {zone_id}")
    return zone


def usable_template(ctx: Ctx, template_id: str, zone: dict, owner: dict) -> dict:
    template = ctx.lookup("template", template_id, "templateid")
    visible = (ctx.caller.is_admin or template.get("ispublic") or template.get("isfeatured")
               or template.get("accountid") in (owner["id"], ctx.caller.account_id)
               or owner["id"] in template.get("_permittedaccounts", ()))
    if not visible:
        raise permission_denied(f"Account {ctx.caller.account['name']} does not have permission to operate "
                                f"with resource {template_id}")
    zones = set(template.get("_zoneids") or ()) | {template.get("zoneid")}
    if template.get("zoneid") not in (None, "", "-1") and zone["id"] not in zones:
        raise param_error(f"Template {template_id} is not available in zone {zone['id']}")
    if not template.get("isready", True):
        raise param_error(f"Template {template_id} has not been completely downloaded to zone {zone['id']}")
    return template


def zone_sg_enabled(zone: dict) -> bool:
    # A basic zone is always security-group enabled.
    return bool(zone.get("securitygroupsenabled")) or zone.get("networktype", "Basic") == "Basic"


def default_group_of(ctx: Ctx, owner: dict) -> dict:
    return default_group(ctx, owner["id"])


def security_groups_for(ctx: Ctx, p: dict, owner: dict, zone: dict) -> list[str]:
    ids, names = p.get("securitygroupids") or [], p.get("securitygroupnames") or []
    if ids and names:
        raise param_error("securitygroupids parameter is mutually exclusive with securitygroupnames parameter")
    if not zone_sg_enabled(zone):
        if ids or names:
            raise param_error("Can't create vm with security groups; security group feature is not enabled on "
                              "this zone")
        return []
    groups = []
    for gid in ids:
        group = ctx.get("securitygroup", gid)
        if group is None:
            raise invalid_value(ctx.command, "securitygroupids", gid)
        if group.get("accountid") != owner["id"]:
            raise permission_denied(f"Account {owner['name']} does not have permission to operate with "
                                    f"resource {gid}")
        groups.append(group["id"])
    for name in names:
        found = ctx.find("securitygroup", account_id=owner["id"], name=name)
        if not found:
            raise param_error(f"Unable to find group by name {name}")
        groups.append(found[0]["id"])
    # Only when none is given does CloudStack add the account's default group.
    return list(dict.fromkeys(groups)) or [default_group_of(ctx, owner)["id"]]


def key_pairs_for(ctx: Ctx, p: dict, owner: dict) -> list[dict]:
    names = list(dict.fromkeys((p.get("keypairs") or []) + ([p["keypair"]] if p.get("keypair") else [])))
    if not names:
        return []
    pairs = [find_key_pair(ctx, owner["id"], n) for n in names]
    if any(pair is None for pair in pairs):
        if len(names) == 1:
            raise param_error(f"A key pair with name '{names[0]}' was not found.")
        # CloudStack quirk: the message really says "keyparis".
        raise param_error("Not all specified keyparis exist")
    return pairs  # type: ignore[return-value]


def checked_userdata(value: str | None) -> str | None:
    """validateUserData: base64 text, at most 32 KB both encoded and decoded; stored re-encoded with padding."""
    if value is None:
        return None
    if not _BASE64.match(value):
        raise param_error("User data is not base64 encoded")
    if len(value) > USERDATA_MAX:
        raise param_error(f"User data has exceeded configurable max length : {USERDATA_MAX}")
    text = re.sub(r"\s", "", value)
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise param_error("User data is not base64 encoded") from None
    if len(raw) > USERDATA_MAX:
        raise param_error("User data is too long for POST request")
    if not raw:
        raise param_error("User data is too short")
    return base64.b64encode(raw).decode()


def encrypt_password(public_key: str, password: str) -> str | None:
    """RSAHelper.encryptWithSSHPublicKey: PKCS#1 v1.5 with the OpenSSH RSA key, base64; None for other keys."""
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from cryptography.hazmat.primitives.serialization import load_ssh_public_key

    try:
        key = load_ssh_public_key(public_key.strip().splitlines()[0].encode())
    except (ValueError, IndexError):
        return None
    if not isinstance(key, rsa.RSAPublicKey):
        return None
    return base64.b64encode(key.encrypt(password.encode(), padding.PKCS1v15())).decode()


def new_password() -> str:
    return "".join(secrets.choice(_PASSWORD_CHARS) for _ in range(PASSWORD_LENGTH))


def set_password(ctx: Ctx, vm: dict) -> str:
    """A fresh password; kept only encrypted with the VM's first key pair, as CloudStack keeps it for getVMPassword."""
    password = new_password()
    vm.pop("_encryptedpassword", None)
    if vm.get("_publickey"):
        encrypted = encrypt_password(vm["_publickey"], password)
        if encrypted:
            vm["_encryptedpassword"] = encrypted
    return password


def guest_nic(ctx: Ctx, zone: dict, vm_id: str, requested_ip: str | None) -> dict:
    """One NIC on the zone's guest network with the next free address (a per-network counter)."""
    networks = ctx.find("network", where=lambda n: n.get("zoneid") == zone["id"]
                        and n.get("traffictype", "Guest") == "Guest")
    network = networks[0] if networks else {}
    gateway = network.get("gateway") or zone.get("_gateway") or "10.1.1.1"
    netmask = network.get("netmask") or zone.get("_netmask") or "255.255.255.0"
    cidr = ipaddress.ip_network(network.get("cidr") or f"{gateway}/{netmask}", strict=False)
    if requested_ip:
        try:
            address = ipaddress.ip_address(requested_ip)
        except ValueError:
            raise param_error(f"Invalid format for IPv4 address: {requested_ip}") from None
        taken = {n.get("ipaddress") for vm in ctx.find("vm", where=lambda v: v.get("zoneid") == zone["id"])
                 for n in vm.get("nic", [])}
        if address not in cidr or requested_ip in taken or requested_ip == gateway:
            raise SimError(533, f"The requested IP address {requested_ip} is not available in network "
                                f"{network.get('name', cidr)}", 4320)
    else:
        # The network's guest IP range when it has one (`_iprange`), else the whole CIDR.
        first, last = network.get("_iprange") or (str(cidr.network_address + 2), str(cidr.broadcast_address - 1))
        first_ip, last_ip = ipaddress.ip_address(first), ipaddress.ip_address(last)
        while True:
            address = first_ip + ctx.next_counter(f"guestip:{network.get('id', zone['id'])}", start=1) - 1
            if address > last_ip:
                raise SimError(533, f"Insufficient address capacity in network {network.get('name', cidr)}",
                               4320)
            if str(address) != gateway:
                break
    mac = ctx.next_counter("macaddress")
    nic = {"id": ctx.new_uuid(), "networkid": network.get("id"), "networkname": network.get("name"),
           "netmask": netmask, "gateway": gateway, "ipaddress": str(address),
           "traffictype": "Guest", "type": network.get("type", "Shared"), "isdefault": True,
           "macaddress": "02:00:" + ":".join(f"{(mac >> s) & 0xff:02x}" for s in (24, 16, 8, 0)),
           "deviceid": "0", "virtualmachineid": vm_id, "secondaryip": [], "extradhcpoption": []}
    if network.get("broadcasturi"):
        nic["broadcasturi"] = nic["isolationuri"] = network["broadcasturi"]
    return {k: v for k, v in nic.items() if v is not None}
