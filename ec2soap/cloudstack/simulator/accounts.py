"""Simulator: domains, accounts, users and API keys (AccountManagerImpl behaviour)."""
from __future__ import annotations

import base64
import hashlib
import os
import secrets
from typing import Any

from ec2soap.cloudstack.simulator.engine import (ADMIN, SUCCESS, USER, Ctx, Listing, SimError, cs_date,
                                                 invalid_value, keyword_filter, param_error, permission_denied)

__all__ = ["COMMANDS", "JOB_ACTIONS", "seed", "create_account", "new_keys", "render_user", "render_account",
           "owner_fields", "owner_account",
           "RESOURCE_TYPES", "limit_of", "count_of"]

ROLES = {ADMIN: ("Admin", "Root Admin"), USER: ("User", "User"), 2: ("DomainAdmin", "Domain Admin")}
ROLE_IDS = {ADMIN: "00000000-0000-4000-8000-000000000001", USER: "00000000-0000-4000-8000-000000000004",
            2: "00000000-0000-4000-8000-000000000002"}

# Resource types of listResourceLimits (Resource.ResourceType ordinals) → (name in account responses, kind counted).
RESOURCE_TYPES = {0: ("vm", "vm"), 1: ("ip", "ipaddress"), 2: ("volume", "volume"), 3: ("snapshot", "snapshot"),
                  4: ("template", "template"), 5: ("project", None), 6: ("network", "network"), 7: ("vpc", "vpc"),
                  8: ("cpu", None), 9: ("memory", None), 10: ("primarystorage", None),
                  11: ("secondarystorage", None)}
# A user account without a limit of its own has the global setting's value, read each time (as CloudStack's
# ResourceLimitManagerImpl does), so changing the setting changes every such account; 20 each in a fresh 4.18
# (Config.java, "Account Defaults"). Root admin accounts are unlimited.
LIMIT_SETTINGS = {"vm": "max.account.user.vms", "ip": "max.account.public.ips", "volume": "max.account.volumes",
                  "snapshot": "max.account.snapshots", "template": "max.account.templates",
                  "network": "max.account.networks", "vpc": "max.account.vpcs"}
DEFAULT_USER_LIMITS = {name: 20 for name in LIMIT_SETTINGS}


def new_keys() -> tuple[str, str]:
    """Two 86-character URL-safe Base64 strings, like registerUserKeys (protocol.md §2 'Key format')."""
    def one() -> str:
        return base64.urlsafe_b64encode(secrets.token_bytes(64)).decode().rstrip("=")
    return one(), one()


def _hash_password(password: str) -> str:
    salt = os.urandom(16)
    return salt.hex() + ":" + hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 10000).hex()


def owner_fields(ctx: Ctx, account: dict) -> dict:
    """The owner fields every owned resource stores: accountid, account, domainid, domain."""
    domain = ctx.get("domain", account.get("domainid"), removed=True) or {}
    return {"accountid": account["id"], "account": account["name"], "domainid": account.get("domainid", ""),
            "domain": domain.get("name", "ROOT")}


def owner_account(ctx: Ctx, p: dict) -> dict:
    """AccountManager.finalizeOwner: the caller's account, or for an admin the one named by `account`."""
    name = p.get("account")
    if not name or name == ctx.caller.account.get("name"):
        return ctx.caller.account
    found = ctx.find("account", name=name)
    if not found:
        raise param_error(f"Unable to find account {name} in domain {p.get('domainid', '')}".rstrip())
    if not ctx.caller.is_admin:
        raise permission_denied(f"Account {ctx.caller.account.get('name')} does not have permission to operate "
                                f"within account {name}")
    return found[0]


def root_domain(ctx: Ctx) -> dict:
    found = ctx.find("domain", name="ROOT")
    if found:
        return found[0]
    return ctx.insert("domain", {"name": "ROOT", "path": "ROOT", "level": 0})


def limit_of(ctx: Ctx, account: dict, resource: str) -> int:
    """The account's limit for a resource name of RESOURCE_TYPES; -1 is unlimited."""
    own = account.get("limits", {}).get(resource)
    if own is not None:
        return int(own)
    if account.get("accounttype") == ADMIN or resource not in LIMIT_SETTINGS:
        return -1
    return ctx.config_int(LIMIT_SETTINGS[resource], DEFAULT_USER_LIMITS[resource])


def count_of(ctx: Ctx, account: dict, resource: str) -> int:
    kind = next((k for n, k in RESOURCE_TYPES.values() if n == resource), None)
    if kind is None:
        return 0
    return len(ctx.find(kind, account_id=account["id"],
                        where=lambda o: o.get("state") not in ("Destroyed", "Expunging", "Expunged")
                        and not o.get("_system")))


def render_account(ctx: Ctx, account: dict, *, with_users: bool = True) -> dict:
    out: dict[str, Any] = {
        "id": account["id"], "name": account["name"], "accounttype": account["accounttype"],
        "roleid": ROLE_IDS[account["accounttype"]], "roletype": ROLES[account["accounttype"]][0],
        "rolename": ROLES[account["accounttype"]][1], "domainid": account["domainid"], "domain": "ROOT",
        "domainpath": "ROOT", "state": account["state"], "isdefault": account.get("isdefault", False),
        "created": cs_date(account["_created"]), "groups": [],
    }
    for _, (name, kind) in sorted(RESOURCE_TYPES.items()):
        if name == "project" or kind is None:
            continue
        limit = limit_of(ctx, account, name)
        total = count_of(ctx, account, name)
        out[f"{name}limit"] = "Unlimited" if limit < 0 else str(limit)
        out[f"{name}total"] = total
        out[f"{name}available"] = "Unlimited" if limit < 0 else str(max(limit - total, 0))
    if account.get("networkdomain"):
        out["networkdomain"] = account["networkdomain"]
    if with_users:
        out["user"] = [render_user(ctx, u, secret=False) for u in ctx.find("user", account_id=account["id"])]
    return out


def render_user(ctx: Ctx, user: dict, *, secret: bool) -> dict:
    account = ctx.get("account", user["accountid"], removed=True) or {}
    out: dict[str, Any] = {
        "id": user["id"], "username": user["username"], "firstname": user["firstname"],
        "lastname": user["lastname"], "created": cs_date(user["_created"]), "state": user["state"],
        "account": account.get("name", ""), "accounttype": account.get("accounttype", USER),
        "usersource": "native", "roleid": ROLE_IDS[account.get("accounttype", USER)],
        "roletype": ROLES[account.get("accounttype", USER)][0], "rolename": ROLES[account.get("accounttype", USER)][1],
        "domainid": user["domainid"], "domain": "ROOT", "accountid": user["accountid"],
        "iscallerchilddomain": False, "isdefault": user.get("isdefault", False),
        "is2faenabled": False, "is2famandated": False,
    }
    if user.get("email"):
        out["email"] = user["email"]
    if user.get("timezone"):
        out["timezone"] = user["timezone"]
    if user.get("apikey"):
        out["apikey"] = user["apikey"]
        if secret:
            out["secretkey"] = user["secretkey"]
    return out


def _new_user(ctx: Ctx, account: dict, p: dict, *, isdefault: bool = False) -> dict:
    if ctx.find("user", name=p["username"], where=lambda u: u["domainid"] == account["domainid"]):
        raise param_error(f"The user {p['username']} already exists in domain ROOT")
    return ctx.insert("user", {
        "username": p["username"], "firstname": p["firstname"], "lastname": p["lastname"],
        "email": p.get("email", ""), "timezone": p.get("timezone", ""), "state": "enabled",
        "accountid": account["id"], "domainid": account["domainid"], "isdefault": isdefault,
        "_password": _hash_password(p["password"]), "_created": ctx.now,
    }, account_id=account["id"])


def create_account(ctx: Ctx, p: dict) -> dict:
    """createAccount: an account named `account` (default: the username) with its first user."""
    accounttype = int(p.get("accounttype", USER))
    if accounttype not in ROLES:
        raise param_error(f"Invalid account type {accounttype} given; unable to create user")
    name = p.get("account") or p["username"]
    domain = root_domain(ctx)
    if ctx.find("account", name=name):
        raise param_error(f"The specified account: {name} already exists")
    account = ctx.insert("account", {
        "name": name, "accounttype": accounttype, "domainid": domain["id"], "state": "enabled",
        "networkdomain": p.get("networkdomain", ""), "_created": ctx.now, "isdefault": p.get("_isdefault", False),
        "limits": {},  # only the limits set on this account (limit_of falls back to the settings)
    })
    ctx.save("account", account)
    _new_user(ctx, account, p, isdefault=p.get("_isdefault", False))
    return account


def _create_account(ctx: Ctx, p: dict) -> dict:
    return render_account(ctx, create_account(ctx, p))


def _create_user(ctx: Ctx, p: dict) -> dict:
    accounts = ctx.find("account", name=p["account"])
    if not accounts:
        raise param_error(f"Unable to find account {p['account']} in domain id=ROOT to create user")
    return render_user(ctx, _new_user(ctx, accounts[0], p), secret=False)


def _user_or_431(ctx: Ctx, p: dict) -> dict:
    user = ctx.get("user", p["id"])
    if user is None:
        raise invalid_value(ctx.command, "id", p["id"])
    if not ctx.caller.is_admin and user["id"] != ctx.caller.user_id:
        raise permission_denied(f"Account {ctx.caller.account['name']} does not have permission to operate "
                                f"on user {user['username']}")
    return user


def _register_user_keys(ctx: Ctx, p: dict) -> dict:
    user = _user_or_431(ctx, p)
    user["apikey"], user["secretkey"] = new_keys()
    ctx.save("user", user)
    return {"apikey": user["apikey"], "secretkey": user["secretkey"]}


def _get_user(ctx: Ctx, p: dict) -> dict:
    found = ctx.find("user", where=lambda u: u.get("apikey") == p["userapikey"])
    if not found:
        # CloudStack quirk: getUser with an unknown key answers an empty object rather than an error.
        return {}
    return render_user(ctx, found[0], secret=True)


def _list_users(ctx: Ctx, p: dict) -> Listing:
    ctx.known(p, domainid="domain")
    scope = ctx.scope_accounts(p)
    users = ctx.find("user", account_id=scope)
    if not ctx.caller.is_admin:
        users = [u for u in users if u["accountid"] == ctx.caller.account_id]
    for key in ("id", "username", "state"):
        if key in p:
            users = [u for u in users if str(u.get(key)) == str(p[key])]
    if "accounttype" in p:
        users = [u for u in users if (ctx.get("account", u["accountid"]) or {}).get("accounttype") == p["accounttype"]]
    users = [u for u in users if (ctx.get("account", u["accountid"]) or {}).get("name") != "system"]
    users = keyword_filter(users, p.get("keyword"), "username", "firstname", "lastname")
    return Listing([render_user(ctx, u, secret=False) for u in users])


def _list_accounts(ctx: Ctx, p: dict) -> Listing:
    ctx.known(p, domainid="domain")
    accounts = ctx.find("account")
    if not ctx.caller.is_admin:
        accounts = [a for a in accounts if a["id"] == ctx.caller.account_id]
    elif not (p.get("listall") or p.get("id") or p.get("name") or p.get("domainid")):
        accounts = [a for a in accounts if a["id"] == ctx.caller.account_id]
    for key in ("id", "name", "state", "accounttype"):
        if key in p:
            accounts = [a for a in accounts if str(a.get(key)) == str(p[key])]
    accounts = [a for a in accounts if a["name"] != "system"]
    accounts = keyword_filter(accounts, p.get("keyword"), "name")
    return Listing([render_account(ctx, a) for a in accounts])


def _account_by(ctx: Ctx, p: dict) -> dict:
    if p.get("id"):
        account = ctx.get("account", p["id"])
        if account is None:
            raise invalid_value(ctx.command, "id", p["id"])
        return account
    if p.get("account"):
        found = ctx.find("account", name=p["account"])
        if found:
            return found[0]
        raise param_error(f"Unable to find account by name {p['account']} in domain ROOT")
    raise param_error("Either id or account name and domainId must be specified")


def _enable_account(ctx: Ctx, p: dict) -> dict:
    account = _account_by(ctx, p)
    account["state"] = "enabled"
    ctx.save("account", account)
    return render_account(ctx, account)


def _disable_account(ctx: Ctx, p: dict) -> Any:
    account = _account_by(ctx, p)
    if account["name"] in ("admin", "system"):
        raise param_error("Disabling the default admin or system account is not allowed")
    return ctx.start_job("account_state", {"id": account["id"], "state": "locked" if p["lock"] else "disabled"},
                         instance_type="Account", instance_id=account["id"], duration=0.0)


def _delete_account(ctx: Ctx, p: dict) -> Any:
    account = _account_by(ctx, p)
    if account["name"] in ("admin", "system"):
        raise param_error(f"Removing the account with id={account['id']} is not allowed since it's a system "
                          f"account or the default admin")
    return ctx.start_job("account_delete", {"id": account["id"]}, instance_type="Account",
                         instance_id=account["id"], duration=0.0)


def _account_state(ctx: Ctx, args: dict) -> dict:
    account = ctx.get("account", args["id"])
    if account is None:
        raise param_error("Unable to find the account")
    account["state"] = args["state"]
    ctx.save("account", account)
    return {"account": render_account(ctx, account)}


def _account_delete(ctx: Ctx, args: dict) -> Any:
    account = ctx.get("account", args["id"])
    if account is None:
        raise param_error("Unable to find the account")
    for user in ctx.find("user", account_id=account["id"]):
        ctx.remove("user", user["id"])
    ctx.remove("account", account["id"])
    return SUCCESS


def _user_state(ctx: Ctx, p: dict, state: str) -> dict:
    user = _user_or_431(ctx, p)
    user["state"] = state
    ctx.save("user", user)
    return render_user(ctx, user, secret=False)


def _disable_user(ctx: Ctx, p: dict) -> Any:
    user = _user_or_431(ctx, p)
    return ctx.start_job("user_disable", {"id": user["id"]}, instance_type="User", instance_id=user["id"],
                         duration=0.0)


def _user_disable(ctx: Ctx, args: dict) -> dict:
    user = ctx.get("user", args["id"])
    if user is None:
        raise param_error("Unable to find the user")
    user["state"] = "disabled"
    ctx.save("user", user)
    return {"user": render_user(ctx, user, secret=False)}


def _delete_user(ctx: Ctx, p: dict) -> Any:
    user = _user_or_431(ctx, p)
    if user.get("isdefault"):
        raise param_error(f"The default user {user['username']} cannot be deleted")
    if len(ctx.find("user", account_id=user["accountid"])) == 1:
        raise param_error("The user is the only user of its account and cannot be deleted; delete the account")
    ctx.remove("user", user["id"])
    return SUCCESS


def seed(ctx: Ctx) -> None:
    """SYSTEM (integration port caller), admin (root admin) and demo (a user) with API keys."""
    if ctx.find("account", name="system"):
        return
    root_domain(ctx)
    for name, kind in (("system", ADMIN), ("admin", ADMIN), ("demo", USER)):
        account = create_account(ctx, {"username": name, "password": secrets.token_urlsafe(16),
                                       "firstname": name, "lastname": "cloud", "email": f"{name}@localhost",
                                       "accounttype": kind, "_isdefault": name != "demo"})
        if name != "system":
            user = ctx.find("user", account_id=account["id"])[0]
            user["apikey"], user["secretkey"] = new_keys()
            ctx.save("user", user)


COMMANDS = {
    "createAccount": _create_account,
    "createUser": _create_user,
    "registerUserKeys": _register_user_keys,
    "getUser": _get_user,
    "listUsers": _list_users,
    "listAccounts": _list_accounts,
    "enableAccount": _enable_account,
    "disableAccount": _disable_account,
    "deleteAccount": _delete_account,
    "enableUser": lambda ctx, p: _user_state(ctx, p, "enabled"),
    "disableUser": _disable_user,
    "deleteUser": _delete_user,
}
JOB_ACTIONS = {
    "account_state": _account_state,
    "account_delete": _account_delete,
    "user_disable": _user_disable,
}
ADMIN_ONLY = {"createAccount", "createUser", "getUser", "enableAccount", "disableAccount", "deleteAccount",
              "enableUser", "disableUser", "deleteUser"}


_LIMIT_NAMES = {"vm": "user_vm", "ip": "public_ip", "volume": "volume", "snapshot": "snapshot",
                "template": "template", "network": "network", "vpc": "vpc"}


def check_limit(ctx: Ctx, resource: str, adding: int = 1, account: dict | None = None) -> None:
    """Refuse to exceed the account's limit for RESOURCE ("vm", "ip", "volume", "snapshot", "template"):
    CloudStack's ResourceAllocationException → 535 / 4370."""
    account = account or ctx.caller.account
    limit = limit_of(ctx, account, resource)
    if limit < 0:
        return
    if count_of(ctx, account, resource) + adding > limit:
        raise SimError(535, f"Maximum number of resources of type '{_LIMIT_NAMES.get(resource, resource)}' for "
                            f"account name={account['name']} in domain id=1 has been exceeded.", 4370)
