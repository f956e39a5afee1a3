"""WS-Security for SOAP: envelopes signed by zeep's BinarySignature verify; every tampering, wrapping, stale
Timestamp and unknown certificate is AuthFailure; the hardened parser refuses DTDs, entities and big bodies."""
from __future__ import annotations

import base64
import copy
import datetime
from pathlib import Path
from typing import Any

import pytest
import xmlsec
from lxml import etree

from ec2soap.auth.errors import AuthError
from ec2soap.auth.wsse import (MAX_BODY_BYTES, VerifiedCaller, WsseError, XmlRejected, check_envelope,
                               parse_hardened, verify_envelope)
from tests.unit.auth.wsse_helpers import (DS, NS, SOAP, WSU, Identity, custom_signed, make_identity,
                                          zeep_signed)

SKEW = datetime.timedelta(minutes=5)
SECRET = "s3cr3t-never-shown"


@pytest.fixture(scope="module")
def alice(tmp_path_factory: Any) -> Identity:
    return make_identity(tmp_path_factory.mktemp("alice"), "alice")


@pytest.fixture(scope="module")
def mallory(tmp_path_factory: Any) -> Identity:
    return make_identity(tmp_path_factory.mktemp("mallory"), "mallory")


class Registry:
    """lookup_cert over a dict of DER → keys; records what it was asked."""

    def __init__(self, *identities: tuple[Identity, str]):
        self.keys = {identity.cert_der: (access_key, SECRET) for identity, access_key in identities}
        self.asked: list[bytes] = []

    def __call__(self, der: bytes) -> tuple[str, str] | None:
        self.asked.append(der)
        return self.keys.get(der)


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def verify(data: bytes, registry: Registry, when: datetime.datetime | None = None) -> VerifiedCaller:
    return verify_envelope(parse_hardened(data), now=when or now(), max_skew=SKEW, lookup_cert=registry)


def refused(data: bytes, registry: Registry, when: datetime.datetime | None = None) -> WsseError:
    with pytest.raises(WsseError) as failure:
        verify(data, registry, when)
    assert failure.value.code == "AuthFailure" and isinstance(failure.value, AuthError)
    assert SECRET not in failure.value.message
    return failure.value


def edit(data: bytes, change: Any) -> bytes:
    root = etree.fromstring(data)
    change(root)
    return etree.tostring(root)


# --- what clients send verifies ------------------------------------------------------------------------------

def test_zeep_binary_signature_verifies_to_the_registered_user(alice: Identity) -> None:
    registry = Registry((alice, "AKALICE"))
    caller = verify(zeep_signed(alice), registry)
    assert (caller.access_key, caller.secret_key) == ("AKALICE", SECRET)
    assert registry.asked == [alice.cert_der]
    assert "CN=alice" in caller.certificate_id and len(caller.fingerprint) == 64
    assert SECRET not in repr(caller)
    # The element to dispatch is the signed Body itself.
    assert etree.QName(caller.body).localname == "Body" and caller.body.find(".//{*}keyName").text == "deploy"


def test_rsa_sha256_with_sha256_digests_verifies(alice: Identity) -> None:
    data = zeep_signed(alice, signature_method=xmlsec.Transform.RSA_SHA256, digest_method=xmlsec.Transform.SHA256)
    signed = check_envelope(parse_hardened(data), now=now(), max_skew=SKEW)
    assert signed.signature_method.endswith("rsa-sha256")


def test_other_operations_verify_too(alice: Identity) -> None:
    data = zeep_signed(alice, operation="DescribeInstances", instancesSet={"item": [{"instanceId": "i-1"}]})
    assert verify(data, Registry((alice, "AKALICE"))).access_key == "AKALICE"


def test_a_signature_that_also_covers_the_token_verifies(alice: Identity) -> None:
    data = custom_signed(alice, ["body", "timestamp", "token"])
    assert verify(data, Registry((alice, "AKALICE"))).access_key == "AKALICE"


# --- tampering -----------------------------------------------------------------------------------------------

def test_tampered_body_fails(alice: Identity) -> None:
    data = edit(zeep_signed(alice), lambda root: setattr(root.find(".//{*}keyName"), "text", "other"))
    assert "does not verify" in refused(data, Registry((alice, "AKALICE"))).message


def test_added_body_content_fails(alice: Identity) -> None:
    def add(root: etree._Element) -> None:
        etree.SubElement(root.find(".//{*}keySet"), "{http://ec2.amazonaws.com/doc/2010-11-15/}item")
    refused(edit(zeep_signed(alice), add), Registry((alice, "AKALICE")))


def test_tampered_timestamp_fails(alice: Identity) -> None:
    later = (now() + datetime.timedelta(minutes=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    data = edit(zeep_signed(alice), lambda root: setattr(root.find(".//wsu:Expires", NS), "text", later))
    assert "does not verify" in refused(data, Registry((alice, "AKALICE"))).message


def test_tampered_signed_info_fails(alice: Identity) -> None:
    def change(root: etree._Element) -> None:
        digest = root.find(".//ds:DigestValue", NS)
        digest.text = base64.b64encode(b"\0" * 20).decode()
    refused(edit(zeep_signed(alice), change), Registry((alice, "AKALICE")))


# --- time ----------------------------------------------------------------------------------------------------

def test_old_timestamp_fails(alice: Identity) -> None:
    data = zeep_signed(alice, created=now() - datetime.timedelta(hours=1))
    assert "too old" in refused(data, Registry((alice, "AKALICE"))).message


def test_expired_timestamp_fails_even_within_the_skew(alice: Identity) -> None:
    created = now() - datetime.timedelta(minutes=2)
    data = zeep_signed(alice, created=created, expires=created + datetime.timedelta(seconds=60))
    assert "expired" in refused(data, Registry((alice, "AKALICE"))).message


def test_timestamp_from_the_future_fails(alice: Identity) -> None:
    data = zeep_signed(alice, created=now() + datetime.timedelta(hours=1))
    assert "future" in refused(data, Registry((alice, "AKALICE"))).message


def test_replay_after_expiry_fails(alice: Identity) -> None:
    data = zeep_signed(alice)
    registry = Registry((alice, "AKALICE"))
    assert verify(data, registry).access_key == "AKALICE"
    refused(data, registry, when=now() + datetime.timedelta(minutes=10))


# --- who signed ----------------------------------------------------------------------------------------------

def test_unregistered_certificate_fails(alice: Identity, mallory: Identity) -> None:
    error = refused(zeep_signed(mallory), Registry((alice, "AKALICE")))
    assert "not properly registered" in error.message


def test_registered_certificate_in_the_token_but_another_signing_key_fails(alice: Identity,
                                                                            mallory: Identity) -> None:
    """Mallory signs with her key and puts Alice's (public, registered) certificate in the token."""
    def swap(root: etree._Element) -> None:
        root.find(".//wsse:BinarySecurityToken", NS).text = base64.b64encode(alice.cert_der).decode()
    data = edit(zeep_signed(mallory), swap)
    refused(data, Registry((alice, "AKALICE"), (mallory, "AKMALLORY")))


def test_a_forged_certificate_with_the_registered_issuer_and_serial_fails(tmp_path: Path, alice: Identity) -> None:
    from cryptography import x509

    serial = x509.load_der_x509_certificate(alice.cert_der).serial_number
    forged = make_identity(tmp_path, "forged", serial=serial, issuer="alice")
    assert x509.load_der_x509_certificate(forged.cert_der).issuer.rfc4514_string() == "CN=alice"
    refused(zeep_signed(forged), Registry((alice, "AKALICE")))


def test_no_state_carries_over_from_the_previous_caller(alice: Identity, mallory: Identity) -> None:
    registry = Registry((alice, "AKALICE"))
    assert verify(zeep_signed(alice), registry).access_key == "AKALICE"
    refused(zeep_signed(mallory), registry)
    refused(etree.tostring(_unsigned()), registry)
    assert verify(zeep_signed(alice), registry).access_key == "AKALICE"


def test_token_of_another_type_fails(alice: Identity) -> None:
    def retype(root: etree._Element) -> None:
        root.find(".//wsse:BinarySecurityToken", NS).set("ValueType", "urn:example:kerberos")
    assert "X.509" in refused(edit(zeep_signed(alice), retype), Registry((alice, "AKALICE"))).message


def test_garbage_token_fails(alice: Identity) -> None:
    def garble(root: etree._Element) -> None:
        root.find(".//wsse:BinarySecurityToken", NS).text = base64.b64encode(b"not a certificate").decode()
    refused(edit(zeep_signed(alice), garble), Registry((alice, "AKALICE")))


def test_key_info_that_names_no_token_fails(alice: Identity) -> None:
    def repoint(root: etree._Element) -> None:
        root.find(".//ds:KeyInfo/wsse:SecurityTokenReference/wsse:Reference", NS).set("URI", "#nowhere")
    refused(edit(zeep_signed(alice), repoint), Registry((alice, "AKALICE")))


# --- what is signed ------------------------------------------------------------------------------------------

def test_signature_over_the_timestamp_only_fails(alice: Identity) -> None:
    error = refused(custom_signed(alice, ["timestamp"]), Registry((alice, "AKALICE")))
    assert "does not cover the soap:Body" in error.message


def test_signature_over_the_body_only_fails(alice: Identity) -> None:
    error = refused(custom_signed(alice, ["body"]), Registry((alice, "AKALICE")))
    assert "does not cover the wsu:Timestamp" in error.message


def test_signature_over_another_header_element_fails(alice: Identity) -> None:
    error = refused(custom_signed(alice, ["body", "timestamp", "header"]), Registry((alice, "AKALICE")))
    assert "something other" in error.message


def test_wrapped_body_with_a_new_body_fails(alice: Identity) -> None:
    """The signed Body moves into a header wrapper; an unsigned Body with other content is dispatched."""
    def wrap(root: etree._Element) -> None:
        body = root.find(f"{{{SOAP}}}Body")
        wrapper = etree.SubElement(root.find(f"{{{SOAP}}}Header"), "{urn:example}Wrapper")
        wrapper.append(body)
        evil = copy.deepcopy(body)
        del evil.attrib[f"{{{WSU}}}Id"]
        evil.find(".//{*}keyName").text = "someone-elses"
        root.append(evil)
    refused(edit(zeep_signed(alice), wrap), Registry((alice, "AKALICE")))


def test_wrapped_body_with_a_duplicate_id_fails(alice: Identity) -> None:
    def wrap(root: etree._Element) -> None:
        body = root.find(f"{{{SOAP}}}Body")
        evil = copy.deepcopy(body)
        evil.find(".//{*}keyName").text = "someone-elses"
        wrapper = etree.SubElement(root.find(f"{{{SOAP}}}Header"), "{urn:example}Wrapper")
        wrapper.append(body)
        root.append(evil)
    refused(edit(zeep_signed(alice), wrap), Registry((alice, "AKALICE")))


def test_a_second_element_with_the_body_id_fails(alice: Identity) -> None:
    def duplicate(root: etree._Element) -> None:
        body_id = root.find(f"{{{SOAP}}}Body").get(f"{{{WSU}}}Id")
        decoy = etree.SubElement(root.find(f"{{{SOAP}}}Header"), "{urn:example}Decoy")
        decoy.set("{http://www.w3.org/XML/1998/namespace}id", body_id)
    assert "more than one" in refused(edit(zeep_signed(alice), duplicate), Registry((alice, "AKALICE"))).message


def test_two_bodies_fail(alice: Identity) -> None:
    def twice(root: etree._Element) -> None:
        extra = copy.deepcopy(root.find(f"{{{SOAP}}}Body"))
        del extra.attrib[f"{{{WSU}}}Id"]
        root.append(extra)
    assert "exactly one soap:Body" in refused(edit(zeep_signed(alice), twice), Registry((alice, "AKALICE"))).message


def test_reference_to_an_external_uri_fails(alice: Identity) -> None:
    def external(root: etree._Element) -> None:
        root.find(".//ds:Reference", NS).set("URI", "file:///etc/passwd")
    assert "wsu:Id" in refused(edit(zeep_signed(alice), external), Registry((alice, "AKALICE"))).message


def test_reference_with_an_xslt_transform_fails(alice: Identity) -> None:
    def transform(root: etree._Element) -> None:
        root.find(".//ds:Reference/ds:Transforms/ds:Transform", NS).set(
            "Algorithm", "http://www.w3.org/TR/1999/REC-xslt-19991116")
    assert "transform" in refused(edit(zeep_signed(alice), transform), Registry((alice, "AKALICE"))).message


def test_a_custom_signature_over_body_and_timestamp_verifies(alice: Identity) -> None:
    assert verify(custom_signed(alice, ["timestamp", "body"]), Registry((alice, "AKALICE"))).access_key == "AKALICE"


def test_hmac_signature_method_fails(alice: Identity) -> None:
    def hmac(root: etree._Element) -> None:
        root.find(".//ds:SignatureMethod", NS).set("Algorithm", "http://www.w3.org/2000/09/xmldsig#hmac-sha1")
    assert "signature method" in refused(edit(zeep_signed(alice), hmac), Registry((alice, "AKALICE"))).message


# --- missing pieces ------------------------------------------------------------------------------------------

def _unsigned() -> etree._Element:
    from tests.unit.auth.wsse_helpers import unsigned_envelope

    return unsigned_envelope()


def test_no_security_header_fails(alice: Identity) -> None:
    assert "no WS-Security header" in refused(etree.tostring(_unsigned()), Registry((alice, "AKALICE"))).message


def test_empty_security_header_fails(alice: Identity) -> None:
    from zeep.wsse.utils import get_security_header

    envelope = _unsigned()
    get_security_header(envelope)
    assert "wsse:Security" not in refused(etree.tostring(envelope), Registry((alice, "AKALICE"))).message


def test_no_timestamp_fails(alice: Identity) -> None:
    from zeep.wsse.signature import BinarySignature

    envelope = _unsigned()
    BinarySignature(alice.key_file, alice.cert_file).apply(envelope, {})
    assert "Timestamp" in refused(etree.tostring(envelope), Registry((alice, "AKALICE"))).message


def test_not_an_envelope_fails() -> None:
    refused(b"<DescribeKeyPairs xmlns='http://ec2.amazonaws.com/doc/2010-11-15/'/>", Registry())


def test_verify_refuses_an_async_lookup(alice: Identity) -> None:
    async def lookup(der: bytes) -> None:
        return None
    with pytest.raises(TypeError):
        verify_envelope(parse_hardened(zeep_signed(alice)), now=now(), max_skew=SKEW, lookup_cert=lookup)


# --- the hardened parser -------------------------------------------------------------------------------------

def _reason(data: bytes, **kwargs: Any) -> str:
    with pytest.raises(XmlRejected) as failure:
        parse_hardened(data, **kwargs)
    assert failure.value.code == "InvalidRequest"
    return failure.value.reason


ENVELOPE = f'<s:Envelope xmlns:s="{SOAP}"><s:Body>&x;</s:Body></s:Envelope>'


def test_doctype_with_an_internal_entity_is_refused() -> None:
    data = f'<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY x "hello">]>{ENVELOPE}'.encode()
    assert _reason(data) == "doctype"


def test_billion_laughs_is_refused() -> None:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, 10)]
    data = (f'<?xml version="1.0"?><!DOCTYPE s:Envelope [{"".join(entities)}<!ENTITY x "&lol9;">]>'
            f"{ENVELOPE}").encode()
    assert _reason(data) == "doctype"


def test_external_system_entity_is_refused() -> None:
    data = f'<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY x SYSTEM "file:///etc/passwd">]>{ENVELOPE}'
    with pytest.raises(XmlRejected) as failure:
        parse_hardened(data.encode())
    assert failure.value.reason == "doctype" and "root:" not in str(failure.value)


def test_external_dtd_is_refused() -> None:
    data = f'<!DOCTYPE s:Envelope SYSTEM "http://127.0.0.1:9/evil.dtd">{ENVELOPE.replace("&x;", "")}'
    assert _reason(data.encode()) == "doctype"


def test_doctype_in_utf16_is_refused_after_parsing() -> None:
    text = f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE s:Envelope [<!ENTITY x "hi">]>{ENVELOPE}'
    assert _reason(text.encode("utf-16")) == "doctype"


def test_oversized_body_is_refused_before_parsing() -> None:
    big = f'<s:Envelope xmlns:s="{SOAP}"><s:Body>{"a" * (MAX_BODY_BYTES + 1)}</s:Body></s:Envelope>'.encode()
    assert _reason(big) == "too_large"
    assert _reason(b"<a>" + b"b" * 100 + b"</a>", max_bytes=64) == "too_large"


def test_undeclared_entity_and_garbage_are_malformed() -> None:
    assert _reason(ENVELOPE.encode()) == "malformed"
    assert _reason(b"not xml at all") == "malformed"
    assert _reason(b"   ") == "malformed"


def test_a_plain_envelope_parses(alice: Identity) -> None:
    root = parse_hardened(zeep_signed(alice))
    assert etree.QName(root).localname == "Envelope"
    assert root.find(f".//{{{DS}}}Signature") is not None
