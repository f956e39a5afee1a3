"""Our EC2 WSDL, written by Spyne from our models and put in the EC2 WSDL's conventions. No query/ or s3/.

Spyne's document differs from EC2's in ways a SOAP client sees or a reviewer trips over, so `wsdl_document`
settles them: the SOAP-over-HTTP transport (Spyne writes its placeholder when no server is attached), EC2's
names for the port type, binding, service and port, no global elements besides the operations' messages
(Spyne declares one per complex type), and a stable order of the schema so the committed file diffs cleanly.
"""
from __future__ import annotations

from typing import Any

from lxml import etree

__all__ = ["wsdl_document", "with_address", "PLACEHOLDER_ADDRESS"]

WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
XS = "http://www.w3.org/2001/XMLSchema"
HTTP_TRANSPORT = "http://schemas.xmlsoap.org/soap/http"
PLACEHOLDER_ADDRESS = "http://localhost:7080/awsapi/services/AmazonEC2"
# EC2's names (a client's generated stubs are named after them).
PORT_TYPE, BINDING, SERVICE, PORT = "AmazonEC2PortType", "AmazonEC2Binding", "AmazonEC2", "AmazonEC2Port"


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def wsdl_document(app: Any, address: str = PLACEHOLDER_ADDRESS) -> bytes:
    from spyne.interface.wsdl import Wsdl11

    builder = Wsdl11(app.interface)
    builder.build_interface_document(address)
    root = etree.fromstring(builder.get_interface_document())
    _tidy_schema(root)
    _rename(root)
    for binding in root.iter(_q(SOAP, "binding")):
        binding.set("transport", HTTP_TRANSPORT)
    for operation in root.iter(_q(WSDL, "operation")):
        operation.attrib.pop("parameterOrder", None)
    etree.cleanup_namespaces(root, top_nsmap={"wsdl": WSDL, "xs": XS, "soap": SOAP, "tns": app.tns},
                             keep_ns_prefixes=["tns", "xs"])
    etree.indent(root, space="  ")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8") + b"\n"


def _tidy_schema(root: Any) -> None:
    used = {part.get("element").split(":", 1)[1] for part in root.iter(_q(WSDL, "part")) if part.get("element")}
    for schema in root.iter(_q(XS, "schema")):
        _name_argumentless_types(schema, used)
        types = sorted((c for c in schema if c.tag == _q(XS, "complexType")), key=lambda c: c.get("name"))
        elements = sorted((c for c in schema if c.tag == _q(XS, "element") and c.get("name") in used),
                          key=lambda c: c.get("name"))
        others = [c for c in schema if c.tag not in (_q(XS, "complexType"), _q(XS, "element"))]
        for child in list(schema):
            schema.remove(child)
        for child in others + elements + types:
            schema.append(child)


def _name_argumentless_types(schema: Any, used: set[str]) -> None:
    """A method without arguments gets a type named like its element (AllocateAddress); EC2 calls it
    AllocateAddressType, as every other request type."""
    for element in schema.findall(_q(XS, "element")):
        name = element.get("name")
        if name in used and element.get("type") == f"tns:{name}":
            for ctype in schema.findall(_q(XS, "complexType")):
                if ctype.get("name") == name:
                    ctype.set("name", f"{name}Type")
                    element.set("type", f"tns:{name}Type")


def _rename(root: Any) -> None:
    port_type = root.find(_q(WSDL, "portType"))
    binding = root.find(_q(WSDL, "binding"))
    service = root.find(_q(WSDL, "service"))
    port = service.find(_q(WSDL, "port"))
    port_type.set("name", PORT_TYPE)
    binding.set("name", BINDING)
    binding.set("type", f"tns:{PORT_TYPE}")
    service.set("name", SERVICE)
    port.set("name", PORT)
    port.set("binding", f"tns:{BINDING}")
    # Spyne puts the service first; WSDL 1.1 readers accept any order, humans expect it last.
    root.remove(service)
    root.append(service)


def with_address(document: bytes, address: str) -> bytes:
    """DOCUMENT with ADDRESS as the service port's location (through ec2soap.xmltext, like every text we
    write: the address follows the request's Host)."""
    from ec2soap.xmltext import escape

    return document.replace(f'location="{PLACEHOLDER_ADDRESS}"'.encode(),
                            f'location="{escape(address, attribute=True)}"'.encode("utf-8"), 1)
