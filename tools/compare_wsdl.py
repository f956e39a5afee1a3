#!/usr/bin/env python3
"""Compare our EC2 WSDL with the reference one (../shared), type by type, for every operation we publish.

For each operation in our WSDL: the operation exists in the reference, with the same soapAction, document/literal
binding and request/response elements; then both element types are walked together, recursively, and every
difference in type names, namespaces, element names, order, types, occurrences or attributes is printed. Exit
status 1 when there is any difference (a test requires none), 0 otherwise. Reads both files; writes nothing.

Normalisation (what a client cannot tell apart on the wire): an element inside an xs:choice (or a group of one)
with several members counts as optional, because our shapes declare choice members optional and the binding
enforces the choice; `mixed` and an attribute's `fixed` value are not compared.

Usage: python tools/compare_wsdl.py [--ours wsdl/AmazonEC2.wsdl] [--reference PATH] [--check]
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
OURS = ROOT / "wsdl" / "AmazonEC2.wsdl"
REFERENCE = ROOT.parent / "shared" / "reference" / "awsapi" / "wsdl" / "AmazonEC2.wsdl"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
XS = "http://www.w3.org/2001/XMLSchema"


@dataclass(frozen=True)
class Particle:
    name: str
    namespace: str
    type: tuple[str, str]
    min: str
    max: str


class Wsdl:
    """The parts of a WSDL the comparison reads, with QNames resolved to (namespace, name)."""

    def __init__(self, path: Path):
        parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
        self.root = etree.parse(str(path), parser).getroot()
        self.tns = self.root.get("targetNamespace")
        self.elements: dict[tuple[str, str], tuple[str, str]] = {}
        self.types: dict[tuple[str, str], Any] = {}
        self.groups: dict[tuple[str, str], Any] = {}
        self.qualified: dict[str, bool] = {}
        for schema in self.root.iter(f"{{{XS}}}schema"):
            ns = schema.get("targetNamespace")
            self.qualified[ns] = schema.get("elementFormDefault") == "qualified"
            for child in schema:
                key = (ns, child.get("name"))
                if child.tag == f"{{{XS}}}element":
                    self.elements[key] = self.qname(child, child.get("type"))
                elif child.tag == f"{{{XS}}}complexType":
                    self.types[key] = child
                elif child.tag == f"{{{XS}}}group":
                    self.groups[key] = child
        self.messages = {m.get("name"): [self.qname(p, p.get("element")) for p in m.findall(f"{{{WSDL}}}part")]
                         for m in self.root.findall(f"{{{WSDL}}}message")}
        self.operations: dict[str, dict[str, Any]] = {}
        port_type = self.root.find(f"{{{WSDL}}}portType")
        for op in port_type.findall(f"{{{WSDL}}}operation"):
            self.operations[op.get("name")] = {
                "input": self.messages[self.qname(op, op.find(f"{{{WSDL}}}input").get("message"))[1]],
                "output": self.messages[self.qname(op, op.find(f"{{{WSDL}}}output").get("message"))[1]]}
        binding = self.root.find(f"{{{WSDL}}}binding")
        soap_binding = binding.find(f"{{{SOAP}}}binding")
        self.binding_style = soap_binding.get("style", "document")
        self.transport = soap_binding.get("transport")
        for op in binding.findall(f"{{{WSDL}}}operation"):
            soap_op = op.find(f"{{{SOAP}}}operation")
            info = self.operations.setdefault(op.get("name"), {})
            info["soapAction"] = soap_op.get("soapAction") if soap_op is not None else None
            info["style"] = (soap_op.get("style") if soap_op is not None else None) or self.binding_style
            info["use"] = sorted({b.get("use") for b in op.iter(f"{{{SOAP}}}body")})

    @staticmethod
    def qname(node: Any, text: str | None) -> tuple[str, str]:
        if not text:
            return ("", "")
        prefix, _, local = text.rpartition(":")
        return (node.nsmap.get(prefix or None, ""), local)

    def particles(self, ctype: Any, ns: str) -> tuple[list[Particle], list[tuple[str, tuple[str, str], str]]]:
        """The elements of complexType CTYPE in document order (choices and groups flattened) and its
        attributes."""
        out: list[Particle] = []
        attributes = []

        def walk(node: Any, in_choice: bool) -> None:
            for child in node:
                tag = etree.QName(child).localname if isinstance(child.tag, str) else ""
                if tag == "sequence":
                    walk(child, in_choice)
                elif tag == "choice":
                    members = [c for c in child if isinstance(c.tag, str)]
                    walk(child, in_choice or len(members) > 1)
                elif tag == "group":
                    group = self.groups[self.qname(child, child.get("ref"))]
                    walk(group, in_choice)
                elif tag == "element":
                    element_ns = ns if self.qualified.get(ns) else ""
                    out.append(Particle(child.get("name"), element_ns, self.qname(child, child.get("type")),
                                        "0" if in_choice else child.get("minOccurs", "1"),
                                        child.get("maxOccurs", "1")))
                elif tag == "attribute":
                    attributes.append((child.get("name"), self.qname(child, child.get("type")),
                                       child.get("use", "optional")))
                elif tag in ("complexContent", "simpleContent", "any"):
                    out.append(Particle(f"<{tag}>", "", ("", ""), "", ""))

        walk(ctype, False)
        return out, attributes


def _show(qname: tuple[str, str]) -> str:
    ns, name = qname
    return f"xs:{name}" if ns == XS else f"{{{ns}}}{name}"


def compare(ours: Wsdl, reference: Wsdl, operations: list[str] | None = None) -> list[str]:
    """Every difference, as one line each."""
    diffs: list[str] = []
    if ours.tns != reference.tns:
        diffs.append(f"targetNamespace: reference {reference.tns}, ours {ours.tns}")
    if ours.binding_style != reference.binding_style:
        diffs.append(f"binding style: reference {reference.binding_style}, ours {ours.binding_style}")
    if ours.transport != reference.transport and reference.transport:
        diffs.append(f"binding transport: reference {reference.transport}, ours {ours.transport}")
    seen: set[tuple[tuple[str, str], tuple[str, str]]] = set()
    for op in operations or sorted(ours.operations):
        if op not in reference.operations:
            diffs.append(f"{op}: not an operation of the reference WSDL")
            continue
        if op not in ours.operations:
            diffs.append(f"{op}: missing from our WSDL")
            continue
        mine, theirs = ours.operations[op], reference.operations[op]
        for key in ("soapAction", "style", "use"):
            if mine.get(key) != theirs.get(key):
                diffs.append(f"{op}: {key} reference {theirs.get(key)!r}, ours {mine.get(key)!r}")
        for direction in ("input", "output"):
            if [e for e in mine[direction]] != [e for e in theirs[direction]]:
                diffs.append(f"{op} {direction}: body element reference {list(map(_show, theirs[direction]))}, "
                             f"ours {list(map(_show, mine[direction]))}")
                continue
            for element in theirs[direction]:
                ref_type, our_type = reference.elements.get(element), ours.elements.get(element)
                if our_type is None:
                    diffs.append(f"{op} {direction}: element {_show(element)} is not declared in our schema")
                    continue
                _compare_types(ours, reference, our_type, ref_type, f"{op}/{element[1]}", seen, diffs)
    return diffs


def _compare_types(ours: Wsdl, reference: Wsdl, our_type: tuple[str, str], ref_type: tuple[str, str], path: str,
                   seen: set, diffs: list[str]) -> None:
    if our_type != ref_type:
        diffs.append(f"{path}: type reference {_show(ref_type)}, ours {_show(our_type)}")
        return
    if ref_type[0] == XS or (ref_type, our_type) in seen:
        return
    seen.add((ref_type, our_type))
    if ref_type not in reference.types:
        diffs.append(f"{path}: type {_show(ref_type)} is not defined in the reference")
        return
    if our_type not in ours.types:
        diffs.append(f"{path}: type {_show(our_type)} is not defined in our schema")
        return
    ref_particles, ref_attrs = reference.particles(reference.types[ref_type], ref_type[0])
    our_particles, our_attrs = ours.particles(ours.types[our_type], our_type[0])
    where = f"{path} ({ref_type[1]})"
    ref_names, our_names = [p.name for p in ref_particles], [p.name for p in our_particles]
    if ref_names != our_names:
        missing = [n for n in ref_names if n not in our_names]
        extra = [n for n in our_names if n not in ref_names]
        if missing:
            diffs.append(f"{where}: elements missing from ours: {', '.join(missing)}")
        if extra:
            diffs.append(f"{where}: elements only in ours: {', '.join(extra)}")
        if not missing and not extra:
            diffs.append(f"{where}: element order reference {ref_names}, ours {our_names}")
    ours_by_name = {p.name: p for p in our_particles}
    for ref in ref_particles:
        mine = ours_by_name.get(ref.name)
        if mine is None:
            continue
        here = f"{where}/{ref.name}"
        if mine.namespace != ref.namespace:
            diffs.append(f"{here}: namespace reference {ref.namespace!r}, ours {mine.namespace!r}")
        if (mine.min, mine.max) != (ref.min, ref.max):
            diffs.append(f"{here}: occurs reference {ref.min}..{ref.max}, ours {mine.min}..{mine.max}")
        _compare_types(ours, reference, mine.type, ref.type, f"{path}/{ref.name}", seen, diffs)
    if sorted(ref_attrs) != sorted(our_attrs):
        diffs.append(f"{where}: attributes reference {sorted((a[0], _show(a[1]), a[2]) for a in ref_attrs)}, "
                     f"ours {sorted((a[0], _show(a[1]), a[2]) for a in our_attrs)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ours", type=Path, default=OURS)
    parser.add_argument("--reference", type=Path, default=REFERENCE)
    parser.add_argument("--check", action="store_true", help="print only the differences and the verdict")
    args = parser.parse_args(argv)
    ours, reference = Wsdl(args.ours), Wsdl(args.reference)
    diffs = compare(ours, reference)
    for line in diffs:
        print(line)
    if not args.check:
        print(f"{len(ours.operations)} operations compared against {len(reference.operations)} in the reference")
    print(f"{len(diffs)} difference(s)")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
