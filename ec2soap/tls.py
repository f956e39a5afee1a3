"""Native HTTPS: the server certificate and key of the settings (tls_cert, tls_key), checked once at start-up.

`load(cert_path, key_path)` reads both PEM files, checks that the key belongs to the certificate and that the
certificate is valid now, and returns Twisted's CertificateOptions (TLS 1.2 and later, the certificate's chain
sent after it). `check(...)` returns the problems as sentences, for `ec2soap config check`; `load` raises
TLSSetupError with the same sentence. Nothing here ever prints a key.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

__all__ = ["TLSSetupError", "ServerIdentity", "read_identity", "load", "check", "warnings", "tls_factory"]


class TLSSetupError(ValueError):
    """The certificate or key cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class ServerIdentity:
    certificate: Any  # cryptography x509.Certificate (the server's own, first in the file)
    chain: tuple  # the intermediate certificates that followed it
    key: Any  # cryptography private key

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()

    @property
    def not_after(self) -> datetime.datetime:
        return _utc(self.certificate, "not_valid_after")


def _utc(certificate: Any, name: str) -> datetime.datetime:
    """not_valid_before/after as an aware UTC datetime (cryptography < 42 has only the naive ones)."""
    aware = getattr(certificate, name + "_utc", None)
    return aware if aware is not None else getattr(certificate, name).replace(tzinfo=datetime.timezone.utc)


def _read(path: str, what: str) -> bytes:
    if not path:
        raise TLSSetupError(f"{what} is not set")
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise TLSSetupError(f"cannot read {what} {path}: {exc.strerror}") from None


def read_identity(cert_path: str, key_path: str, *, now: datetime.datetime | None = None) -> ServerIdentity:
    """The certificate (with its chain) and the key of CERT_PATH / KEY_PATH, checked; TLSSetupError if unusable."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert_pem = _read(cert_path, "tls_cert")
    key_pem = _read(key_path, "tls_key")
    try:
        certificates = x509.load_pem_x509_certificates(cert_pem)
    except ValueError:
        raise TLSSetupError(f"tls_cert {cert_path} holds no PEM certificate") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:
        raise TLSSetupError(f"tls_key {key_path} is encrypted: give an unencrypted key (readable by this user "
                            f"only)") from None
    except Exception:  # ValueError, UnsupportedAlgorithm: not a key we can read
        raise TLSSetupError(f"tls_key {key_path} holds no PEM private key") from None
    certificate = certificates[0]
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if (key.public_key().public_bytes(serialization.Encoding.DER, public)
            != certificate.public_key().public_bytes(serialization.Encoding.DER, public)):
        raise TLSSetupError(f"tls_key {key_path} is not the private key of the certificate in {cert_path}")
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if _utc(certificate, "not_valid_after") < now:
        raise TLSSetupError(f"tls_cert {cert_path} expired on {_utc(certificate, 'not_valid_after'):%Y-%m-%d %H:%M} "
                            f"UTC")
    if _utc(certificate, "not_valid_before") > now:
        raise TLSSetupError(f"tls_cert {cert_path} is not valid before "
                            f"{_utc(certificate, 'not_valid_before'):%Y-%m-%d %H:%M} UTC")
    return ServerIdentity(certificate=certificate, chain=tuple(certificates[1:]), key=key)


def load(cert_path: str, key_path: str) -> Any:
    """Twisted CertificateOptions for the server identity in CERT_PATH / KEY_PATH (TLSSetupError if unusable)."""
    import OpenSSL
    from OpenSSL import crypto
    from twisted.internet import ssl

    identity = read_identity(cert_path, key_path)
    key, certificate, chain = identity.key, identity.certificate, list(identity.chain)
    if _version(OpenSSL.__version__) < (24, 3):  # older pyOpenSSL takes only its own wrappers
        key, certificate = crypto.PKey.from_cryptography_key(key), crypto.X509.from_cryptography(certificate)
        chain = [crypto.X509.from_cryptography(c) for c in chain]
    return ssl.CertificateOptions(privateKey=key, certificate=certificate, extraCertChain=chain,
                                  raiseMinimumTo=ssl.TLSVersion.TLSv1_2)


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for part in text.split(".")[:2]:
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def check(cert_path: str, key_path: str) -> tuple[bool, str]:
    """(True, a description) when the pair is usable, else (False, the problem)."""
    try:
        identity = read_identity(cert_path, key_path)
    except TLSSetupError as exc:
        return False, str(exc)
    return True, f"tls_cert {cert_path}: {identity.subject}, valid until {identity.not_after:%Y-%m-%d} UTC"


def warnings(cert_path: str, key_path: str, *, soon_days: int = 14) -> list[str]:
    """What is usable but should be fixed: a key others can read, a certificate about to expire."""
    import os
    import stat

    found = []
    try:
        mode = os.stat(key_path).st_mode
    except OSError:
        return found
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        found.append(f"tls_key {key_path} is readable by other users (chmod 600 it)")
    try:
        identity = read_identity(cert_path, key_path)
    except TLSSetupError:
        return found
    left = identity.not_after - datetime.datetime.now(datetime.timezone.utc)
    if left < datetime.timedelta(days=soon_days):
        found.append(f"tls_cert {cert_path} expires in {max(left.days, 0)} day(s), on {identity.not_after:%Y-%m-%d}")
    return found


def tls_factory(options: Any, factory: Any) -> Any:
    """FACTORY (a twisted.web Site) behind TLS with OPTIONS, for a socket adopted with adoptStreamPort."""
    from twisted.protocols.tls import TLSMemoryBIOFactory

    return TLSMemoryBIOFactory(options, False, factory)
