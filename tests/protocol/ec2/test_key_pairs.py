"""Key pairs through boto3, boto 2 and awscli: create, import, describe (names, filters), delete, errors."""
from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.protocol.conftest import EC2Client, cli_filters


def create(ec2: EC2Client, name: str) -> dict:
    if ec2.kind == "boto3":
        r = ec2.client.create_key_pair(KeyName=name)
        return {"name": r["KeyName"], "fingerprint": r["KeyFingerprint"], "material": r["KeyMaterial"]}
    if ec2.kind == "boto2":
        k = ec2.conn.create_key_pair(name)
        return {"name": k.name, "fingerprint": k.fingerprint, "material": k.material}
    r = ec2.cli("create-key-pair", "--key-name", name)
    return {"name": r["KeyName"], "fingerprint": r["KeyFingerprint"], "material": r["KeyMaterial"]}


def describe(ec2: EC2Client, names: list[str] = (), filters: dict[str, list[str]] | None = None) -> dict:
    filters = filters or {}
    if ec2.kind == "boto3":
        kw: dict[str, Any] = {"KeyNames": list(names)} if names else {}
        if filters:
            kw["Filters"] = [{"Name": k, "Values": v} for k, v in filters.items()]
        return {k["KeyName"]: k["KeyFingerprint"] for k in ec2.client.describe_key_pairs(**kw)["KeyPairs"]}
    if ec2.kind == "boto2":
        return {k.name: k.fingerprint for k in ec2.conn.get_all_key_pairs(keynames=list(names) or None,
                                                                         filters=filters or None)}
    args = ["describe-key-pairs"]
    if names:
        args += ["--key-names", *names]
    args += cli_filters(filters)
    return {k["KeyName"]: k["KeyFingerprint"] for k in ec2.cli(*args)["KeyPairs"]}


def import_(ec2: EC2Client, name: str, public_key: bytes) -> str:
    if ec2.kind == "boto3":
        return ec2.client.import_key_pair(KeyName=name, PublicKeyMaterial=public_key)["KeyFingerprint"]
    if ec2.kind == "boto2":
        return ec2.conn.import_key_pair(name, public_key).fingerprint
    # awscli v1 base64-encodes a blob given as text itself, as boto3 does.
    return ec2.cli("import-key-pair", "--key-name", name, "--public-key-material",
                   public_key.decode())["KeyFingerprint"]


def delete(ec2: EC2Client, name: str) -> None:
    if ec2.kind == "boto3":
        ec2.client.delete_key_pair(KeyName=name)
    elif ec2.kind == "boto2":
        assert ec2.conn.delete_key_pair(name) is True
    else:
        ec2.cli("delete-key-pair", "--key-name", name)


def test_create_describe_delete(ec2: EC2Client) -> None:
    made = create(ec2, "deploy")
    assert made["name"] == "deploy"
    assert made["material"].startswith("-----BEGIN") and "PRIVATE KEY" in made["material"]
    assert describe(ec2) == {"deploy": made["fingerprint"]}
    assert describe(ec2, ["deploy"]) == {"deploy": made["fingerprint"]}
    create(ec2, "other")
    assert set(describe(ec2)) == {"deploy", "other"}
    assert set(describe(ec2, filters={"key-name": ["dep*"]})) == {"deploy"}
    assert set(describe(ec2, filters={"fingerprint": [made["fingerprint"]]})) == {"deploy"}
    delete(ec2, "deploy")
    assert set(describe(ec2)) == {"other"}
    delete(ec2, "deploy")  # EC2 answers true for a name that is gone


def test_create_key_pair_twice_is_duplicate(ec2: EC2Client) -> None:
    create(ec2, "twice")
    with ec2.failure() as failure:
        create(ec2, "twice")
    assert failure.value.code == "InvalidKeyPair.Duplicate"


def test_describe_unknown_name_is_not_found(ec2: EC2Client) -> None:
    with ec2.failure() as failure:
        describe(ec2, ["nope"])
    assert failure.value.code == "InvalidKeyPair.NotFound"


def test_unknown_filter_is_invalid(ec2: EC2Client) -> None:
    with ec2.failure() as failure:
        describe(ec2, filters={"colour": ["red"]})
    assert failure.value.code == "InvalidFilter"


def test_import_key_pair_and_bad_material(ec2: EC2Client) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    fingerprint = import_(ec2, "imported", public)
    assert describe(ec2, ["imported"]) == {"imported": fingerprint}
    with ec2.failure() as failure:
        import_(ec2, "garbage", b"this is not a key")
    assert failure.value.code == "InvalidKeyPair.Format"


def test_key_pairs_are_per_user(ec2: EC2Client, new_user: Any, ec2_of: Any) -> None:
    create(ec2, "mine")
    other = ec2_of(ec2.kind, new_user())
    assert describe(other) == {}
    with other.failure() as failure:
        describe(other, ["mine"])
    assert failure.value.code == "InvalidKeyPair.NotFound"


def test_boto2_signature_version_2(gateway_server: Any, new_user: Any) -> None:
    """boto 2.49 signs EC2 with SigV4 by default; with its Query SigV2 handler (what ec2-api-tools and the
    original's register script send) the same calls pass too, signed by boto's own SigV2 code."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import boto.ec2.connection
        from boto.ec2.regioninfo import RegionInfo

    class SigV2Connection(boto.ec2.connection.EC2Connection):
        def _required_auth_capability(self) -> list[str]:
            return ["sign-v2"]

    keys = new_user()
    port = int(gateway_server.url.rsplit(":", 1)[1])
    conn = SigV2Connection(keys.access_key, keys.secret_key, port=port, is_secure=False, path="/awsapi",
                           region=RegionInfo(name="cloudstack", endpoint="127.0.0.1"))
    conn.num_retries = 0
    assert conn._auth_handler.__class__.__name__ == "QuerySignatureV2AuthHandler"
    made = conn.create_key_pair("sigv2")
    assert {k.name: k.fingerprint for k in conn.get_all_key_pairs()} == {"sigv2": made.fingerprint}
    assert conn.delete_key_pair("sigv2") is True
    wrong = SigV2Connection(keys.access_key, "not-the-secret", port=port, is_secure=False, path="/awsapi",
                            region=RegionInfo(name="cloudstack", endpoint="127.0.0.1"))
    wrong.num_retries = 0
    try:
        wrong.get_all_key_pairs()
    except boto.exception.EC2ResponseError as exc:
        assert exc.error_code == "SignatureDoesNotMatch"
    else:
        raise AssertionError("a wrong secret was accepted")
