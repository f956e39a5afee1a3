"""Certificates in the store: registration, lookup by the whole certificate (not only issuer and serial),
deletion, and refusals; then a signed envelope checked against the real lookup."""
from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any, Callable

import pytest
from cryptography import x509
from sqlalchemy import select

from ec2soap.auth.certificates import CertificateError, load_der, load_pem, unique_id
from ec2soap.auth.credentials import Credentials, SecretBox
from ec2soap.auth.wsse import WsseError, parse_hardened, verify_envelope
from ec2soap.store.tables import ec2_credential
from tests.unit.auth.wsse_helpers import Identity, make_identity, zeep_signed


@pytest.fixture
def credentials(store: Any) -> Credentials:
    from cryptography.fernet import Fernet

    return Credentials(store, SecretBox(Fernet.generate_key()))


@pytest.fixture(scope="module")
def ids(tmp_path_factory: Any) -> dict[str, Identity]:
    folder = tmp_path_factory.mktemp("certs")
    alice = make_identity(folder, "alice")
    serial = x509.load_der_x509_certificate(alice.cert_der).serial_number
    return {"alice": alice, "bob": make_identity(folder, "bob"),
            "forged": make_identity(folder, "forged", serial=serial, issuer="alice")}


def test_load_pem_keeps_only_the_certificate(ids: dict[str, Identity]) -> None:
    alice = ids["alice"]
    loaded = load_pem(alice.key_pem + alice.cert_pem)
    assert loaded.der == alice.cert_der and "PRIVATE" not in loaded.pem
    assert loaded.unique_id == unique_id(x509.load_der_x509_certificate(alice.cert_der))
    assert loaded.unique_id.startswith("CN=alice, serial=")
    assert load_der(alice.cert_der) == loaded


@pytest.mark.parametrize("text, words", [
    ("", "no PEM certificate"),
    ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "could not be parsed"),
])
def test_load_pem_refuses(text: str, words: str) -> None:
    with pytest.raises(CertificateError, match=words):
        load_pem(text)


def test_load_pem_refuses_a_chain_and_a_lone_key(ids: dict[str, Identity]) -> None:
    with pytest.raises(CertificateError, match="exactly one"):
        load_pem(ids["alice"].cert_pem + ids["bob"].cert_pem)
    with pytest.raises(CertificateError):
        load_pem(ids["alice"].key_pem)


def test_set_lookup_delete(credentials: Credentials, in_reactor: Callable[..., Any],
                           ids: dict[str, Identity], store: Any) -> None:
    alice = ids["alice"]
    assert in_reactor(credentials.set_certificate, "AKALICE", alice.cert_pem.decode()) is False  # not registered
    in_reactor(credentials.register, "AKALICE", "alice-secret")
    assert in_reactor(credentials.set_certificate, "AKALICE", (alice.key_pem + alice.cert_pem).decode()) is True
    row = store.run_sync(lambda conn: conn.execute(select(ec2_credential)).first())
    assert "PRIVATE" not in row.cert_pem and row.cert_unique_id.startswith("CN=alice")
    assert in_reactor(credentials.caller_for_certificate, alice.cert_der) == ("AKALICE", "alice-secret")
    assert credentials.caller_for_certificate_sync(alice.cert_der) == ("AKALICE", "alice-secret")
    assert credentials.caller_for_certificate_sync(ids["bob"].cert_der) is None
    assert credentials.caller_for_certificate_sync(b"garbage") is None
    assert in_reactor(credentials.delete_certificate, "AKALICE") is True
    assert in_reactor(credentials.delete_certificate, "AKALICE") is False
    assert credentials.caller_for_certificate_sync(alice.cert_der) is None


def test_same_issuer_and_serial_is_not_the_same_certificate(credentials: Credentials, in_reactor: Any,
                                                            ids: dict[str, Identity]) -> None:
    alice, forged = ids["alice"], ids["forged"]
    assert load_der(forged.cert_der).unique_id == load_der(alice.cert_der).unique_id
    in_reactor(credentials.register, "AKALICE", "alice-secret")
    in_reactor(credentials.set_certificate, "AKALICE", alice.cert_pem.decode())
    assert credentials.caller_for_certificate_sync(forged.cert_der) is None
    # And end to end: a validly signed envelope from the forger still fails.
    with pytest.raises(WsseError, match="not properly registered"):
        verify_envelope(parse_hardened(zeep_signed(forged)), now=datetime.datetime.now(datetime.timezone.utc),
                        lookup_cert=credentials.caller_for_certificate_sync)
    caller = verify_envelope(parse_hardened(zeep_signed(alice)), now=datetime.datetime.now(datetime.timezone.utc),
                             lookup_cert=credentials.caller_for_certificate_sync)
    assert (caller.access_key, caller.secret_key) == ("AKALICE", "alice-secret")


def test_one_certificate_cannot_belong_to_two_keys(credentials: Credentials, in_reactor: Any,
                                                   ids: dict[str, Identity]) -> None:
    pem = ids["bob"].cert_pem.decode()
    for key in ("AKONE", "AKTWO"):
        in_reactor(credentials.register, key, f"{key}-secret")
    assert in_reactor(credentials.set_certificate, "AKONE", pem) is True
    with pytest.raises(CertificateError, match="another access key"):
        in_reactor(credentials.set_certificate, "AKTWO", pem)
    assert in_reactor(credentials.set_certificate, "AKONE", pem) is True  # again for the same key: fine
    assert credentials.caller_for_certificate_sync(ids["bob"].cert_der) == ("AKONE", "AKONE-secret")


def test_replacing_the_certificate_forgets_the_old_one(credentials: Credentials, in_reactor: Any,
                                                       ids: dict[str, Identity], tmp_path: Path) -> None:
    in_reactor(credentials.register, "AKALICE", "alice-secret")
    in_reactor(credentials.set_certificate, "AKALICE", ids["alice"].cert_pem.decode())
    in_reactor(credentials.set_certificate, "AKALICE", ids["bob"].cert_pem.decode())
    assert credentials.caller_for_certificate_sync(ids["alice"].cert_der) is None
    assert credentials.caller_for_certificate_sync(ids["bob"].cert_der) == ("AKALICE", "alice-secret")
