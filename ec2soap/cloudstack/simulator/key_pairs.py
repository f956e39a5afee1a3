"""Simulator: SSH key pairs — list, create (a real RSA key), register, delete (SshKeyPairService behaviour).

Stored docs keep only the public key (private `_publickey`, OpenSSH format); a generated private key is
returned once, by createSSHKeyPair, and never stored or logged.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ec2soap.cloudstack import spec
from ec2soap.cloudstack.simulator.engine import SUCCESS, Ctx, Listing, keyword_filter, param_error
from ec2soap.cloudstack.simulator.accounts import owner_account, owner_fields

__all__ = ["COMMANDS", "find_key_pair", "fingerprint_of", "public_key_from_material"]

_FIELDS = tuple(spec.commands()["listSSHKeyPairs"]["response"])
# Key types SSHKeysHelper.getPublicKeyFromKeyMaterial accepts (by prefix).
_KEY_TYPES = ("ssh-rsa", "ssh-dss", "ecdsa-sha2-nistp", "ssh-ed25519")


def fingerprint_of(public_key: str) -> str:
    """CloudStack's fingerprint: MD5 of the decoded key blob, as colon-separated hex pairs."""
    digest = hashlib.md5(base64.b64decode(public_key.split()[1])).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def public_key_from_material(material: str) -> str | None:
    """The normalised public key ("<type> <base64>", comment dropped) or None when it is not one.

    CloudStack quirk: key material without a space is taken to be Base64 of the whole key line."""
    text = material.strip()
    if " " not in text:
        try:
            text = base64.b64decode(text, validate=True).decode("utf-8").strip()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
    if not text.startswith(_KEY_TYPES) or " " not in text:
        return None
    parts = text.split()
    if len(parts) < 2:
        return None
    normalised = f"{parts[0]} {parts[1]}"
    # Stricter than CloudStack, which only checks the prefix: the blob must really be a key of that type.
    try:
        serialization.load_ssh_public_key(normalised.encode("ascii"))
    except (ValueError, UnicodeEncodeError, TypeError, NotImplementedError):
        # ssh-dss is gone from `cryptography`; accept a blob whose embedded type matches, as CloudStack would.
        if not (parts[0] == "ssh-dss" and _blob_type(parts[1]) == "ssh-dss"):
            return None
    return normalised


def _blob_type(blob: str) -> str | None:
    try:
        raw = base64.b64decode(blob, validate=True)
        size = int.from_bytes(raw[:4], "big")
        return raw[4:4 + size].decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def find_key_pair(ctx: Ctx, account_id: str, name: str) -> dict | None:
    """The account's key pair called NAME (names compare case-insensitively, as MySQL does)."""
    wanted = name.lower()
    found = ctx.find("sshkeypair", account_id=account_id, where=lambda k: k["name"].lower() == wanted)
    return found[0] if found else None


def _render(doc: dict) -> dict:
    out = {k: doc[k] for k in _FIELDS if k in doc}
    out["hasannotations"] = False
    return out


def _save(ctx: Ctx, owner: dict, name: str, public_key: str) -> dict:
    return ctx.insert("sshkeypair", {"name": name, "fingerprint": fingerprint_of(public_key),
                                     **owner_fields(ctx, owner), "_publickey": public_key, "_created": ctx.now},
                      account_id=owner["id"])


# -- commands ---------------------------------------------------------------------------------------------------

def _list_ssh_key_pairs(ctx: Ctx, p: dict) -> Listing:
    pairs = ctx.find("sshkeypair", account_id=ctx.scope_accounts(p))
    for name in ("id", "name", "fingerprint"):
        if p.get(name):
            pairs = [k for k in pairs if k[name] == p[name]]
    pairs = keyword_filter(pairs, p.get("keyword"), "name", "fingerprint")
    return Listing([_render(k) for k in pairs])


def _create_ssh_key_pair(ctx: Ctx, p: dict) -> dict:
    name = p["name"]
    if not name.strip():
        raise param_error("Please specify a valid name for the key pair. The key name can't be empty")
    owner = owner_account(ctx, p)
    if find_key_pair(ctx, owner["id"], name) is not None:
        raise param_error(f"A key pair with name '{name}' already exists.")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_key = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                               serialization.PublicFormat.OpenSSH).decode("ascii")
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption()).decode("ascii")
    out = _render(_save(ctx, owner, name, public_key))
    out["privatekey"] = private_pem
    return out


def _register_ssh_key_pair(ctx: Ctx, p: dict) -> dict:
    owner = owner_account(ctx, p)
    if find_key_pair(ctx, owner["id"], p["name"]) is not None:
        raise param_error(f"A key pair with name '{p['name']}' already exists for this account.")
    public_key = public_key_from_material(p["publickey"])
    if public_key is None:
        raise param_error("Public key is invalid")
    if ctx.find("sshkeypair", account_id=owner["id"], where=lambda k: k["_publickey"] == public_key):
        raise param_error(f"A key pair with key '{public_key}' already exists for this account.")
    return _render(_save(ctx, owner, p["name"], public_key))


def _delete_ssh_key_pair(ctx: Ctx, p: dict) -> Any:
    owner = owner_account(ctx, p)
    pair = find_key_pair(ctx, owner["id"], p["name"])
    if pair is None:
        raise param_error(f"A key pair with name '{p['name']}' does not exist for account {owner['name']} in "
                          f"specified domain id")
    ctx.remove("sshkeypair", pair["id"])
    return SUCCESS


COMMANDS = {
    "listSSHKeyPairs": _list_ssh_key_pairs,
    "createSSHKeyPair": _create_ssh_key_pair,
    "registerSSHKeyPair": _register_ssh_key_pair,
    "deleteSSHKeyPair": _delete_ssh_key_pair,
}
