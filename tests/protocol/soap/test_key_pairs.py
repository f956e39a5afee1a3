"""Key pairs over SOAP through both zeep clients: create, import, describe (names, filters), delete, errors."""
from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.protocol.soap.conftest import SoapClient


def describe(soap: SoapClient, names: list[str] = (), filters: dict[str, list[str]] | None = None) -> dict:
    kwargs = {"keySet": {"item": [{"keyName": n} for n in names]}}
    if filters:
        kwargs["filterSet"] = {"item": [{"name": k, "valueSet": {"item": [{"value": v} for v in vs]}}
                                        for k, vs in filters.items()]}
    answer = soap.call("DescribeKeyPairs", **kwargs)
    assert answer.requestId
    return {k.keyName: k.keyFingerprint for k in (answer.keySet.item if answer.keySet else [])}


def test_create_describe_delete(soap: SoapClient) -> None:
    made = soap.call("CreateKeyPair", keyName="deploy")
    assert made.keyName == "deploy"
    assert made.keyMaterial.startswith("-----BEGIN") and "PRIVATE KEY" in made.keyMaterial
    assert describe(soap) == {"deploy": made.keyFingerprint}
    assert describe(soap, ["deploy"]) == {"deploy": made.keyFingerprint}
    soap.call("CreateKeyPair", keyName="other")
    assert set(describe(soap)) == {"deploy", "other"}
    assert set(describe(soap, filters={"key-name": ["dep*"]})) == {"deploy"}
    assert set(describe(soap, filters={"fingerprint": [made.keyFingerprint]})) == {"deploy"}
    deleted = soap.call("DeleteKeyPair", keyName="deploy")
    assert deleted["return"] is True
    assert set(describe(soap)) == {"other"}


def test_import(soap: SoapClient) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    imported = soap.call("ImportKeyPair", keyName="mine", publicKeyMaterial=base64.b64encode(public).decode())
    assert imported.keyName == "mine" and imported.keyFingerprint
    assert describe(soap, ["mine"]) == {"mine": imported.keyFingerprint}


def test_create_twice_is_duplicate(soap: SoapClient) -> None:
    soap.call("CreateKeyPair", keyName="twice")
    failure = soap.failure("CreateKeyPair", keyName="twice")
    assert (failure.sender, failure.code) == ("Client", "InvalidKeyPair.Duplicate")
    assert "twice" in failure.message


def test_describe_unknown_is_not_found(soap: SoapClient) -> None:
    failure = soap.failure("DescribeKeyPairs", keySet={"item": [{"keyName": "nope"}]})
    assert failure.faultcode == "Client.InvalidKeyPair.NotFound"
