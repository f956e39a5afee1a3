"""The SOAP door's own answers: ?wsdl with this server's address, and faults (HTTP 500, Client.<Code>) for
unsigned, malformed and unknown requests, read back as zeep reads them."""
from __future__ import annotations

from typing import Any

import pytest
import requests
from lxml import etree

from tests.protocol.soap.conftest import BINDING, REFERENCE_WSDL, SOAP_PATH, SoapClient, signature

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def fault_of(response: requests.Response) -> tuple[str, str]:
    assert response.status_code == 500
    assert response.headers["Content-Type"].startswith("text/xml")
    fault = etree.fromstring(response.content).find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    return fault.findtext("faultcode").split(":", 1)[1], fault.findtext("faultstring")


def reference_message(operation: str, **kwargs: Any) -> bytes:
    import zeep

    if not REFERENCE_WSDL.exists():
        pytest.skip("the reference EC2 WSDL (../shared/reference/awsapi) is not available")
    client = zeep.Client(str(REFERENCE_WSDL))
    return etree.tostring(client.create_message(client.service, operation, **kwargs))


def test_wsdl_carries_this_servers_address(gateway_server: Any) -> None:
    answer = requests.get(gateway_server.url + SOAP_PATH + "?wsdl", timeout=30)
    assert answer.status_code == 200
    root = etree.fromstring(answer.content)
    address = root.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
    assert address.get("location") == gateway_server.url + SOAP_PATH
    # A hostile Host header never lands in the document.
    answer = requests.get(gateway_server.url + SOAP_PATH + "?WSDL", headers={"Host": 'x"><evil/>'}, timeout=30)
    assert b"evil" not in answer.content and answer.status_code == 200


@pytest.mark.parametrize("path", [SOAP_PATH, "/awsapi"])
def test_unsigned_request_is_auth_failure(gateway_server: Any, path: str) -> None:
    body = reference_message("DescribeKeyPairs", keySet={"item": []})
    code, message = fault_of(requests.post(gateway_server.url + path, data=body, timeout=30,
                                           headers={"Content-Type": "text/xml", "SOAPAction": "DescribeKeyPairs"}))
    assert code == "Client.AuthFailure"
    assert message


def test_malformed_xml_is_a_client_fault(gateway_server: Any) -> None:
    code, _ = fault_of(requests.post(gateway_server.url + SOAP_PATH, data=b"<Envelope><unclosed>", timeout=30,
                                     headers={"Content-Type": "text/xml"}))
    assert code == "Client.InvalidRequest"


def test_doctype_is_refused(gateway_server: Any) -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'
    code, message = fault_of(requests.post(gateway_server.url + SOAP_PATH, data=body, timeout=30,
                                           headers={"Content-Type": "text/xml"}))
    assert code == "Client.InvalidRequest" and "DTD" in message


def test_get_without_wsdl_is_a_fault(gateway_server: Any) -> None:
    code, _ = fault_of(requests.get(gateway_server.url + SOAP_PATH, timeout=30))
    assert code == "Client.InvalidRequest"


def test_signed_unimplemented_operation_is_unsupported(gateway_server: Any, register_soap_user: Any) -> None:
    import zeep
    from zeep.exceptions import Fault

    if not REFERENCE_WSDL.exists():
        pytest.skip("the reference EC2 WSDL (../shared/reference/awsapi) is not available")
    keys, key_file, cert_file = register_soap_user()
    client = zeep.Client(str(REFERENCE_WSDL), wsse=signature(key_file, cert_file))
    service = client.create_service(BINDING, gateway_server.url + SOAP_PATH)
    with pytest.raises(Fault) as caught:
        service.DescribeDhcpOptions(dhcpOptionsSet={"item": []})  # DescribeVpcs is implemented now
    assert caught.value.code.split(":", 1)[1] == "Client.UnsupportedOperation"


def test_unregistered_certificate_is_auth_failure(gateway_server: Any, register_soap_user: Any,
                                                  tmp_path: Any) -> None:
    from tests.protocol.conftest import Keys
    from tests.protocol.soap.conftest import make_certificate

    key_file, cert_file, _pem = make_certificate(tmp_path, "stranger")
    client = SoapClient("reference", gateway_server, Keys("", "", "stranger"), key_file, cert_file)
    failure = client.failure("DescribeKeyPairs", keySet={"item": []})
    assert failure.faultcode == "Client.AuthFailure"
