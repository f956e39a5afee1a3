"""SetCertificate / DeleteCertificate over Query (signed with botocore's SigV2 signer) against the real server,
then the command-line tools: `ec2soap cert add|remove` and `cloudstack-aws-api-register` (subprocesses).

After each registration a SOAP envelope signed by zeep's BinarySignature is checked against the server's own
credential store: the certificate maps to the user's keys, and only while it is registered."""
from __future__ import annotations

import configparser
import datetime
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
import requests
from lxml import etree

from ec2soap.auth.wsse import WsseError, parse_hardened, verify_envelope
from tests.protocol.conftest import GatewayServer, Keys
from tests.unit.auth.wsse_helpers import Identity, make_identity, zeep_signed

ROOT = Path(__file__).resolve().parents[3]


def query(server: GatewayServer, keys: Keys, action: str, *, sign: bool = True, path: str = "/awsapi",
          **params: str) -> requests.Response:
    """A POST form to the gateway, signed (SigV2, HmacSHA256) by botocore as boto3 would sign it."""
    from botocore.auth import SigV2Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="POST", url=server.url + path,
                         data={"Action": action, "Version": "2012-08-15", **params},
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    if sign:
        SigV2Auth(Credentials(keys.access_key, keys.secret_key)).add_auth(request)
    prepared = request.prepare()
    return requests.post(prepared.url, data=prepared.body, headers=dict(prepared.headers), timeout=30)


def error_code(response: requests.Response) -> str:
    return etree.fromstring(response.content).findtext("Errors/Error/Code")


def soap_caller(server: GatewayServer, identity: Identity) -> Any:
    """Who a SOAP request signed with IDENTITY acts as, per the server's credential store (or WsseError)."""
    return verify_envelope(parse_hardened(zeep_signed(identity)), now=datetime.datetime.now(datetime.timezone.utc),
                           lookup_cert=server.running.credentials.caller_for_certificate_sync)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: Any) -> Callable[[str], Identity]:
    folder = tmp_path_factory.mktemp("certs")
    return lambda name: make_identity(folder, name)


def test_set_certificate_registers_an_admin_looked_up_user(gateway_server: GatewayServer, new_user: Any,
                                                           certs: Any) -> None:
    keys, identity = new_user(), certs("alice")
    with pytest.raises(WsseError, match="not properly registered"):
        soap_caller(gateway_server, identity)
    response = query(gateway_server, keys, "SetCertificate", cert=identity.cert_pem.decode())
    assert (response.status_code, response.text) == (200, "User certificate set successfully")
    assert response.headers["Content-Type"].startswith("text/plain")
    caller = soap_caller(gateway_server, identity)
    assert (caller.access_key, caller.secret_key) == (keys.access_key, keys.secret_key)

    response = query(gateway_server, keys, "DeleteCertificate", path="/awsapi/rest/AmazonEC2")
    assert (response.status_code, response.text) == (200, "User certificate deleted successfully")
    with pytest.raises(WsseError, match="not properly registered"):
        soap_caller(gateway_server, identity)
    again = query(gateway_server, keys, "DeleteCertificate")
    assert (again.status_code, error_code(again)) == (404, "NoSuchEntity")


def test_set_certificate_needs_a_valid_signature(gateway_server: GatewayServer, new_user: Any, certs: Any) -> None:
    keys, identity = new_user(), certs("mallory")
    unsigned = query(gateway_server, keys, "SetCertificate", sign=False, cert=identity.cert_pem.decode(),
                     AWSAccessKeyId=keys.access_key)
    assert unsigned.status_code in (400, 401, 403) and error_code(unsigned) in ("MissingParameter", "AuthFailure")
    forged = query(gateway_server, Keys(keys.access_key, "not-the-secret", keys.account), "SetCertificate",
                   cert=identity.cert_pem.decode())
    assert (forged.status_code, error_code(forged)) == (403, "SignatureDoesNotMatch")
    nobody = query(gateway_server, Keys("AKNOBODY", "x", "-"), "DeleteCertificate")
    assert error_code(nobody) == "AuthFailure"
    with pytest.raises(WsseError):
        soap_caller(gateway_server, identity)


@pytest.mark.parametrize("cert", ["", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", "garbage"])
def test_set_certificate_refuses_what_is_not_a_certificate(gateway_server: GatewayServer, new_user: Any,
                                                           cert: str) -> None:
    response = query(gateway_server, new_user(), "SetCertificate", cert=cert)
    assert (response.status_code, error_code(response)) == (400, "InvalidParameterValue")


def test_set_certificate_without_the_parameter(gateway_server: GatewayServer, new_user: Any) -> None:
    response = query(gateway_server, new_user(), "SetCertificate")
    assert (response.status_code, error_code(response)) == (400, "InvalidParameterValue")


def test_a_certificate_belongs_to_one_user(gateway_server: GatewayServer, new_user: Any, certs: Any) -> None:
    first, second, identity = new_user(), new_user(), certs("shared")
    assert query(gateway_server, first, "SetCertificate", cert=identity.cert_pem.decode()).status_code == 200
    taken = query(gateway_server, second, "SetCertificate", cert=identity.cert_pem.decode())
    assert (taken.status_code, error_code(taken)) == (400, "InvalidParameterValue")
    assert soap_caller(gateway_server, identity).access_key == first.access_key


# --- command line --------------------------------------------------------------------------------------------

def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120, cwd=ROOT)


def register_args(server: GatewayServer, keys: Keys, cert_file: str) -> list[str]:
    return ["--apikey", keys.access_key, "--secretkey", keys.secret_key, "--cert", cert_file,
            "--url", server.url + "/awsapi"]


def test_the_register_script_is_a_console_script() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    scripts = config["options.entry_points"]["console_scripts"]
    assert "cloudstack-aws-api-register = ec2soap.registration:register_main" in scripts


def test_cloudstack_aws_api_register(gateway_server: GatewayServer, new_user: Any, certs: Any) -> None:
    keys, identity = new_user(), certs("registered")
    done = run("-m", "ec2soap.registration", *register_args(gateway_server, keys, identity.cert_file))
    assert (done.returncode, done.stdout.strip()) == (0, "User registration is successful!"), done.stderr
    assert keys.secret_key not in done.stdout + done.stderr
    assert soap_caller(gateway_server, identity).access_key == keys.access_key


def test_cloudstack_aws_api_register_with_wrong_keys(gateway_server: GatewayServer, new_user: Any,
                                                     certs: Any) -> None:
    keys, identity = new_user(), certs("wrong")
    bad = Keys(keys.access_key, "wrong-secret", keys.account)
    done = run("-m", "ec2soap.registration", *register_args(gateway_server, bad, identity.cert_file))
    assert done.returncode == 1
    assert done.stdout.strip() == "User registration failed with http error code: 401"
    with pytest.raises(WsseError):
        soap_caller(gateway_server, identity)


def test_ec2soap_cert_add_and_remove(gateway_server: GatewayServer, new_user: Any, certs: Any) -> None:
    keys, identity = new_user(), certs("operator")
    database = ["--database-url", gateway_server.running.settings.effective_database_url]
    unregistered = run("-m", "ec2soap", "cert", "add", f"--access-key={keys.access_key}", "--cert",
                       identity.cert_file, *database)
    assert unregistered.returncode == 1 and "not registered" in unregistered.stderr

    assert query(gateway_server, keys, "SetUserKeys", sign=False, accesskey=keys.access_key,
                 secretkey=keys.secret_key).status_code == 200
    added = run("-m", "ec2soap", "cert", "add", f"--access-key={keys.access_key}", "--cert", identity.cert_file,
                *database)
    assert added.returncode == 0, added.stderr
    assert soap_caller(gateway_server, identity).access_key == keys.access_key

    removed = run("-m", "ec2soap", "cert", "remove", f"--access-key={keys.access_key}", *database)
    assert removed.returncode == 0, removed.stderr
    with pytest.raises(WsseError):
        soap_caller(gateway_server, identity)
    again = run("-m", "ec2soap", "cert", "remove", f"--access-key={keys.access_key}", *database)
    assert again.returncode == 1 and "no certificate" in again.stderr


def test_ec2soap_cert_add_refuses_a_key_file(gateway_server: GatewayServer, new_user: Any, certs: Any,
                                             tmp_path: Path) -> None:
    keys, identity = new_user(), certs("keyonly")
    assert query(gateway_server, keys, "SetUserKeys", sign=False, accesskey=keys.access_key,
                 secretkey=keys.secret_key).status_code == 200
    done = run("-m", "ec2soap", "cert", "add", f"--access-key={keys.access_key}", "--cert", identity.key_file,
               "--database-url", gateway_server.running.settings.effective_database_url)
    assert done.returncode == 1 and "invalid certificate" in done.stderr
    assert "PRIVATE" not in done.stdout + done.stderr
