"""SOAP 1.1 faults for EC2 errors: faultcode Client.<Code> or Server.<Code>, EC2's message as faultstring.

Every fault this door sends is written here, whether it comes from the core, the signature check or a body that
is not SOAP at all; the resource sends it with HTTP 500, as SOAP 1.1 asks. What is not an EC2Error is answered
as InternalError by the front door's catch-all (ec2soap.door), without its text. Never imports query/ or s3/.
"""
from __future__ import annotations

from lxml import etree

from ec2soap.errors import EC2Error
from ec2soap.xmltext import clean

__all__ = ["SOAP_ENV", "fault_document"]

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def fault_document(error: EC2Error, request_id: str | None = None) -> bytes:
    """`<soapenv:Envelope><soapenv:Body><soapenv:Fault>` with faultcode soapenv:Client.<Code> (a QName in the
    envelope namespace, dotted as SOAP 1.1 §4.4.1 describes) and the request id in detail."""
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soapenv": SOAP_ENV})
    body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    fault = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    # Text through ec2soap.xmltext, as in every document we write: the message may echo the caller's names.
    etree.SubElement(fault, "faultcode").text = clean(f"soapenv:{error.sender}.{error.code}")
    etree.SubElement(fault, "faultstring").text = clean(error.message)
    if request_id:
        detail = etree.SubElement(fault, "detail")
        etree.SubElement(detail, "RequestID").text = clean(request_id)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
