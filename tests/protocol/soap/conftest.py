"""EC2 over SOAP against the real server: two zeep clients, one built from the reference WSDL in ../shared (its
service address pointed at our server) and one from our own ?wsdl, both signing with zeep's BinarySignature
and a certificate registered for the user. Assert on what zeep parsed: objects and Fault codes.
"""
from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any, Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.protocol.conftest import GatewayServer, Keys

REFERENCE_WSDL = Path(__file__).resolve().parents[4] / "shared" / "reference" / "awsapi" / "wsdl" / "AmazonEC2.wsdl"
BINDING = "{http://ec2.amazonaws.com/doc/2010-11-15/}AmazonEC2Binding"
SOAP_PATH = "/awsapi/services/AmazonEC2"


class SoapFailure(Exception):
    """A SOAP fault as zeep parsed it: `code` is EC2's code without the Client./Server. part."""

    def __init__(self, faultcode: str, message: str):
        super().__init__(f"{faultcode}: {message}")
        local = faultcode.split(":", 1)[-1]
        self.faultcode, self.sender = local, local.split(".", 1)[0]
        self.code, self.message = local.split(".", 1)[1] if "." in local else local, message


def make_certificate(directory: Path, name: str) -> tuple[str, str, str]:
    """(key file, certificate file, certificate PEM) of a throwaway self-signed RSA identity."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    key_file, cert_file = directory / f"{name}.key", directory / f"{name}.pem"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_file.write_bytes(pem)
    return str(key_file), str(cert_file), pem.decode("ascii")


def signature(key_file: str, cert_file: str) -> Any:
    """zeep's BinarySignature with the wsu:Timestamp EC2 requires (added before signing, signed with the body).
    Responses are not signed (EC2's were not either), so there is nothing to verify on the way back."""
    from zeep.wsse import utils
    from zeep.wsse.signature import BinarySignature

    class TimestampedSignature(BinarySignature):
        def apply(self, envelope: Any, headers: Any) -> Any:
            now = datetime.datetime.now(datetime.timezone.utc)
            utils.get_security_header(envelope).append(utils.WSU.Timestamp(
                utils.WSU.Created(utils.get_timestamp(now, zulu_timestamp=True)),
                utils.WSU.Expires(utils.get_timestamp(now + datetime.timedelta(minutes=5), zulu_timestamp=True))))
            return super().apply(envelope, headers)

        def verify(self, envelope: Any) -> Any:
            return envelope

    return TimestampedSignature(key_file, cert_file)


class SoapClient:
    """One zeep client (`kind` "reference" or "ours") with one user's certificate. `call(op, **kw)` returns
    zeep's parsed response or raises SoapFailure."""

    def __init__(self, kind: str, server: GatewayServer, keys: Keys, key_file: str, cert_file: str):
        import zeep
        from zeep.transports import Transport

        self.kind, self.server, self.keys = kind, server, keys
        wsse = signature(key_file, cert_file)
        transport = Transport(timeout=60, operation_timeout=60)
        if kind == "reference":
            if not REFERENCE_WSDL.exists():
                pytest.skip("the reference EC2 WSDL (../shared/reference/awsapi) is not available")
            self.client = zeep.Client(str(REFERENCE_WSDL), wsse=wsse, transport=transport)
            self.service = self.client.create_service(BINDING, server.url + SOAP_PATH)
        else:
            self.client = zeep.Client(server.url + SOAP_PATH + "?wsdl", wsse=wsse, transport=transport)
            self.service = self.client.service

    def call(self, operation: str, **kwargs: Any) -> Any:
        from zeep.exceptions import Fault

        try:
            return getattr(self.service, operation)(**kwargs)
        except Fault as fault:
            raise SoapFailure(fault.code or "", fault.message or "") from None

    def failure(self, operation: str, **kwargs: Any) -> SoapFailure:
        with pytest.raises(SoapFailure) as caught:
            self.call(operation, **kwargs)
        return caught.value


@pytest.fixture
def register_soap_user(gateway_server: GatewayServer, new_user: Callable[[], Keys], in_reactor: Any,
                       tmp_path: Path) -> Callable[[], tuple[Keys, str, str]]:
    """register() → (keys, key file, cert file) of a fresh user whose keys and certificate are registered."""
    def register() -> tuple[Keys, str, str]:
        keys = new_user()
        key_file, cert_file, pem = make_certificate(tmp_path, keys.account)
        credentials = gateway_server.running.credentials
        in_reactor(credentials.register, keys.access_key, keys.secret_key)
        assert in_reactor(credentials.set_certificate, keys.access_key, pem)
        return keys, key_file, cert_file
    return register


@pytest.fixture(params=["reference", "ours"])
def soap(request: Any, gateway_server: GatewayServer, register_soap_user: Any) -> SoapClient:
    """A zeep client of each kind (reference WSDL, our ?wsdl), each with a fresh registered user."""
    keys, key_file, cert_file = register_soap_user()
    return SoapClient(request.param, gateway_server, keys, key_file, cert_file)
