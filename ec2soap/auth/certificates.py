"""X.509 certificates registered for SOAP callers: parsing, the unique id, the fingerprint.

Only `cryptography` here: no Twisted, Spyne, lxml or SQL. Never handles private keys; a PEM that
carries one next to the certificate is reduced to the certificate alone before anything stores it.
"""
from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["CertificateError", "RegisteredCertificate", "load_pem", "load_der", "unique_id", "MAX_UNIQUE_ID"]

# The width of ec2_credential.cert_unique_id.
MAX_UNIQUE_ID = 768
_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)
# Parsing is a pure function of the bytes, and the same few certificates come back on every SOAP request (the
# token, then the registered PEM it is compared with): the last ones parsed are kept, keyed by their exact
# bytes. Only certificates of ordinary size are kept, so the memory held stays bounded (_MEMO_ENTRIES × 8 KiB).
_MEMO_ENTRIES = 256
_MEMO_MAX_BYTES = 8192


class CertificateError(ValueError):
    """The text is not one usable X.509 certificate. The message is safe to show to the caller."""


@dataclass(frozen=True)
class RegisteredCertificate:
    """A parsed certificate as the store keeps it: the lookup id, the DER bytes and their SHA-256."""
    unique_id: str
    der: bytes = field(repr=False)
    fingerprint: str

    @property
    def pem(self) -> str:
        return x509.load_der_x509_certificate(self.der).public_bytes(serialization.Encoding.PEM).decode("ascii")


def unique_id(cert: x509.Certificate) -> str:
    """Issuer and serial, as the original keyed certificates (`<issuer>, serial=<n>`); the issuer is written
    in RFC 4514 form, so ids are not interchangeable with the original's Java-formatted ones."""
    return f"{cert.issuer.rfc4514_string()}, serial={cert.serial_number}"


def load_der(der: bytes) -> RegisteredCertificate:
    """DER bytes (a BinarySecurityToken) → RegisteredCertificate; CertificateError if unusable."""
    der = bytes(der)
    return _load_der_memo(der) if len(der) <= _MEMO_MAX_BYTES else _load_der(der)


def _load_der(der: bytes) -> RegisteredCertificate:
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        raise CertificateError("the certificate is not a valid DER-encoded X.509 certificate") from None
    return _registered(cert)


_load_der_memo = functools.lru_cache(maxsize=_MEMO_ENTRIES)(_load_der)  # a refusal raises: never kept


def load_pem(text: str | bytes) -> RegisteredCertificate:
    """A PEM certificate (what SetCertificate and `ec2soap cert add` receive) → RegisteredCertificate.

    Exactly one CERTIFICATE block is accepted; anything else around it (a private key pasted by mistake)
    is ignored and never kept."""
    data = text.encode("utf-8", "replace") if isinstance(text, str) else text
    blocks = _PEM_CERT.findall(data)
    if not blocks:
        raise CertificateError("no PEM certificate (-----BEGIN CERTIFICATE-----) was given")
    if len(blocks) > 1:
        raise CertificateError("give exactly one certificate, not a chain")
    return _load_block_memo(blocks[0]) if len(blocks[0]) <= _MEMO_MAX_BYTES else _load_block(blocks[0])


def _load_block(block: bytes) -> RegisteredCertificate:
    try:
        cert = x509.load_pem_x509_certificate(block)
    except ValueError:
        raise CertificateError("the PEM certificate could not be parsed") from None
    return _registered(cert)


_load_block_memo = functools.lru_cache(maxsize=_MEMO_ENTRIES)(_load_block)


def _registered(cert: x509.Certificate) -> RegisteredCertificate:
    try:
        public_key = cert.public_key()
    except (ValueError, TypeError):
        raise CertificateError("the certificate's public key is not supported") from None
    # EC2 quirk: the SOAP signatures EC2 tools send are RSA (rsa-sha1); nothing else can be verified.
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise CertificateError("the certificate must hold an RSA public key")
    ident = unique_id(cert)
    if len(ident) > MAX_UNIQUE_ID:
        raise CertificateError("the certificate's issuer name is too long")
    der = cert.public_bytes(serialization.Encoding.DER)
    return RegisteredCertificate(unique_id=ident, der=der, fingerprint=hashlib.sha256(der).hexdigest())
