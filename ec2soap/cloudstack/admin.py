"""Who is a CloudStack admin: the caller's own account (from its listAccounts answer) and its account type.

Pure functions over CloudStack's JSON; no Twisted, no HTTP. Account type 1 is the root admin (ADMIN in
CloudStack's Account.Type); domain admins (2) are not admins of this gateway.
"""
from __future__ import annotations

from typing import Iterable

__all__ = ["ROOT_ADMIN", "own_account", "is_root_admin"]

ROOT_ADMIN = 1


def own_account(accounts: Iterable[dict], api_key: str) -> dict | None:
    """The account among ACCOUNTS (listAccounts as the key's own user) that holds API_KEY.

    A user sees only its own account; an admin may see more, so the one listing a user with this key wins.
    When no account lists its users' keys, a single answer is the caller's own."""
    accounts = list(accounts)
    for account in accounts:
        if any(user.get("apikey") == api_key for user in account.get("user") or ()):
            return account
    return accounts[0] if len(accounts) == 1 else None


def is_root_admin(accounts: Iterable[dict], api_key: str) -> bool:
    account = own_account(accounts, api_key)
    try:
        return account is not None and int(account.get("accounttype", -1)) == ROOT_ADMIN
    except (TypeError, ValueError):
        return False
