"""Simulator SSH key pairs: real generated keys, CloudStack fingerprints, register validation, errors, isolation."""
from __future__ import annotations

import base64
import hashlib
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import select

from ec2soap.cloudstack.simulator import Simulator
from ec2soap.store.tables import cs_object
from tests.conftest import cs
from tests.unit.cloudstack.simulator.compute_world import new_user, undocumented_keys


def md5_fingerprint(openssh: str) -> str:
    digest = hashlib.md5(base64.b64decode(openssh.split()[1])).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


def ed25519_public() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def pairs(sim, user="demo", **params):
    status, body = cs(sim, user, "listSSHKeyPairs", **params)
    assert status == 200, body
    assert not undocumented_keys("listSSHKeyPairs", body.get("sshkeypair", []))
    return {k["name"]: k for k in body.get("sshkeypair", [])}


def test_create_returns_a_real_rsa_key_once(sim):
    status, body = cs(sim, "demo", "createSSHKeyPair", name="deploy")
    assert status == 200
    pair = body["keypair"]
    assert not undocumented_keys("createSSHKeyPair", pair)
    assert pair["privatekey"].startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    private = serialization.load_pem_private_key(pair["privatekey"].encode(), password=None)
    assert private.key_size == 2048
    public = private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                               serialization.PublicFormat.OpenSSH).decode()
    assert pair["fingerprint"] == md5_fingerprint(public)
    assert pair["name"] == "deploy" and pair["account"] == "demo" and pair["domain"] == "ROOT"

    listed = pairs(sim)["deploy"]
    assert "privatekey" not in listed
    assert listed["fingerprint"] == pair["fingerprint"] and listed["id"] == pair["id"]

    def stored(conn):
        return [json.loads(r.data) for r in conn.execute(select(cs_object.c.data).where(
            cs_object.c.kind == "sshkeypair"))]
    (doc,) = sim.store.run_sync(stored)
    assert doc["_publickey"] == public and "PRIVATE" not in json.dumps(doc)


def test_create_duplicate_is_431(sim):
    cs(sim, "demo", "createSSHKeyPair", name="deploy")
    status, body = cs(sim, "demo", "createSSHKeyPair", name="deploy")
    assert (status, body) == (431, {"uuidList": [], "errorcode": 431, "cserrorcode": 4350,
                                    "errortext": "A key pair with name 'deploy' already exists."})


def test_register_validates_and_fingerprints(sim):
    public = ed25519_public()
    status, body = cs(sim, "demo", "registerSSHKeyPair", name="laptop", publickey=public + " me@laptop")
    assert status == 200, body
    pair = body["keypair"]
    assert not undocumented_keys("registerSSHKeyPair", pair)
    assert "privatekey" not in pair and pair["fingerprint"] == md5_fingerprint(public)

    for garbage in ("not a key", "ssh-rsa AAAAnotbase64!!", "ssh-rsa " + public.split()[1]):
        status, body = cs(sim, "demo", "registerSSHKeyPair", name="bad", publickey=garbage)
        assert (status, body["errortext"], body["cserrorcode"]) == (431, "Public key is invalid", 4350), garbage

    status, body = cs(sim, "demo", "registerSSHKeyPair", name="laptop", publickey=ed25519_public())
    assert status == 431 and body["errortext"] == "A key pair with name 'laptop' already exists for this account."
    status, body = cs(sim, "demo", "registerSSHKeyPair", name="again", publickey=public)
    assert status == 431 and body["errortext"] == f"A key pair with key '{public}' already exists for this account."


def test_register_accepts_base64_of_the_key_line(sim):
    public = ed25519_public()
    status, body = cs(sim, "demo", "registerSSHKeyPair", name="b64",
                      publickey=base64.b64encode(public.encode()).decode())
    assert status == 200 and body["keypair"]["fingerprint"] == md5_fingerprint(public)


def test_delete(sim):
    cs(sim, "demo", "createSSHKeyPair", name="deploy")
    assert cs(sim, "demo", "deleteSSHKeyPair", name="deploy") == (200, {"success": True})
    assert pairs(sim) == {}
    status, body = cs(sim, "demo", "listSSHKeyPairs")
    assert (status, body) == (200, {})
    status, body = cs(sim, "demo", "deleteSSHKeyPair", name="deploy")
    assert (status, body) == (431, {"uuidList": [], "errorcode": 431, "cserrorcode": 4350, "errortext":
                                    "A key pair with name 'deploy' does not exist for account demo in specified "
                                    "domain id"})
    # the name is free again
    assert cs(sim, "demo", "createSSHKeyPair", name="deploy")[0] == 200


def test_list_filters(sim):
    cs(sim, "demo", "createSSHKeyPair", name="alpha")
    _, body = cs(sim, "demo", "createSSHKeyPair", name="beta")
    beta = body["keypair"]
    assert pairs(sim).keys() == {"alpha", "beta"}
    assert pairs(sim, name="beta").keys() == {"beta"}
    assert pairs(sim, fingerprint=beta["fingerprint"]).keys() == {"beta"}
    assert pairs(sim, keyword="alp").keys() == {"alpha"}
    assert pairs(sim, keyword=beta["fingerprint"][:8]).keys() == {"beta"}
    _, body = cs(sim, "demo", "listSSHKeyPairs", page="2", pagesize="1")
    assert body["count"] == 2 and [k["name"] for k in body["sshkeypair"]] == ["beta"]


def test_accounts_are_isolated(sim):
    cs(sim, "demo", "createSSHKeyPair", name="deploy")
    alice = new_user(sim, "alice")
    assert pairs(sim, alice) == {}
    assert cs(sim, alice, "createSSHKeyPair", name="deploy")[0] == 200  # same name, other account
    status, body = cs(sim, alice, "deleteSSHKeyPair", name="deploy")
    assert status == 200
    assert pairs(sim).keys() == {"deploy"}
    assert pairs(sim, "admin") == {}
    assert {(k["account"], k["name"]) for k in cs(sim, "admin", "listSSHKeyPairs", listall="true")[1]["sshkeypair"]} \
        == {("demo", "deploy")}
    status, body = cs(sim, alice, "createSSHKeyPair", name="x", account="demo")
    assert status == 531


def test_state_survives_a_restart(sim):
    _, body = cs(sim, "demo", "createSSHKeyPair", name="deploy")
    again = Simulator(sim.store, sim.config)
    again.users = sim.users
    assert pairs(again)["deploy"]["fingerprint"] == body["keypair"]["fingerprint"]
