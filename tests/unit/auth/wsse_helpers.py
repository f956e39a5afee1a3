"""Test helpers: throwaway X.509 identities and SOAP envelopes signed the way zeep's BinarySignature (and
ec2-api-tools) sign them, built from the reference EC2 WSDL in ../shared (read there, never copied)."""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import pytest
import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

REFERENCE_WSDL = Path(__file__).resolve().parents[4] / "shared" / "reference" / "awsapi" / "wsdl" / "AmazonEC2.wsdl"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"wsu": WSU, "wsse": WSSE, "soap": SOAP, "ds": DS}


@dataclass
class Identity:
    """A throwaway RSA key and self-signed certificate, also written to files for zeep."""
    key_pem: bytes
    cert_pem: bytes
    cert_der: bytes
    key_file: str
    cert_file: str


def make_identity(directory: Path, name: str, *, serial: int | None = None, issuer: str | None = None) -> Identity:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]) if issuer else subject
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name).public_key(key.public_key())
            .serial_number(serial or x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_file, cert_file = directory / f"{name}.key", directory / f"{name}.pem"
    key_file.write_bytes(key_pem)
    cert_file.write_bytes(cert_pem)
    return Identity(key_pem, cert_pem, cert.public_bytes(serialization.Encoding.DER), str(key_file),
                    str(cert_file))


_clients: dict[str, Any] = {}


def ec2_client() -> Any:
    if not REFERENCE_WSDL.exists():
        pytest.skip("the reference EC2 WSDL (../shared/reference/awsapi) is not available")
    if "client" not in _clients:
        import zeep

        _clients["client"] = zeep.Client(str(REFERENCE_WSDL))
    return _clients["client"]


def unsigned_envelope(operation: str = "DescribeKeyPairs", **kwargs: Any) -> etree._Element:
    client = ec2_client()
    if not kwargs and operation == "DescribeKeyPairs":
        kwargs = {"keySet": {"item": [{"keyName": "deploy"}]}}
    return client.create_message(client.service, operation, **kwargs)


def add_timestamp(envelope: etree._Element, *, created: datetime.datetime | None = None,
                  expires: datetime.datetime | None = None, lifetime: int = 300) -> None:
    from zeep.wsse import utils

    created = created or datetime.datetime.now(datetime.timezone.utc)
    expires = expires or created + datetime.timedelta(seconds=lifetime)
    utils.get_security_header(envelope).append(utils.WSU.Timestamp(
        utils.WSU.Created(utils.get_timestamp(created, zulu_timestamp=True)),
        utils.WSU.Expires(utils.get_timestamp(expires, zulu_timestamp=True))))


def zeep_signed(identity: Identity, *, created: datetime.datetime | None = None,
                expires: datetime.datetime | None = None, signature_method: Any = None,
                digest_method: Any = None, **message: Any) -> bytes:
    """What a zeep client with BinarySignature and a Timestamp sends, as bytes."""
    from zeep.wsse.signature import BinarySignature

    envelope = unsigned_envelope(**message)
    add_timestamp(envelope, created=created, expires=expires)
    BinarySignature(identity.key_file, identity.cert_file, signature_method=signature_method,
                    digest_method=digest_method).apply(envelope, {})
    return etree.tostring(envelope)


def custom_signed(identity: Identity, targets: Iterable[str], *, token_der: bytes | None = None) -> bytes:
    """A BinarySecurityToken envelope whose signature covers only `targets` ("body", "timestamp", "token",
    "header": another header element), to build what zeep never sends."""
    import base64

    envelope = unsigned_envelope()
    add_timestamp(envelope)
    header = envelope.find(f"{{{SOAP}}}Header")
    security = header.find(f"{{{WSSE}}}Security")
    extra = etree.SubElement(header, "{urn:example}Note")
    extra.text = "unsigned"
    token = etree.SubElement(security, f"{{{WSSE}}}BinarySecurityToken", {
        "ValueType": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3",
        "EncodingType": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0"
                        "#Base64Binary",
        f"{{{WSU}}}Id": "token-1"})
    token.text = base64.b64encode(token_der or identity.cert_der).decode("ascii")
    nodes = {"body": envelope.find(f"{{{SOAP}}}Body"), "timestamp": security.find(f"{{{WSU}}}Timestamp"),
             "header": extra, "token": token}
    signature = xmlsec.template.create(envelope, xmlsec.Transform.EXCL_C14N, xmlsec.Transform.RSA_SHA1)
    security.insert(0, signature)
    ctx = xmlsec.SignatureContext()
    for name in targets:
        node = nodes[name]
        if node.get(f"{{{WSU}}}Id") is None:
            node.set(f"{{{WSU}}}Id", f"id-{name}")
        ctx.register_id(node, "Id", WSU)
        reference = xmlsec.template.add_reference(signature, xmlsec.Transform.SHA1,
                                                  uri="#" + node.get(f"{{{WSU}}}Id"))
        xmlsec.template.add_transform(reference, xmlsec.Transform.EXCL_C14N)
    key_info = xmlsec.template.ensure_key_info(signature)
    ctx.key = xmlsec.Key.from_memory(identity.key_pem, xmlsec.KeyFormat.PEM, None)
    ctx.sign(signature)
    reference_holder = etree.SubElement(key_info, f"{{{WSSE}}}SecurityTokenReference")
    etree.SubElement(reference_holder, f"{{{WSSE}}}Reference", {"URI": "#token-1"})
    return etree.tostring(envelope)
